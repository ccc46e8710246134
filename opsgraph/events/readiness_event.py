"""`invoiceReadinessChanged` as it travels on the bus: a plain, JSON-able record (Redis carries it
between replicas), turned back into the view's `Readiness` on the subscriber's side."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from opsgraph.model import Engagement, Money
from opsgraph.resolvers.views.readiness import Readiness, ReadinessBlocker


class Cause:
    """Why readiness changed: the kind of the change that touched the engagement."""

    TIME_APPROVED = "TIME_APPROVED"
    TIME_CHANGED = "TIME_CHANGED"
    INVOICE_PAID = "INVOICE_PAID"
    INVOICE_CHANGED = "INVOICE_CHANGED"
    PERIOD_CLOSED = "PERIOD_CLOSED"
    PERIOD_OPENED = "PERIOD_OPENED"
    ENGAGEMENT_CHANGED = "ENGAGEMENT_CHANGED"
    JOB_CHANGED = "JOB_CHANGED"
    CLIENT_CHANGED = "CLIENT_CHANGED"


@dataclass(frozen=True)
class ReadinessChanged:
    engagement: Engagement
    readiness: Readiness
    was_ready: bool | None
    previous_amount: Money | None
    cause: str
    at: datetime

    @property
    def code(self) -> str:
        return self.engagement.code

    @property
    def key(self) -> str:
        """A subscriber's mailbox keeps the latest of each engagement."""
        return f"readiness:{self.engagement.code}"

    def to_json(self) -> str:
        r = self.readiness
        return json.dumps(
            {
                "engagement": self.engagement.model_dump(mode="json"),
                "readiness": {
                    "engagement_code": r.engagement_code,
                    "ready": r.ready,
                    "approved_unbilled_hours": r.approved_unbilled_hours,
                    "amount": r.amount.model_dump(mode="json"),
                    "blockers": [[b.code, b.message, b.system] for b in r.blockers],
                    "as_of": r.as_of.isoformat(),
                    "period_start": r.period_start.isoformat(),
                    "period_end": r.period_end.isoformat(),
                },
                "was_ready": self.was_ready,
                "previous_amount": self.previous_amount.model_dump(mode="json")
                if self.previous_amount
                else None,
                "cause": self.cause,
                "at": self.at.isoformat(),
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ReadinessChanged:
        raw: dict[str, Any] = json.loads(text)
        r = raw["readiness"]
        readiness = Readiness(
            engagement_code=r["engagement_code"],
            ready=r["ready"],
            approved_unbilled_hours=r["approved_unbilled_hours"],
            amount=Money(amount=Decimal(r["amount"]["amount"]), currency=r["amount"]["currency"]),
            blockers=tuple(ReadinessBlocker(c, m, s) for c, m, s in r["blockers"]),
            as_of=datetime.fromisoformat(r["as_of"]),
            period_start=date.fromisoformat(r["period_start"]),
            period_end=date.fromisoformat(r["period_end"]),
        )
        previous = raw["previous_amount"]
        return cls(
            engagement=Engagement.model_validate(raw["engagement"]),
            readiness=readiness,
            was_ready=raw["was_ready"],
            previous_amount=Money(amount=Decimal(previous["amount"]), currency=previous["currency"])
            if previous
            else None,
            cause=raw["cause"],
            at=datetime.fromisoformat(raw["at"]),
        )
