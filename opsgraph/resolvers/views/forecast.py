"""Forecast: ERP actuals, approved-unbilled value, backlog, weighted pipeline, and capacity vs demand.

Money is aggregated across clients in several currencies, so every figure is converted to the
reporting currency (`opsgraph.money`): actual revenue at the average rate of each invoice's period,
the forward-looking figures (approved unbilled, backlog, pipeline) at the current rate of today's
period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from opsgraph.model import (
    Engagement,
    ErpJob,
    InvoiceTotal,
    Money,
    Opportunity,
    PsaUser,
    TimeOff,
    UnbilledTime,
)
from opsgraph.money import ConvertedMoney, Converter, ExchangeRates, RateType
from opsgraph.resolvers.views.periods import buckets, overlap, workdays
from opsgraph.resolvers.views.utilization import capacity_hours


@dataclass(frozen=True)
class ForecastPeriod:
    start: date
    end: date
    actual_revenue: ConvertedMoney
    approved_unbilled: ConvertedMoney
    backlog: ConvertedMoney
    weighted_pipeline: ConvertedMoney
    projected_revenue: ConvertedMoney
    capacity_hours: float
    demand_hours: float


@dataclass(frozen=True)
class ForecastInputs:
    revenue: list[InvoiceTotal]
    """What was invoiced per issue date in the forecast's range (the ERPs' sums, not their invoices)."""
    unbilled_approved: list[UnbilledTime]
    """Approved, billable time not yet invoiced, per engagement (the PSAs' uninvoiced reports)."""
    engagements: list[Engagement]
    jobs: dict[str, ErpJob | None]  # by engagement code
    billed_by_job: dict[str, Money]  # by job key, in the job's currency
    open_opportunities: list[Opportunity]
    users: list[PsaUser]
    time_off_by_email: dict[str, list[TimeOff]]
    rates: ExchangeRates


@dataclass(frozen=True)
class _Backlog:
    start: date
    end: date
    per_workday: Money
    hourly_rate: Decimal


def _backlog(i: ForecastInputs, today: date) -> list[_Backlog]:
    """Contract value not yet billed, spread evenly over each engagement's remaining workdays."""
    out: list[_Backlog] = []
    for p in i.engagements:
        job = i.jobs.get(p.code)
        if not p.is_active or job is None or job.contract_value is None or p.end_date is None:
            continue
        contract = job.contract_value
        remaining = contract - i.billed_by_job.get(job.key, Money.of(0, contract.currency))
        first = max(today, p.start_date or today)
        days = workdays(first, p.end_date)
        if remaining.amount > 0 and days:
            per_day = Money(amount=remaining.amount / days, currency=contract.currency)
            out.append(_Backlog(first, p.end_date, per_day, p.hourly_rate or Decimal("200")))
    return out


def _people(users: list[PsaUser]) -> list[PsaUser]:
    """Each active person once (by email), however many PSA systems know them: the first system's."""
    people: dict[str, PsaUser] = {}
    for user in users:
        if user.is_active:
            people.setdefault(user.email.lower(), user)
    return list(people.values())


def _unbilled(i: ForecastInputs, today: date) -> ConvertedMoney:
    """Summed per currency first: one day and rate type for all of it."""
    by_currency: dict[str, Decimal] = {}
    for u in i.unbilled_approved:
        by_currency[u.currency] = by_currency.get(u.currency, Decimal(0)) + u.amount
    c = Converter(i.rates)
    for currency, amount in by_currency.items():
        c.add(amount, currency, today, RateType.CURRENT)
    return c.result()


def compute_forecast(
    i: ForecastInputs, start: date, end: date, months_per_bucket: int, today: date
) -> list[ForecastPeriod]:
    nothing = Converter(i.rates).result()
    unbilled = _unbilled(i, today)
    backlog_daily = _backlog(i, today)
    people = _people(i.users)
    out: list[ForecastPeriod] = []
    for s, e in buckets(start, end, months_per_bucket):
        actual = Converter(i.rates)
        for r in i.revenue:
            if r.issue_date is not None and s <= r.issue_date <= e:
                actual.add(r.total.amount, r.total.currency, r.issue_date, RateType.AVERAGE)
        backlog, demand = Converter(i.rates), 0.0
        for b in backlog_daily:
            span = overlap(b.start, b.end, s, e)
            if span:
                value = b.per_workday.amount * workdays(*span)
                backlog.add(value, b.per_workday.currency, today, RateType.CURRENT)
                demand += float(value / b.hourly_rate)
        pipeline = Converter(i.rates)
        for o in i.open_opportunities:
            if o.amount and o.close_date and s <= o.close_date <= e:
                weighted = o.amount.amount * Decimal(o.probability) / 100
                pipeline.add(weighted, o.amount.currency, today, RateType.CURRENT)
        future = e >= today
        approved_unbilled = unbilled if s <= today <= e else nothing
        actual_revenue, backlog_value, pipeline_value = actual.result(), backlog.result(), pipeline.result()
        projected = actual_revenue + (
            approved_unbilled + backlog_value + pipeline_value if future else nothing
        )
        capacity = (
            sum(
                capacity_hours(u, i.time_off_by_email.get(u.email.lower(), []), max(s, today), e)
                for u in people
            )
            if future
            else 0.0
        )
        out.append(
            ForecastPeriod(
                start=s,
                end=e,
                actual_revenue=actual_revenue,
                approved_unbilled=approved_unbilled,
                backlog=backlog_value,
                weighted_pipeline=pipeline_value,
                projected_revenue=projected,
                capacity_hours=round(capacity, 1),
                demand_hours=round(demand, 1),
            )
        )
    return out
