"""What each port must answer, derived from the seeded world: canonical records as the world holds them.

A vendor's simulator projects the world under the vendor's own ids (`ids.py`); these functions take
those ids and build the canonical record a conforming client returns, field by field. The values come
from the world's rows (names, money in the client's currency, dates, status enums, join keys), never
from the simulator's wire format or the client's mapping.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from opsgraph.model import (
    AccountingPeriod,
    Assignment,
    BillingModel,
    Client,
    Engagement,
    EngagementTimeTotals,
    ErpCustomer,
    ErpJob,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Money,
    Opportunity,
    PsaUser,
    Resource,
    ResourceStatus,
    TimeEntry,
    TimeEntryStatus,
    TimeOff,
    TimePosting,
)
from simulators import world as w
from simulators.harvest.sim_state import _project_row

from .ids import CrmIds, PsaIds

CENTS = Decimal("0.01")


def money(amount: Decimal | float, currency: str) -> Money:
    return Money(amount=Decimal(str(amount)).quantize(CENTS, ROUND_HALF_UP), currency=currency)


# -- CRM ----------------------------------------------------------------------------------------------


def client(system: str, ids: CrmIds, c: w.Client) -> Client:
    return Client(
        system=system,
        id=ids.client(c),
        name=c.name,
        industry=c.industry,
        region=c.region,
        billing_country=c.country,
        legal_entity=c.legal_entity,
        currency=c.currency,
        modified_at=c.modified_at,
    )


def opportunity(system: str, ids: CrmIds, world: w.World, o: w.Opportunity) -> Opportunity:
    account = next(c for c in world.clients if c.sf_id == o.account_id)
    return Opportunity(
        system=system,
        id=ids.opportunity(o),
        name=o.name,
        client_id=ids.client(account),
        stage=o.stage,
        amount=money(o.amount, account.currency),
        close_date=o.close_date,
        probability=float(o.probability),
        is_closed=o.is_closed,
        is_won=o.is_won,
        billing_model=BillingModel(o.billing_model),
        practice=o.practice,
        engagement_code=o.engagement_code,
        modified_at=o.modified_at,
    )


# -- PSA (ids: the vendor's, `ids.PSA`) -------------------------------------------------------------------


def engagement(system: str, ids: PsaIds, e: w.Engagement) -> Engagement:
    return Engagement(
        system=system,
        id=ids.engagement(e),
        code=e.code,
        name=e.name,
        psa_client_id=ids.client(e.client),
        is_active=e.is_active,
        billing_model=BillingModel(e.billing_model),
        hourly_rate=e.hourly_rate,
        budget_hours=e.budget_hours,
        start_date=e.start,
        end_date=e.end,
        notes=_project_row(e)["notes"],  # the PSA's free text: the simulator's projection writes it
    )


def psa_user(system: str, ids: PsaIds, p: w.Person) -> PsaUser:
    return PsaUser(
        system=system,
        id=ids.user(p),
        name=p.name,
        email=p.email,
        is_active=p.status == "Active",
        weekly_capacity_hours=p.weekly_capacity_hours,
        default_hourly_rate=p.bill_rate,
        cost_rate=p.cost_rate,
    )


def assignment(system: str, ids: PsaIds, a: w.Assignment) -> Assignment:
    return Assignment(
        system=system,
        id=ids.assignment(a),
        engagement_code=a.engagement.code,
        engagement_id=ids.engagement(a.engagement),
        user_id=ids.user(a.person),
        hourly_rate=a.hourly_rate,
        budget_hours=a.budget_hours,
        is_active=a.is_active,
    )


def time_entry_status(t: w.TimeEntry) -> TimeEntryStatus:
    if t.harvest_invoice_id is not None:
        return TimeEntryStatus.BILLED
    return TimeEntryStatus.APPROVED if t.is_closed else TimeEntryStatus.UNAPPROVED


def time_entry(system: str, ids: PsaIds, t: w.TimeEntry) -> TimeEntry:
    return TimeEntry(
        system=system,
        id=ids.time_entry(t),
        date=t.spent_date,
        hours=t.hours,
        billable=t.billable,
        status=time_entry_status(t),
        notes=t.notes,
        user_id=ids.user(t.person),
        user_name=t.person.name,
        engagement_id=ids.engagement(t.engagement),
        engagement_code=t.engagement.code,
        task=w.TASKS[t.task_id][0],
        currency=t.engagement.client.currency,
        bill_rate=t.billable_rate,
        cost_rate=t.cost_rate,
        invoice_id=None if t.harvest_invoice_id is None else ids.invoice(t.harvest_invoice_id),
        updated_at=t.updated_at,
    )


def time_totals(
    ids: PsaIds, entries: Iterable[w.TimeEntry], start: date, end: date
) -> dict[str, EngagementTimeTotals]:
    """The time report over `start..end`: hours, billable hours and amount per engagement with time."""
    hours: dict[str, list[w.TimeEntry]] = {}
    for t in entries:
        if start <= t.spent_date <= end:
            hours.setdefault(ids.engagement(t.engagement), []).append(t)
    out: dict[str, EngagementTimeTotals] = {}
    for key, mine in hours.items():
        billable = [t for t in mine if t.billable]
        amount = sum(
            (Decimal(str(t.hours)) * t.billable_rate for t in billable if t.billable_rate is not None),
            Decimal(0),
        )
        out[key] = EngagementTimeTotals(
            engagement_id=key,
            total_hours=sum(t.hours for t in mine),
            billable_hours=sum(t.hours for t in billable),
            billable_amount=amount.quantize(CENTS, ROUND_HALF_UP),
            currency=mine[0].engagement.client.currency,
        )
    return out


# -- HR -------------------------------------------------------------------------------------------------


def resource(system: str, p: w.Person) -> Resource:
    assert p.bamboo_id is not None
    manager = p.supervisor.bamboo_id if p.supervisor is not None else None
    return Resource(
        system=system,
        id=p.bamboo_id,
        name=p.name,
        first_name=p.first,
        last_name=p.last,
        email=p.email,
        title=p.title,
        department=p.department,
        division=p.division,
        location=p.location,
        status=ResourceStatus.ACTIVE if p.status == "Active" else ResourceStatus.INACTIVE,
        manager_id=manager,
        hire_date=p.hire_date,
        cost_rate=money(p.cost_rate, "USD"),
    )


def time_off(system: str, t: w.TimeOff) -> TimeOff:
    assert t.person.bamboo_id is not None
    return TimeOff(
        system=system,
        id=str(t.id),
        resource_id=t.person.bamboo_id,
        start=t.start,
        end=t.end,
        amount_days=t.days,
        kind=t.kind,
        status=t.status,
    )


# -- ERP ------------------------------------------------------------------------------------------------


def customer(system: str, world: w.World, c: w.Client) -> ErpCustomer:
    due = sum((i.amount_due for i in world.invoices if i.client is c), Decimal(0))
    return ErpCustomer(
        system=system,
        id=c.ns_customer_id,
        name=c.name,
        client_id=w.crm_client_id(world, c),
        legal_entity=c.legal_entity,
        currency=c.currency,
        balance=money(due, c.currency),
    )


def job(system: str, world: w.World, e: w.Engagement) -> ErpJob:
    assert e.ns_job_id is not None
    return ErpJob(
        system=system,
        id=e.ns_job_id,
        code=e.code,
        name=e.name,
        customer_id=e.client.ns_customer_id,
        opportunity_id=w.crm_opportunity_id(world, e),
        is_inactive=e.erp_inactive,
        contract_value=money(e.contract_value, e.client.currency),
        billing_model=BillingModel(e.billing_model),
        practice=e.practice,
        start_date=e.start,
        end_date=e.end,
    )


def invoice_totals(
    invoices: Iterable[w.Invoice], itemised_from: date | None
) -> dict[tuple[str, str | None, str, date | None], tuple[Money, int]]:
    """The world's invoices summed per customer, job, currency, and issue date from `itemised_from`
    on: (total, count) by (customer id, job id, currency, issue date or None)."""
    sums: dict[tuple[str, str | None, str, date | None], tuple[Decimal, int]] = {}
    for i in invoices:
        itemised = itemised_from is not None and i.issue_date >= itemised_from
        job = str(i.engagement.ns_job_id) if i.engagement.ns_job_id is not None else None
        key = (str(i.client.ns_customer_id), job, i.client.currency, i.issue_date if itemised else None)
        amount, count = sums.get(key, (Decimal(0), 0))
        sums[key] = (amount + money(i.total, i.client.currency).amount, count + 1)
    return {k: (money(a, k[2]), n) for k, (a, n) in sums.items()}


def invoice(system: str, i: w.Invoice, *, with_lines: bool = True) -> Invoice:
    currency = i.client.currency
    lines = [
        InvoiceLine(
            description=line.description,
            quantity=line.quantity,
            rate=money(line.rate, currency),
            amount=money(line.amount, currency),
        )
        for line in i.lines
    ]
    return Invoice(
        system=system,
        id=i.ns_id,
        number=i.number,
        customer_id=i.client.ns_customer_id,
        job_id=i.engagement.ns_job_id,
        status=InvoiceStatus.OPEN if i.amount_due > 0 else InvoiceStatus.PAID,
        issue_date=i.issue_date,
        due_date=i.due_date,
        total=money(i.total, currency),
        amount_due=money(i.amount_due, currency),
        lines=lines if with_lines else [],
        psa_invoice_id=str(i.harvest_invoice_id),
    )


def time_posting(system: str, t: w.TimeEntry) -> TimePosting:
    assert t.ns_timebill_id is not None
    return TimePosting(
        system=system,
        id=t.ns_timebill_id,
        time_entry_id=str(t.id),
        job_id=t.engagement.ns_job_id,
        date=t.spent_date,
        hours=t.hours,
    )


def period(system: str, p: w.AccountingPeriod) -> AccountingPeriod:
    return AccountingPeriod(system=system, id=p.id, name=p.name, start=p.start, end=p.end, closed=p.closed)
