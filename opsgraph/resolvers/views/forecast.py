"""Forecast: ERP actuals, approved-unbilled value, backlog, weighted pipeline, and capacity vs demand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from opsgraph.model import Engagement, ErpJob, Invoice, Money, Opportunity, PsaUser, TimeEntry, TimeOff
from opsgraph.resolvers.views.periods import buckets, overlap, workdays
from opsgraph.resolvers.views.utilization import capacity_hours


@dataclass(frozen=True)
class ForecastPeriod:
    start: date
    end: date
    actual_revenue: Money
    approved_unbilled: Money
    backlog: Money
    weighted_pipeline: Money
    projected_revenue: Money
    capacity_hours: float
    demand_hours: float


@dataclass(frozen=True)
class ForecastInputs:
    invoices: list[Invoice]
    unbilled_approved: list[TimeEntry]
    projects: list[Engagement]
    jobs: dict[str, ErpJob | None]  # by engagement code
    billed_by_job: dict[str, Decimal]
    open_opportunities: list[Opportunity]
    users: list[PsaUser]
    time_off_by_email: dict[str, list[TimeOff]]


def compute_forecast(
    i: ForecastInputs, start: date, end: date, months_per_bucket: int, today: date, currency: str = "USD"
) -> list[ForecastPeriod]:
    periods = list(buckets(start, end, months_per_bucket))
    zero = Decimal("0")
    unbilled = sum((e.bill_rate * Decimal(str(e.hours)) for e in i.unbilled_approved if e.bill_rate), zero)
    # Backlog: contract value not yet billed, spread evenly over each engagement's remaining workdays.
    backlog_daily: list[tuple[date, date, Decimal, Decimal]] = []  # (from, to, value per workday, rate)
    for p in i.projects:
        job = i.jobs.get(p.code)
        if not p.is_active or job is None or job.contract_value is None or p.end_date is None:
            continue
        remaining = job.contract_value.amount - i.billed_by_job.get(job.id, zero)
        first = max(today, p.start_date or today)
        days = workdays(first, p.end_date)
        if remaining > 0 and days:
            backlog_daily.append((first, p.end_date, remaining / days, p.hourly_rate or Decimal("200")))
    out: list[ForecastPeriod] = []
    for s, e in periods:
        actual = sum((inv.total.amount for inv in i.invoices if s <= inv.issue_date <= e), zero)
        approved_unbilled = unbilled if s <= today <= e else zero
        backlog, demand = zero, 0.0
        for b_from, b_to, per_day, rate in backlog_daily:
            span = overlap(b_from, b_to, s, e)
            if span:
                value = per_day * workdays(*span)
                backlog += value
                demand += float(value / rate)
        pipeline = sum(
            (
                (o.amount.amount if o.amount else zero) * Decimal(o.probability) / 100
                for o in i.open_opportunities
                if o.close_date and s <= o.close_date <= e
            ),
            zero,
        )
        future = e >= today
        projected = (approved_unbilled + backlog + pipeline if future else zero) + actual
        capacity = (
            sum(
                capacity_hours(u, i.time_off_by_email.get(u.email.lower(), []), max(s, today), e)
                for u in i.users
                if u.is_active
            )
            if e >= today
            else 0.0
        )
        out.append(
            ForecastPeriod(
                start=s,
                end=e,
                actual_revenue=Money.of(actual, currency),
                approved_unbilled=Money.of(approved_unbilled, currency),
                backlog=Money.of(backlog, currency),
                weighted_pipeline=Money.of(pipeline, currency),
                projected_revenue=Money.of(projected, currency),
                capacity_hours=round(capacity, 1),
                demand_hours=round(demand, 1),
            )
        )
    return out
