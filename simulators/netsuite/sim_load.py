"""The simulator's SQLite projection of the world: NetSuite's view of the firm.

Reads the world only, never mutates it, so `/_sim/reset` can rebuild the same state from it.
Only engagements with an ERP job id become jobs (the drift engagement has none), only time entries
with a time bill id become time bills, and the drift job inactive in the ERP has `isinactive = 'T'`.
Customer and job external ids are ids in the world's CRM (`world.crm`): the Salesforce account and
opportunity ids, or the HubSpot company and deal ids (`simulators.world.with_crm`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from simulators.netsuite.sim_rates import exchange_rate_rows
from simulators.netsuite.sim_state import (
    BILLING_LABELS,
    CURRENCIES,
    CURRENCY_IDS,
    SCHEMA,
    line_row,
    stamp,
    tf,
)
from simulators.simkit.store import Row, Store
from simulators.world import World, crm_client_id, crm_opportunity_id, psa_invoice_id, psa_time_entry_id


def _at(d: date, hour: int = 18) -> str:
    return stamp(datetime.combine(d, time(hour, 0), tzinfo=UTC))


def load(store: Store, world: World) -> None:
    """Project the world into NetSuite's tables. Reads the world only; never mutates it."""
    origin = _at(world.as_of - timedelta(days=800), 9)
    store.insert_many(
        "currency",
        (
            {
                "id": cid,
                "name": name,
                "symbol": sym,
                "isbasecurrency": tf(cid == 1),
                "lastmodifieddate": origin,
            }
            for cid, name, sym in CURRENCIES
        ),
    )
    due: dict[str, Decimal] = {}
    for inv in world.invoices:
        due[inv.client.ns_customer_id] = due.get(inv.client.ns_customer_id, Decimal(0)) + inv.amount_due
    store.insert_many(
        "customer",
        (
            {
                "id": int(c.ns_customer_id),
                "entityid": f"CUST{c.ns_customer_id}",
                "companyname": c.name,
                "externalid": crm_client_id(world, c),
                "custentity_legal_entity": c.legal_entity,
                "currency": CURRENCY_IDS[c.currency],
                "balance": float(due.get(c.ns_customer_id, 0)),
                "isinactive": "F",
                "datecreated": origin,
                "lastmodifieddate": stamp(c.modified_at),
            }
            for c in world.clients
        ),
    )
    store.insert_many(
        "job",
        (
            {
                "id": int(e.ns_job_id),
                "entityid": e.code,
                "companyname": e.name,
                "parent": int(e.client.ns_customer_id),
                "externalid": crm_opportunity_id(world, e),
                "isinactive": tf(e.erp_inactive),
                "custentity_contract_value": float(e.contract_value),
                "custentity_billing_model": BILLING_LABELS[e.billing_model],
                "custentity_practice": e.practice,
                "startdate": e.start.isoformat(),
                "projectedenddate": e.end.isoformat(),
                "currency": CURRENCY_IDS[e.client.currency],
                "datecreated": _at(e.start, 9),
                "lastmodifieddate": stamp(e.modified_at),
            }
            for e in world.engagements
            if e.ns_job_id is not None
        ),
    )
    store.insert_many(
        "employee",
        (
            {
                "id": int(p.ns_employee_id),
                "entityid": p.name,
                "firstname": p.first,
                "lastname": p.last,
                "email": p.email,
                "title": p.title,
                "externalid": p.bamboo_id,
                "isinactive": tf(p.status != "Active"),
                "datecreated": _at(p.hire_date, 9),
                "lastmodifieddate": stamp(p.modified_at),
            }
            for p in world.people
        ),
    )
    periods = sorted(world.periods, key=lambda p: p.start)
    store.insert_many(
        "accountingperiod",
        (
            {
                "id": int(p.id),
                "periodname": p.name,
                "startdate": p.start.isoformat(),
                "enddate": p.end.isoformat(),
                "closed": tf(p.closed),
                "isquarter": "F",
                "isyear": "F",
                "isposting": "T",
                "lastmodifieddate": _at(min(p.end, world.as_of)),
            }
            for p in periods
        ),
    )
    store.insert_many("consolidatedexchangerate", exchange_rate_rows(world))
    _load_invoices(store, world)
    store.insert_many(
        "timebill",
        (
            {
                "id": int(e.ns_timebill_id),
                "externalid": psa_time_entry_id(world, e),
                "employee": int(e.person.ns_employee_id),
                "customer": int(e.engagement.ns_job_id) if e.engagement.ns_job_id else None,
                "trandate": e.spent_date.isoformat(),
                "hours": e.hours,
                "isbillable": tf(e.billable),
                "posted": "T",
                "memo": e.notes,
                "datecreated": stamp(e.updated_at),
                "lastmodifieddate": stamp(e.updated_at),
            }
            for e in world.time_entries
            if e.ns_timebill_id is not None
        ),
    )


def _load_invoices(store: Store, world: World) -> None:
    periods = sorted(world.periods, key=lambda p: p.start)

    def period_of(d: date) -> int | None:
        return next((int(p.id) for p in periods if p.start <= d <= p.end), None)

    store.insert_many(
        "txn",
        (
            {
                "id": int(i.ns_id),
                "type": "CustInvc",
                "tranid": i.number,
                "entity": int(i.client.ns_customer_id),
                "custbody_job": int(i.engagement.ns_job_id) if i.engagement.ns_job_id else None,
                "trandate": i.issue_date.isoformat(),
                "duedate": i.due_date.isoformat(),
                "status": "A" if i.amount_due > 0 else "B",
                "foreigntotal": float(i.total),
                "foreignamountremaining": float(i.amount_due),
                "currency": CURRENCY_IDS[i.client.currency],
                "externalid": psa_invoice_id(world, i),
                "memo": f"{i.engagement.code} {i.period_start:%B %Y}",
                "postingperiod": period_of(i.issue_date),
                "createddate": _at(i.issue_date, 9),
                "lastmodifieddate": stamp(i.modified_at),
            }
            for i in world.invoices
        ),
    )
    lines: list[Row] = []
    for inv in world.invoices:
        lines.append(line_row(int(inv.ns_id), 0, None, None, None, float(inv.total), mainline=True))
        for n, line in enumerate(inv.lines, start=1):
            lines.append(
                line_row(
                    int(inv.ns_id), n, line.description, line.quantity, float(line.rate), float(line.amount)
                )
            )
    store.insert_many("txn_line", lines)


def new_store(world: World) -> Store:
    store = Store(SCHEMA)
    load(store, world)
    return store
