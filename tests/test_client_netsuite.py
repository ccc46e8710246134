"""NetSuite connector against the simulator over a real socket: batching, values, auth, faults, writes."""

from __future__ import annotations

import inspect
import math
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from opsgraph.clock import ManualClock
from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.errors import SourceDataError, SourceRateLimited, SourceRejected, SourceUnavailable
from opsgraph.connectors.netsuite import bodies, mapping
from opsgraph.connectors.netsuite.client import NetSuiteClient, sql_string
from opsgraph.model import BillingModel, InvoiceStatus
from opsgraph.roles import ChangeKind, Entity, ErpPort
from opsgraph.roles.filters import InvoiceFilter
from simulators.simkit.serve import RunningSimulator, SimulatorGroup
from simulators.world import World

SUITEQL = "POST /services/rest/query/v1/suiteql"
TOKEN = "POST /services/rest/auth/oauth2/v1/token"
DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running["netsuite"]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def client(sim: RunningSimulator) -> AsyncIterator[NetSuiteClient]:
    config = SourceConfig(
        base_url=sim.url + sim.info.api_path,
        credentials=dict(sim.info.credentials),
        max_retries=2,
        retry_backoff_s=0.01,
    )
    c = NetSuiteClient(config, clock=ManualClock())  # retry waits advance it: no sleeping
    await c.currencies()  # read once per client; warmed so call counts below are per batch
    yield c
    await c.close()


async def route_count(http: aiohttp.ClientSession, sim: RunningSimulator, route: str) -> int:
    async with http.get(f"{sim.url}/_sim/stats") as resp:
        stats: dict[str, Any] = await resp.json()
    return int(stats["routes"].get(route, {}).get("count", 0))


async def status_count(http: aiohttp.ClientSession, sim: RunningSimulator, status: int) -> int:
    async with http.get(f"{sim.url}/_sim/stats") as resp:
        stats: dict[str, Any] = await resp.json()
    return int(stats["statuses"].get(str(status), 0))


async def set_faults(http: aiohttp.ClientSession, sim: RunningSimulator, faults: dict[str, Any]) -> None:
    async with http.put(f"{sim.url}/_sim/faults", json=faults) as resp:
        assert resp.status == 200


async def restore_faults(http: aiohttp.ClientSession, sim: RunningSimulator) -> None:
    await set_faults(http, sim, {**DEFAULT_FAULTS, "rate_window_s": 15})


# -- batch reads -------------------------------------------------------------------------------------


