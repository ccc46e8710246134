"""Business metrics: the figures the firm's leaders ask for, computed in the background, never on a scrape.

Every `telemetry.business_metrics_interval_s` the job asks the graph itself (one GraphQL operation,
`BusinessMetrics`, through the schema and the read cache like any request), so the figures are the
graph's own answers; `/metrics` serves the last snapshot:

- `opsgraph_approved_unbilled_hours`: approved, unbilled hours over every active engagement;
- `opsgraph_invoice_ready_amount{currency}`: what could be invoiced now (engagements ready to invoice);
- `opsgraph_engagements_blocked{blocker}`: active engagements held back, per blocker code;
- `opsgraph_reconciliation_mismatches`: engagements whose PSA and ERP disagree this month so far;
- `opsgraph_business_metrics_last_success_timestamp_seconds`, `..._failures_total`: the job itself.

Workflow backlog and source sync lag come with workflows and change polling (issue 13, later slices).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from strawberry.schema.base import BaseSchema

from opsgraph.clock import Clock
from opsgraph.context import correlation_id, new_correlation_id

__all__ = ["BUSINESS_QUERY", "BusinessMetricsJob", "BusinessSnapshot", "business_metric_lines"]

log = logging.getLogger("opsgraph.business_metrics")

BUSINESS_QUERY = """query BusinessMetrics($from: Date!, $to: Date!) {
  invoiceReadiness { ready approvedUnbilledHours amount { amount currency } blockers { code } }
  reconciliation(from: $from, to: $to) { mismatches { __typename } }
}"""


@dataclass
class BusinessSnapshot:
    approved_unbilled_hours: float = 0.0
    invoice_ready_amount: dict[str, Decimal] = field(default_factory=dict)
    engagements_blocked: dict[str, int] = field(default_factory=dict)
    reconciliation_mismatches: int = 0
    computed_at: float = 0.0

    @classmethod
    def from_data(cls, data: dict[str, Any], computed_at: float) -> BusinessSnapshot:
        rows = [row for row in data.get("invoiceReadiness") or [] if row is not None]
        ready: dict[str, Decimal] = {}
        blocked: Counter[str] = Counter()
        for row in rows:
            if row["ready"]:
                currency = row["amount"]["currency"]
                ready[currency] = ready.get(currency, Decimal(0)) + Decimal(str(row["amount"]["amount"]))
            blocked.update({blocker["code"] for blocker in row["blockers"]})
        reconciliation = data.get("reconciliation") or {}
        return cls(
            approved_unbilled_hours=round(sum(row["approvedUnbilledHours"] for row in rows), 2),
            invoice_ready_amount=ready,
            engagements_blocked=dict(blocked),
            reconciliation_mismatches=len(reconciliation.get("mismatches") or []),
            computed_at=computed_at,
        )


class BusinessMetricsJob:
    """Computes a `BusinessSnapshot` now (`refresh`) or on a schedule (`run`)."""

    def __init__(self, schema: BaseSchema, context: Callable[[], Any], clock: Clock) -> None:
        self.schema, self.context, self.clock = schema, context, clock
        self.snapshot: BusinessSnapshot | None = None
        self.failures = 0

    async def refresh(self) -> BusinessSnapshot | None:
        today = self.clock.today()
        token = correlation_id.set(new_correlation_id())
        try:
            result = await self.schema.execute(
                BUSINESS_QUERY,
                variable_values={"from": today.replace(day=1).isoformat(), "to": today.isoformat()},
                context_value=self.context(),
                operation_name="BusinessMetrics",
            )
        finally:
            correlation_id.reset(token)
        if result.errors or result.data is None:
            # partial figures would read as a drop: keep the last good snapshot, count the failure
            self.failures += 1
            log.warning(
                "business metrics not refreshed: %s", "; ".join(e.message for e in result.errors or [])
            )
            return None
        self.snapshot = BusinessSnapshot.from_data(result.data, self.clock.time())
        return self.snapshot

    async def run(self, interval_s: float) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                self.failures += 1
                log.exception("business metrics failed")
            await self.clock.sleep(interval_s)


def business_metric_lines(job: BusinessMetricsJob | None) -> list[str]:
    """Prometheus text for the last snapshot (nothing for a figure before the first one)."""
    if job is None:
        return []
    lines = [
        "# HELP opsgraph_business_metrics_failures_total Business metric refreshes that failed",
        "# TYPE opsgraph_business_metrics_failures_total counter",
        f"opsgraph_business_metrics_failures_total {job.failures}",
    ]
    snap = job.snapshot
    if snap is None:
        return lines
    gauges: list[tuple[str, str, list[tuple[str, object]]]] = [
        (
            "approved_unbilled_hours",
            "Approved, unbilled hours on active engagements",
            [("", snap.approved_unbilled_hours)],
        ),
        (
            "invoice_ready_amount",
            "Amount ready to invoice, by currency",
            [(f'{{currency="{c}"}}', a) for c, a in sorted(snap.invoice_ready_amount.items())],
        ),
        (
            "engagements_blocked",
            "Active engagements not ready to invoice, by blocker",
            [(f'{{blocker="{b}"}}', n) for b, n in sorted(snap.engagements_blocked.items())],
        ),
        (
            "reconciliation_mismatches",
            "Engagements whose PSA and ERP disagree this month",
            [("", snap.reconciliation_mismatches)],
        ),
        (
            "business_metrics_last_success_timestamp_seconds",
            "When the figures were computed",
            [("", snap.computed_at)],
        ),
    ]
    for name, help_text, samples in gauges:
        lines += [f"# HELP opsgraph_{name} {help_text}", f"# TYPE opsgraph_{name} gauge"]
        lines += [f"opsgraph_{name}{labels} {value}" for labels, value in samples]
    return lines
