"""ERP role conformance: every registered ERP connector against its own simulator (`ErpPort`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from opsgraph.connectors.registry import Connector
from opsgraph.model import Role
from opsgraph.roles import POLLED, Entity, ErpPort
from opsgraph.roles.filters import InvoiceFilter
from simulators import world as w
from simulators.netsuite.sim_rates import exchange_rate_rows
from simulators.netsuite.sim_state import CURRENCIES
from simulators.world import World

from . import errors
from . import expected as x
from .conftest import MakeClient, system_name, vendors_of
from .contract import (
    assert_identity,
    assert_implements,
    assert_same,
    check_batch_read,
    check_children_read,
    check_paging,
    check_pushed_down,
    in_id_order,
    served,
)
from .ids import MALFORMED, max_page, unknown_ids
from .polling import check_change_polling, check_unpolled_entities
from .serving import Admin, SimServer

ROLE = Role.ERP
SYSTEM = system_name(ROLE)
pytestmark = pytest.mark.parametrize("vendor", vendors_of(ROLE))

POSTED = (date(2026, 10, 1), date(2026, 10, 31))


def _clients(world: World) -> list[w.Client]:
    """One client per currency, and the one seeded without a legal entity."""
    picked = {c.currency: c for c in world.clients}
    drift = next(c for c in world.clients if c.sf_id == world.drift.client_without_legal_entity)
    return [*picked.values(), drift]


def _jobs(world: World) -> list[w.Engagement]:
    """Engagements with a job: each billing model, and the one inactive in the ERP."""
    jobs = [e for e in world.engagements if e.ns_job_id is not None]
    by_model = {e.billing_model: e for e in jobs}
    inactive = next(e for e in jobs if e.code == world.drift.engagement_inactive_in_erp)
    return [*by_model.values(), inactive]


def _invoices(world: World) -> list[w.Invoice]:
    """Open and paid, one line and several."""
    open_ = next(i for i in world.invoices if i.amount_due > 0)
    paid = next(i for i in world.invoices if i.amount_due == 0)
    lines = max(world.invoices, key=lambda i: len(i.lines))
    return [open_, paid, lines, world.invoices[-1]]


async def test_role_has_connectors(vendor: str, connector: Connector) -> None:
    assert connector.role is ROLE and connector.vendor == vendor


async def test_client_is_the_port(vendor: str, make_client: MakeClient) -> None:
    client = make_client()
    assert (client.system, client.vendor, client.role) == (SYSTEM, vendor, ROLE)
    assert_implements(client, ErpPort)
    await client.probe()


async def test_customers_by_ids(make_client: MakeClient, vendor: str, conformance_world: World) -> None:
    world = conformance_world
    want = {c.ns_customer_id: x.customer(SYSTEM, world, c) for c in _clients(world)}
    unknown = unknown_ids(vendor)["customer"]
    await check_batch_read(make_client().customers_by_ids, want, unknown, SYSTEM, "customers_by_ids")


async def test_customers_by_client_ids(
    make_client: MakeClient, vendor: str, conformance_world: World
) -> None:
    world = conformance_world
    want = {w.crm_client_id(world, c): x.customer(SYSTEM, world, c) for c in _clients(world)}
    unknown = unknown_ids(vendor)["client"]
    await check_batch_read(
        make_client().customers_by_client_ids, want, unknown, SYSTEM, "customers_by_client_ids"
    )


async def test_jobs_by_ids(make_client: MakeClient, vendor: str, conformance_world: World) -> None:
    want = {str(e.ns_job_id): x.job(SYSTEM, conformance_world, e) for e in _jobs(conformance_world)}
    unknown = unknown_ids(vendor)["job"]
    await check_batch_read(make_client().jobs_by_ids, want, unknown, SYSTEM, "jobs_by_ids")


async def test_jobs_by_codes(make_client: MakeClient, vendor: str, conformance_world: World) -> None:
    world = conformance_world
    want = {e.code: x.job(SYSTEM, world, e) for e in _jobs(world)}
    unknown = [*unknown_ids(vendor)["code"], world.drift.engagement_missing_in_erp]
    await check_batch_read(make_client().jobs_by_codes, want, unknown, SYSTEM, "jobs_by_codes")


async def test_invoices_by_ids(make_client: MakeClient, vendor: str, conformance_world: World) -> None:
    want = {i.ns_id: x.invoice(SYSTEM, i) for i in _invoices(conformance_world)}
    unknown = unknown_ids(vendor)["invoice"]
    await check_batch_read(make_client().invoices_by_ids, want, unknown, SYSTEM, "invoices_by_ids")


async def test_invoices_by_customer_ids(
    make_client: MakeClient, vendor: str, conformance_world: World
) -> None:
    world = conformance_world
    parents = {c.ns_customer_id: c for c in _clients(world)}
    idle = [c for c in world.clients if not any(i.client is c for i in world.invoices)][:1]
    parents.update({c.ns_customer_id: c for c in idle})
    want = {cid: [i.ns_id for i in world.invoices if i.client is c] for cid, c in parents.items()}
    result = await check_children_read(
        make_client().invoices_by_customer_ids, want, unknown_ids(vendor)["customer"], SYSTEM, "by customer"
    )
    sample = _invoices(world)[0]
    got = {i.id: i for i in result.get(sample.client.ns_customer_id, [])}
    if sample.ns_id in got:
        assert_same(got[sample.ns_id], x.invoice(SYSTEM, sample), f"invoice {sample.number}")


async def test_invoices_by_job_ids(make_client: MakeClient, vendor: str, conformance_world: World) -> None:
    world = conformance_world
    jobs = {str(e.ns_job_id): e for e in _jobs(world)}
    idle = [
        e for e in world.engagements if e.ns_job_id and not any(i.engagement is e for i in world.invoices)
    ]
    jobs.update({str(e.ns_job_id): e for e in idle[:1]})
    want = {jid: [i.ns_id for i in world.invoices if i.engagement is e] for jid, e in jobs.items()}
    await check_children_read(
        make_client().invoices_by_job_ids, want, unknown_ids(vendor)["job"], SYSTEM, "invoices_by_job_ids"
    )


async def test_list_invoices_pages_to_the_end(
    make_client: MakeClient, sim: SimServer, vendor: str, conformance_world: World
) -> None:
    world = conformance_world
    client = make_client()
    await client.probe()
    invoices, seen = await served(sim, client.list_invoices(with_lines=False))
    check_paging(seen, len(world.invoices), max_page(vendor), "list_invoices")
    assert len(invoices) == len(world.invoices)
    assert_identity(invoices, SYSTEM)
    assert in_id_order([i.id for i in invoices]), "list_invoices is ordered by id"
    by_id = {i.id: i for i in invoices}
    for i in _invoices(world):
        assert_same(by_id[i.ns_id], x.invoice(SYSTEM, i, with_lines=False), f"listed {i.number}")


async def test_list_open_invoices_is_pushed_down(
    make_client: MakeClient, sim: SimServer, conformance_world: World
) -> None:
    world = conformance_world
    client = make_client()
    await client.probe()
    open_, seen = await served(sim, client.list_invoices(InvoiceFilter(open_only=True), with_lines=False))
    assert sorted(i.id for i in open_) == sorted(i.ns_id for i in world.invoices if i.amount_due > 0)
    _, whole = await served(sim, client.list_invoices(with_lines=False))
    check_pushed_down(seen, whole, "list_invoices(open_only=True)")


SUMS_UPSTREAM = {"netsuite"}
"""ERPs whose API sums invoices (SuiteQL `SUM ... GROUP BY`); the others sum their listing."""


@pytest.mark.parametrize("itemised_from", [None, date(2026, 10, 1)])
async def test_invoice_totals(
    make_client: MakeClient,
    sim: SimServer,
    vendor: str,
    conformance_world: World,
    itemised_from: date | None,
) -> None:
    world = conformance_world
    client = make_client()
    await client.probe()
    totals, seen = await served(sim, client.invoice_totals(itemised_from))
    got = {(t.customer_id, t.job_id, t.total.currency, t.issue_date): (t.total, t.invoices) for t in totals}
    assert len(got) == len(totals), "each customer, job, currency (and day) once"
    want = x.invoice_totals(world.invoices, itemised_from)
    assert got == want
    if itemised_from is not None:
        days = {t.issue_date for t in totals} - {None}
        assert days and min(days) >= itemised_from, "the window holds invoices, each day its own"
    if vendor in SUMS_UPSTREAM:
        _, whole = await served(sim, client.list_invoices(with_lines=False))
        check_pushed_down(seen, whole, "invoice_totals")
        assert len(seen) <= len(whole)


async def test_list_invoices_with_lines(make_client: MakeClient, conformance_world: World) -> None:
    invoices = {i.id: i for i in await make_client().list_invoices(InvoiceFilter(open_only=True))}
    for i in [i for i in conformance_world.invoices if i.amount_due > 0][:5]:
        assert_same(invoices[i.ns_id], x.invoice(SYSTEM, i), f"listed {i.number} with lines")


async def test_list_time_postings_pages_to_the_end(
    make_client: MakeClient, sim: SimServer, vendor: str, conformance_world: World
) -> None:
    start, end = POSTED
    want = [t for t in conformance_world.time_entries if t.ns_timebill_id and start <= t.spent_date <= end]
    client = make_client()
    await client.probe()
    postings, seen = await served(sim, client.list_time_postings(start, end))
    check_paging(seen, len(want), max_page(vendor), "list_time_postings")
    assert sorted(p.id for p in postings) == sorted(str(t.ns_timebill_id) for t in want)
    assert in_id_order([p.id for p in postings]), "list_time_postings is ordered by id"
    assert_identity(postings, SYSTEM)
    by_id = {p.id: p for p in postings}
    for t in want[:: max(1, len(want) // 5)]:
        assert_same(by_id[str(t.ns_timebill_id)], x.time_posting(SYSTEM, t), f"posting of entry {t.id}")


async def test_accounting_periods(make_client: MakeClient, conformance_world: World) -> None:
    periods = await make_client().accounting_periods()
    want = [x.period(SYSTEM, p) for p in sorted(conformance_world.periods, key=lambda p: p.start)]
    assert [p.id for p in periods] == [p.id for p in want], "every period, ordered by start"
    assert_identity(periods, SYSTEM)
    for got, expected_period in zip(periods, want, strict=True):
        assert_same(got, expected_period, f"period {expected_period.name}")


async def test_exchange_rates(make_client: MakeClient, vendor: str, conformance_world: World) -> None:
    periods = [p.id for p in conformance_world.periods[-6:-4]]
    symbol = {cid: sym for cid, _, sym in CURRENCIES}
    rows = [r for r in exchange_rate_rows(conformance_world) if str(r["postingperiod"]) in periods]
    want = {
        (symbol[r["fromcurrency"]], symbol[r["tocurrency"]], str(r["postingperiod"])): (
            Decimal(str(r["averagerate"])),
            Decimal(str(r["currentrate"])),
            Decimal(str(r["historicalrate"])),
        )
        for r in rows
    }
    rates = await make_client().exchange_rates(iter([*periods, *unknown_ids(vendor)["period"], *MALFORMED]))
    got = {
        (r.from_currency, r.to_currency, r.period_id): (r.average_rate, r.current_rate, r.historical_rate)
        for r in rates
    }
    assert len(got) == len(rates), "each pair once per period"
    assert got == want


# -- errors and rate limits ---------------------------------------------------------------------------


def _read(world: World) -> Any:
    known = world.clients[0].ns_customer_id
    return lambda client: client.customers_by_ids([known])


async def test_server_error_is_unavailable_and_opens_the_breaker(
    make_client: MakeClient, admin: Admin, sim: SimServer, conformance_world: World
) -> None:
    await errors.check_server_error(make_client, admin, sim, _read(conformance_world))


async def test_outage_is_unavailable(make_client: MakeClient, admin: Admin, conformance_world: World) -> None:
    await errors.check_outage(make_client, admin, _read(conformance_world))


async def test_short_rate_limit_is_retried(
    make_client: MakeClient, admin: Admin, sim: SimServer, conformance_world: World
) -> None:
    await errors.check_rate_limit_retried(make_client, admin, sim, _read(conformance_world))


async def test_long_rate_limit_is_rate_limited(
    make_client: MakeClient, admin: Admin, sim: SimServer, conformance_world: World
) -> None:
    await errors.check_rate_limit_raised(make_client, admin, sim, _read(conformance_world))


async def test_garbage_body_is_a_bad_response(
    make_client: MakeClient, admin: Admin, conformance_world: World
) -> None:
    await errors.check_garbage(make_client, admin, _read(conformance_world))


async def test_rejected_request_does_not_move_the_breaker(make_client: MakeClient, sim: SimServer) -> None:
    await errors.check_rejected(make_client, sim)


# -- change polling (last: the changes are left in the simulator) ---------------------------------


@pytest.mark.parametrize("entity", sorted(POLLED[ROLE]))
async def test_change_polling(
    entity: Entity, vendor: str, make_client: MakeClient, admin: Admin, conformance_world: World
) -> None:
    client = make_client()
    dates = {t.ns_timebill_id: t.spent_date for t in conformance_world.time_entries if t.ns_timebill_id}

    async def postings_by_ids(ids: Iterable[str]) -> Mapping[str, Any]:
        found: dict[str, Any] = {}
        for posting_id in ids:
            day = dates[posting_id]
            found.update({p.id: p for p in await client.list_time_postings(day, day) if p.id == posting_id})
        return found

    read_back = {
        Entity.CUSTOMER: client.customers_by_ids,
        Entity.JOB: client.jobs_by_ids,
        Entity.INVOICE: client.invoices_by_ids,
        Entity.TIME_POSTING: postings_by_ids,
    }[entity]
    writer = make_client(system="erp-user")
    await check_change_polling(vendor, entity, client, writer, conformance_world, admin, read_back)


async def test_unpolled_entities_are_refused(make_client: MakeClient, conformance_world: World) -> None:
    await check_unpolled_entities(ROLE, make_client(), conformance_world)