async def test_jobs_by_codes_is_one_suiteql_per_thousand_codes(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    engagements = world.engagements[:100]
    before = await route_count(http, sim, SUITEQL)
    jobs = await client.jobs_by_codes([e.code for e in engagements])
    assert await route_count(http, sim, SUITEQL) - before == 1
    assert list(jobs) == [e.code for e in engagements if e.ns_job_id is not None]
    assert world.drift.engagement_missing_in_erp not in jobs
    assert world.drift.engagement_inactive_in_erp in jobs
    for e in engagements:
        if e.ns_job_id is None:
            continue
        job = jobs[e.code]
        assert job.key == f"netsuite:{e.ns_job_id}"
        assert (job.id, job.code, job.name, job.customer_id) == (
            e.ns_job_id,
            e.code,
            e.name,
            e.client.ns_customer_id,
        )
        assert (job.opportunity_id, job.is_inactive, job.practice) == (
            e.opportunity_id,
            e.erp_inactive,
            e.practice,
        )
        assert job.contract_value is not None
        assert (job.contract_value.amount, job.contract_value.currency) == (
            e.contract_value,
            e.client.currency,
        )
        assert job.billing_model == BillingModel(e.billing_model)
        assert (job.start_date, job.end_date) == (e.start, e.end)
    assert sum(1 for j in jobs.values() if j.is_inactive) == 1

    before = await route_count(http, sim, SUITEQL)
    codes = [e.code for e in engagements] + [f"ZZ-{n:04d}" for n in range(1400)]
    jobs = await client.jobs_by_codes(codes)
    assert await route_count(http, sim, SUITEQL) - before == 2
    assert len(jobs) == 99 and None not in jobs.values()


async def test_jobs_and_customers_by_ids(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    ids = [e.ns_job_id for e in world.engagements[:5] if e.ns_job_id] + ["424242", "not-an-id"]
    jobs = await client.jobs_by_ids([*ids, ids[0]])
    assert [j.code for j in jobs.values()] == [e.code for e in world.engagements[:5]]
    assert "424242" not in jobs and "not-an-id" not in jobs

    due: dict[str, Decimal] = {}
    for inv in world.invoices:
        due[inv.client.ns_customer_id] = due.get(inv.client.ns_customer_id, Decimal(0)) + inv.amount_due
    before = await route_count(http, sim, SUITEQL)
    by_account = await client.customers_by_client_ids([c.sf_id for c in world.clients] + ["001MISSING", ""])
    assert await route_count(http, sim, SUITEQL) - before == 1
    assert "001MISSING" not in by_account and "" not in by_account
    for c in world.clients:
        customer = by_account[c.sf_id]
        assert customer.client_id == c.sf_id
        assert (customer.id, customer.name, customer.legal_entity) == (
            c.ns_customer_id,
            c.name,
            c.legal_entity,
        )
        assert customer.currency == c.currency
        assert customer.balance is not None and customer.balance.amount == due.get(c.ns_customer_id, 0)
    bare = by_account[world.drift.client_without_legal_entity]
    assert bare.legal_entity is None
    by_id = await client.customers_by_ids([world.clients[0].ns_customer_id, "9"])
    assert by_id == {world.clients[0].ns_customer_id: by_account[world.clients[0].sf_id]}


async def test_invoices_by_customer_ids_for_all_customers(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    line_rows = sum(len(i.lines) for i in world.invoices)
    before = await route_count(http, sim, SUITEQL)
    grouped = await client.invoices_by_customer_ids([c.ns_customer_id for c in world.clients])
    # one query for the invoices (521 rows, one page), one for all their lines (paged by 1000 rows)
    assert await route_count(http, sim, SUITEQL) - before == 1 + math.ceil(line_rows / 1000)
    expected = {i.ns_id: i for i in world.invoices}
    got = {inv.id: inv for invs in grouped.values() for inv in invs}
    assert set(got) == set(expected)
    for c in world.clients:
        assert sorted(i.id for i in grouped[c.ns_customer_id]) == sorted(
            i.ns_id for i in world.invoices if i.client is c
        )
    for ns_id, inv in got.items():
        w = expected[ns_id]
        assert (inv.number, inv.customer_id, inv.job_id) == (
            w.number,
            w.client.ns_customer_id,
            w.engagement.ns_job_id,
        )
        assert (inv.total.amount, inv.amount_due.amount, inv.total.currency) == (
            w.total,
            w.amount_due,
            w.client.currency,
        )
        assert inv.status is (InvoiceStatus.OPEN if w.amount_due > 0 else InvoiceStatus.PAID)
        assert (inv.issue_date, inv.due_date, inv.psa_invoice_id) == (
            w.issue_date,
            w.due_date,
            None if w.harvest_invoice_id is None else str(w.harvest_invoice_id),
        )
        assert [(ln.description, ln.quantity, ln.rate.amount, ln.amount.amount) for ln in inv.lines] == [
            (ln.description, ln.quantity, ln.rate, ln.amount) for ln in w.lines
        ]
    assert sum((i.total.amount for i in got.values()), Decimal(0)) == sum(
        (i.total for i in world.invoices), Decimal(0)
    )


async def test_invoices_by_job_and_open_invoices(client: NetSuiteClient, world: World) -> None:
    eng = world.engagements[0]
    by_job = await client.invoices_by_job_ids([eng.ns_job_id or "", "31337"])
    assert sorted(i.number for i in by_job[eng.ns_job_id or ""]) == sorted(
        i.number for i in world.invoices if i.engagement is eng
    )
    assert by_job["31337"] == []
    open_invoices = await client.list_invoices(InvoiceFilter(open_only=True))
    assert sorted(i.id for i in open_invoices) == sorted(i.ns_id for i in world.invoices if i.amount_due > 0)
    assert len(await client.list_invoices()) == len(world.invoices)
    totals = await client.list_invoices(InvoiceFilter(), with_lines=False)
    assert len(totals) == len(world.invoices) and all(i.lines == [] for i in totals)


async def test_time_postings_and_accounting_periods(client: NetSuiteClient, world: World) -> None:
    bills = await client.list_time_postings(*OCTOBER)
    posted = {
        e.ns_timebill_id: e
        for e in world.time_entries
        if e.ns_timebill_id and OCTOBER[0] <= e.spent_date <= OCTOBER[1]
    }
    assert len(bills) == len(posted) > 1000  # more than one page
    for b in bills:
        e = posted[b.id]
        assert (b.time_entry_id, b.job_id, b.date, b.hours) == (
            str(e.id),
            e.engagement.ns_job_id,
            e.spent_date,
            e.hours,
        )
    periods = await client.accounting_periods()
    assert [(p.id, p.name, p.start, p.end, p.closed) for p in periods] == [
        (p.id, p.name, p.start, p.end, p.closed) for p in sorted(world.periods, key=lambda p: p.start)
    ]


async def test_string_literals_are_escaped(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    assert sql_string("O'Brien") == "'O''Brien'"
    before = await route_count(http, sim, SUITEQL)
    jobs = await client.jobs_by_codes(["O'Brien", "x') OR ('1' = '1"])
    assert jobs == {}
    assert await route_count(http, sim, SUITEQL) - before == 1


@pytest.mark.parametrize("bad", ["abc", "", "\u00b9", "\u0661\u0662", "1" * 30, "-5", "1.0", " 7"])
async def test_malformed_ids_are_absent_and_cost_no_request(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator, bad: str
) -> None:
    before = await route_count(http, sim, SUITEQL)
    assert await client.customers_by_ids([bad, bad]) == {}
    assert await client.jobs_by_ids([bad]) == {}
    assert await client.invoices_by_ids([bad]) == {}
    assert await client.invoices_by_customer_ids([bad]) == {bad: []}
    assert await client.invoices_by_job_ids([bad, bad]) == {bad: []}
    assert await client.exchange_rates([bad]) == []
    assert await route_count(http, sim, SUITEQL) == before
    blank = "" if bad == "" else "   "
    assert await client.jobs_by_codes([blank]) == {} and await client.customers_by_client_ids([blank]) == {}
    assert await route_count(http, sim, SUITEQL) == before


async def test_unknown_ids_are_absent_and_every_parent_is_answered(
    client: NetSuiteClient, world: World
) -> None:
    invoice = world.invoices[0]
    found = await client.invoices_by_ids(["999999", invoice.ns_id, invoice.ns_id])
    assert list(found) == [invoice.ns_id] and found[invoice.ns_id].number == invoice.number
    assert found[invoice.ns_id].lines and found[invoice.ns_id].key == f"netsuite:{invoice.ns_id}"
    customer = invoice.client.ns_customer_id
    grouped = await client.invoices_by_customer_ids(["999999", customer, customer])
    assert list(grouped) == ["999999", customer] and grouped["999999"] == []
    assert [i.id for i in grouped[customer]] == sorted(
        (i.ns_id for i in world.invoices if i.client is invoice.client), key=int
    )
    assert await client.customers_by_ids(["999999"]) == {}
    assert client.system == "netsuite"
    reads = {n for n, m in vars(ErpPort).items() if callable(m) and not n.startswith("_")}
    writes = {n for n in reads if "idempotency_key" in inspect.signature(getattr(ErpPort, n)).parameters}
    assert {n for n in reads - writes if not hasattr(client, n)} == set()  # writes: a later issue


async def test_system_name_is_set_on_every_record(sim: RunningSimulator, world: World) -> None:
    config = SourceConfig(base_url=sim.connector_base_url, credentials=dict(sim.info.credentials))
    client = NetSuiteClient(config, system="erp-emea", clock=ManualClock())
    try:
        invoice = world.invoices[0]
        got = (await client.invoices_by_ids([invoice.ns_id]))[invoice.ns_id]
        customer = (await client.customers_by_ids([invoice.client.ns_customer_id]))[
            invoice.client.ns_customer_id
        ]
        periods = await client.accounting_periods()
        assert (got.system, customer.system, {p.system for p in periods}) == (
            "erp-emea",
            "erp-emea",
            {"erp-emea"},
        )
        assert got.key == f"erp-emea:{invoice.ns_id}"
    finally:
        await client.close()


async def test_changed_since_finds_an_invoice_paid_in_netsuite(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    invoice = next(i for i in world.invoices if i.amount_due > 0)
    try:
        baseline = await client.changed_since(Entity.INVOICE, datetime(2000, 1, 1, tzinfo=UTC))
        assert sorted(c.id for c in baseline.changes) == sorted(i.ns_id for i in world.invoices)
        stamps = [c.modified_at for c in baseline.changes]
        assert stamps == sorted(stamps)  # type: ignore[type-var]
        assert baseline.high_water == stamps[-1]
        mark = baseline.high_water
        before = await route_count(http, sim, SUITEQL)
        async with http.post(
            f"{sim.url}/_sim/events", json={"type": "pay_invoice", "id": invoice.ns_id}
        ) as resp:
            assert resp.status == 200
        batch = await client.changed_since(Entity.INVOICE, mark)
        assert await route_count(http, sim, SUITEQL) - before == 1
        assert [(c.id, c.kind) for c in batch.changes] == [(invoice.ns_id, ChangeKind.UPSERTED)]
        assert batch.since == mark and batch.high_water == batch.changes[0].modified_at
        assert batch.high_water > mark
        again = await client.changed_since(Entity.INVOICE, batch.high_water)
        assert (again.changes, again.high_water) == ((), batch.high_water)
        paid = (await client.invoices_by_ids([invoice.ns_id]))[invoice.ns_id]
        assert paid.status is InvoiceStatus.PAID and paid.amount_due.amount == 0
        for entity in (Entity.CUSTOMER, Entity.JOB, Entity.TIME_POSTING):
            assert (await client.changed_since(entity, batch.high_water)).changes == ()
        with pytest.raises(ValueError, match="NetSuite polls"):
            await client.changed_since(Entity.RESOURCE, mark)
    finally:
        async with http.post(f"{sim.url}/_sim/reset") as resp:
            assert resp.status == 200


async def test_probe_up_and_down(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    before = await route_count(http, sim, SUITEQL)
    await client.probe()  # answers without raising
    assert await route_count(http, sim, SUITEQL) - before == 1
    try:
        await set_faults(http, sim, {"outage": True})
        with pytest.raises(SourceUnavailable) as err:
            await client.probe()
        assert (err.value.status, err.value.system) == (503, "netsuite")
    finally:
        await restore_faults(http, sim)


# -- auth and faults ---------------------------------------------------------------------------------


async def test_token_is_cached_and_refreshed_once_after_revoke(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    tokens, unauthorized = await route_count(http, sim, TOKEN), await status_count(http, sim, 401)
    await client.accounting_periods()
    await client.accounting_periods()
    assert await route_count(http, sim, TOKEN) == tokens  # cached from the fixture's first call
    async with http.post(f"{sim.url}/_sim/events", json={"type": "revoke_tokens"}) as resp:
        assert resp.status == 200
    assert len(await client.accounting_periods()) == 16
    assert await route_count(http, sim, TOKEN) - tokens == 1
    assert await status_count(http, sim, 401) - unauthorized == 1


async def test_bad_credentials_are_source_unavailable(sim: RunningSimulator) -> None:
    config = SourceConfig(
        base_url=sim.url + sim.info.api_path, credentials={**sim.info.credentials, "client_secret": "wrong"}
    )
    client = NetSuiteClient(config)
    try:
        with pytest.raises(SourceUnavailable) as err:
            await client.accounting_periods()
        assert err.value.vendor_code == "invalid_client" and err.value.status == 400
    finally:
        await client.close()
    with pytest.raises(ValueError, match="client_secret"):
        NetSuiteClient(SourceConfig(base_url="http://x", credentials={"client_id": "a"}))


async def test_429_is_retried_then_source_rate_limited(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    try:
        await set_faults(http, sim, {"rate_limit": 0, "rate_window_s": 60})
        before = await status_count(http, sim, 429)
        with pytest.raises(SourceRateLimited) as err:
            await client.accounting_periods()
        assert await status_count(http, sim, 429) - before == 3  # the first try and two retries
        assert (err.value.vendor_code, err.value.status, err.value.retry_after) == (
            "CONCURRENCY_LIMIT_EXCEEDED",
            429,
            1.0,
        )
        assert err.value.code == "SOURCE_RATE_LIMITED"
    finally:
        await restore_faults(http, sim)


async def test_outage_is_source_unavailable(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    try:
        await set_faults(http, sim, {"outage": True})
        before = await status_count(http, sim, 503)
        with pytest.raises(SourceUnavailable) as err:
            await client.jobs_by_codes(["ENG-0001"])
        assert (err.value.status, err.value.code) == (503, "SOURCE_UNAVAILABLE")
        assert await status_count(http, sim, 503) - before == 3
    finally:
        await restore_faults(http, sim)


async def test_bad_query_is_rejected_without_retry(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    before = await route_count(http, sim, SUITEQL)
    with pytest.raises(SourceRejected) as err:
        await client.suiteql("SELECT nosuchcolumn FROM job")
    assert err.value.vendor_code == "INVALID_PARAMETER" and "nosuchcolumn" in err.value.message
    assert await route_count(http, sim, SUITEQL) - before == 1


# -- writes ------------------------------------------------------------------------------------------


async def test_create_update_upsert_and_change_polling(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    eng = world.engagements[0]
    body = bodies.job_record(
        code="ENG-CLIENT-T1",
        name="Client test job",
        customer_id=eng.client.ns_customer_id,
        billing_model=BillingModel.CAPPED,
        start=date(2026, 12, 1),
    )
    try:
        first = await client.create("job", body, idempotency_key="client-test-key-1")
        again = await client.create("job", body, idempotency_key="client-test-key-1")
        assert first == again
        record = await client.get_record("job", first)
        assert (record["entityId"], record["custentity_billing_model"]) == ("ENG-CLIENT-T1", "Capped")
        (job,) = (await client.jobs_by_ids([first])).values()
        assert (job.billing_model, job.customer_id) == (BillingModel.CAPPED, eng.client.ns_customer_id)

        await client.update("job", first, {"companyName": "Renamed job"})
        changed = await client.changed_since(Entity.JOB, since)
        assert [c.id for c in changed.changes] == [first]
        assert (await client.jobs_by_ids([first]))[first].name == "Renamed job"

        customer = bodies.customer_record(name="Upserted Ltd", legal_entity="Upserted Ltd", currency_id="2")
        created = await client.upsert("customer", "001UPSERTCLIENT01", customer)
        updated = await client.upsert(
            "customer", "001UPSERTCLIENT01", {**customer, "companyName": "Upserted 2"}
        )
        assert created == updated
        got = (await client.customers_by_client_ids(["001UPSERTCLIENT01"]))["001UPSERTCLIENT01"]
        assert (got.id, got.name, got.currency) == (created, "Upserted 2", "GBP")

        closed = next(p for p in world.periods if p.closed)
        bill = bodies.timebill_record(
            employee_id=world.people[0].ns_employee_id, job_id=first, day=closed.start, hours=8.0, memo=None
        )
        with pytest.raises(SourceRejected) as err:
            await client.upsert("timeBill", "999000001", bill)
        assert (err.value.status, err.value.vendor_code) == (400, "USER_ERROR")
        assert closed.name in err.value.message
    finally:
        async with http.post(f"{sim.url}/_sim/reset") as resp:
            assert resp.status == 200


# -- mapping -----------------------------------------------------------------------------------------

CURRENCIES = {"1": "USD", "2": "GBP"}
JOB_ROW = {
    "id": "9001",
    "entityid": "ENG-0002",
    "companyname": "Globex Strategy Review",
    "parent": "2001",
    "isinactive": "F",
    "custentity_contract_value": "125000.5",
    "custentity_billing_model": "Fixed Fee",
    "currency": "2",
    "startdate": "3/7/2026",
}


def test_mapping_reads_suiteql_strings() -> None:
    job = mapping.job_from_row(JOB_ROW, "erp-emea", CURRENCIES)
    assert (job.system, job.id, job.key) == ("erp-emea", "9001", "erp-emea:9001")
    assert job.contract_value is not None and job.contract_value.amount == Decimal("125000.50")
    assert (job.contract_value.currency, job.billing_model, job.start_date, job.end_date) == (
        "GBP",
        BillingModel.FIXED_FEE,
        date(2026, 3, 7),
        None,
    )
    bill = mapping.time_posting_from_row(
        {"id": "5", "externalid": "1000000001", "trandate": "2026-10-01", "hours": "7:30"}, "netsuite"
    )
    assert (bill.hours, bill.job_id, bill.time_entry_id) == (7.5, None, "1000000001")
    moment = mapping.parse_datetime(
        {"lastmodifieddate": "2026-11-20T10:15:00Z"}, "lastmodifieddate", "netsuite"
    )
    assert moment == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"entityid": None}, "entityid", "has no entityid"),
        (
            {"custentity_billing_model": "Retainer"},
            "custentity_billing_model",
            "unknown billing model 'Retainer'",
        ),
        ({"isinactive": "yes"}, "isinactive", "non-boolean isinactive"),
        ({"currency": "9"}, "currency", "unknown currency id '9'"),
        ({"startdate": "2026-13-01"}, "startdate", "malformed startdate"),
        ({"custentity_contract_value": "12,5"}, "custentity_contract_value", "non-numeric"),
    ],
)
def test_mapping_errors_name_the_record_and_field(change: dict[str, Any], field: str, message: str) -> None:
    row = {k: v for k, v in {**JOB_ROW, **change}.items() if v is not None}
    with pytest.raises(SourceDataError) as err:
        mapping.job_from_row(row, "erp-na", CURRENCIES)
    assert (err.value.field, err.value.record_id, err.value.system) == (field, "9001", "erp-na")
    assert message in err.value.message and err.value.code == "SOURCE_DATA_ERROR"


def test_invoice_mapping_rejects_unknown_status_and_bad_external_id() -> None:
    head = {
        "id": "60001", "tranid": "INV-1", "entity": "2000", "trandate": "2026-10-03", "duedate": "2026-11-02",
        "status": "A", "foreigntotal": "100", "foreignamountremaining": "100", "currency": "1",
    }  # fmt: skip
    lines = [{"transaction": "60001", "linesequencenumber": "1", "memo": "x", "quantity": "-2", "rate": "50",
              "foreignamount": "-100"}]  # fmt: skip
    inv = mapping.invoice_from_row(head, "netsuite", lines, CURRENCIES)
    assert (inv.status, inv.lines[0].quantity, inv.lines[0].amount.amount) == (
        InvoiceStatus.OPEN,
        2.0,
        Decimal("100.00"),
    )
    with pytest.raises(SourceDataError) as err:
        mapping.invoice_from_row({**head, "status": "V"}, "netsuite", [], CURRENCIES)
    assert err.value.field == "status"
    assert (
        mapping.invoice_from_row({**head, "externalid": "HV-1"}, "netsuite", [], CURRENCIES).psa_invoice_id
        == "HV-1"
    )
    with pytest.raises(SourceDataError) as err:
        mapping.invoice_from_row({**head, "externalid": 17}, "netsuite", [], CURRENCIES)
    assert (err.value.field, err.value.record_id) == ("externalid", "60001")
    with pytest.raises(SourceDataError) as err:
        mapping.invoice_from_row(
            {k: v for k, v in head.items() if k != "duedate"}, "netsuite", [], CURRENCIES
        )
    assert err.value.field == "duedate"
