"""Invoice readiness: approved, unbilled time times rates, and everything that would stop the invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from opsgraph.model import (
    AccountingPeriod,
    BillingModel,
    Client,
    Engagement,
    ErpCustomer,
    ErpJob,
    Money,
    TimeEntry,
    TimeEntryStatus,
)
from opsgraph.resolvers.views.periods import previous_month

LOOKBACK_DAYS = 92
"""Approved time older than the billing period still counts if it was never billed, up to this far back."""


@dataclass(frozen=True)
class ReadinessBlocker:
    code: str
    message: str
    system: str | None = None
    """The configured system that blocks (None: no system does, or none of its role is configured)."""


@dataclass(frozen=True)
class Readiness:
    engagement_code: str
    ready: bool
    approved_unbilled_hours: float
    amount: Money
    blockers: tuple[ReadinessBlocker, ...]
    as_of: datetime
    period_start: date
    period_end: date
    billed_entries: tuple[str, ...] = ()
    """Keys of the approved, unbilled billable entries up to the period's end: what invoicing bills."""


Period = tuple[date, date]
"""A billing period (first day, last day); readiness defaults to the last calendar month."""


def readiness_window(today: date, period: Period | None = None) -> tuple[date, date]:
    """The date range of unbilled time that readiness looks at."""
    start, end = period or previous_month(today)
    return start - timedelta(days=LOOKBACK_DAYS), end


@dataclass(frozen=True)
class ReadinessInputs:
    engagement: Engagement
    job: ErpJob | None
    client: Client | None
    customer: ErpCustomer | None
    unbilled_entries: list[TimeEntry]  # is_billed = false, within readiness_window
    periods: list[AccountingPeriod]
    billed_to_date: Decimal
    erp_system: str | None = None
    """Where a missing job or period was looked for (the first ERP system)."""
    crm_system: str | None = None
    """Where a missing client was looked for (the first CRM system)."""


def compute_readiness(
    i: ReadinessInputs, today: date, now: datetime, period: Period | None = None
) -> Readiness:
    period_start, period_end = period or previous_month(today)
    currency = (i.customer.currency if i.customer else None) or (i.client.currency if i.client else "USD")
    in_period = [e for e in i.unbilled_entries if e.date <= period_end and e.billable]
    approved = [e for e in in_period if e.status is TimeEntryStatus.APPROVED]
    unapproved = [e for e in in_period if e.status is TimeEntryStatus.UNAPPROVED]
    hours = sum(e.hours for e in approved)
    blockers: list[ReadinessBlocker] = []
    psa = i.engagement.system
    erp = i.job.system if i.job else i.erp_system

    model = i.job.billing_model if i.job and i.job.billing_model else i.engagement.billing_model
    contract = i.job.contract_value.amount if i.job and i.job.contract_value else None
    if model is BillingModel.FIXED_FEE:
        amount = _fixed_fee_due(i.engagement, contract, i.billed_to_date)
    else:
        unrated = [e for e in approved if e.bill_rate is None]
        if unrated:
            blockers.append(
                ReadinessBlocker("MISSING_RATE", f"{len(unrated)} approved entries have no bill rate", psa)
            )
        foreign = [e for e in approved if e.currency != currency]
        if foreign:
            blockers.append(
                ReadinessBlocker(
                    "CURRENCY_MISMATCH",
                    f"{len(foreign)} approved entries are in {foreign[0].currency}; the client is invoiced "
                    f"in {currency}",
                    psa,
                )
            )
        amount = Money.total(
            (
                Money(amount=e.bill_rate * Decimal(str(e.hours)), currency=e.currency)
                for e in approved
                if e.bill_rate is not None and e.currency == currency
            ),
            currency,
        ).amount
    if unapproved:
        blockers.append(
            ReadinessBlocker(
                "UNAPPROVED_TIME",
                f"{len(unapproved)} entries up to {period_end} are not approved",
                psa,
            )
        )
    if i.job is None:
        blockers.append(ReadinessBlocker("NOT_IN_ERP", f"Engagement {i.engagement.code} has no ERP job", erp))
    elif i.job.is_inactive:
        blockers.append(
            ReadinessBlocker("INACTIVE_IN_ERP", f"Job {i.engagement.code} is inactive in the ERP", erp)
        )
    if not ((i.client and i.client.legal_entity) or (i.customer and i.customer.legal_entity)):
        blockers.append(
            ReadinessBlocker(
                "MISSING_LEGAL_ENTITY",
                "The client has no legal entity to invoice",
                i.client.system if i.client else i.crm_system,
            )
        )
    current = next((p for p in i.periods if p.start <= today <= p.end), None)
    if current is None or current.closed:
        blockers.append(
            ReadinessBlocker(
                "PERIOD_CLOSED",
                f"The accounting period for {today} is closed or missing",
                current.system if current else i.erp_system,
            )
        )
    if (over := cap_exceeded(model, contract, i.billed_to_date, amount, erp)) is not None:
        blockers.append(over)
    if amount <= 0:
        blockers.append(ReadinessBlocker("NOTHING_TO_INVOICE", "No approved, unbilled value in the period"))
    return Readiness(
        engagement_code=i.engagement.code,
        ready=not blockers,
        approved_unbilled_hours=hours,
        amount=Money.of(amount, currency),
        blockers=tuple(blockers),
        as_of=now,
        period_start=period_start,
        period_end=period_end,
        billed_entries=tuple(e.key for e in approved),
    )


def cap_exceeded(
    model: BillingModel, contract: Decimal | None, billed: Decimal, amount: Decimal, erp: str | None
) -> ReadinessBlocker | None:
    """CAP_EXCEEDED when invoicing `amount` would take a capped contract past its value."""
    if model is not BillingModel.CAPPED or contract is None or billed + amount <= contract:
        return None
    message = f"Billed {billed} + {amount.quantize(Decimal('0.01'))} exceeds the cap {contract}"
    return ReadinessBlocker("CAP_EXCEEDED", message, erp)


def _fixed_fee_due(engagement: Engagement, contract: Decimal | None, billed: Decimal) -> Decimal:
    """A fixed fee is billed in equal monthly instalments until the contract value is reached."""
    if contract is None or engagement.start_date is None or engagement.end_date is None:
        return Decimal("0")
    months = max(1, round((engagement.end_date - engagement.start_date).days / 30))
    return max(Decimal("0"), min(contract / months, contract - billed))
