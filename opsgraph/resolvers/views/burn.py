"""Burn: how much of an engagement's budget (hours and money) is used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from opsgraph.model import Engagement, ErpJob, Money


@dataclass(frozen=True)
class Burn:
    budget_hours: float | None
    hours_used: float
    hours_remaining: float | None
    percent_hours_used: float | None
    contract_value: Money | None
    billed_to_date: Money
    percent_billed: float | None
    status: str  # ON_TRACK, AT_RISK (>= 90% used), OVER_BUDGET
    hours_counted_from: date | None = None
    """The first day whose hours are in `hours_used`."""
    hours_complete: bool = True
    """False: time before `hours_counted_from` may be missing (too old to read, or the PSA failed)."""
    money_error: Exception | None = None
    """The ERP failed: the money figures (and the status, which needs them) are unknown; hours stand."""


def compute_burn(
    engagement: Engagement,
    job: ErpJob | None,
    hours_used: float,
    billed: Decimal,
    currency: str,
    money_error: Exception | None = None,
) -> Burn:
    budget = engagement.budget_hours
    pct_hours = round(100 * hours_used / budget, 1) if budget else None
    contract = job.contract_value if job else None
    pct_billed = round(float(100 * billed / contract.amount), 1) if contract and contract.amount else None
    worst = max(p for p in (pct_hours, pct_billed, 0.0) if p is not None)
    status = "OVER_BUDGET" if worst > 100 else "AT_RISK" if worst >= 90 else "ON_TRACK"
    return Burn(
        budget_hours=budget,
        hours_used=round(hours_used, 2),
        hours_remaining=round(budget - hours_used, 2) if budget is not None else None,
        percent_hours_used=pct_hours,
        contract_value=contract,
        billed_to_date=Money.of(billed, contract.currency if contract else currency),
        percent_billed=pct_billed,
        status=status,
        money_error=money_error,
    )
