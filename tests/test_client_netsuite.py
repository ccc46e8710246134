"""NetSuite connector against the simulator over a real socket: batching, values, auth, faults, writes."""

from __future__ import annotations

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
from opsgraph.connectors.netsuite import mapping
from opsgraph.connectors.netsuite.client import NetSuiteClient, sql_string
from opsgraph.model import BillingModel, InvoiceStatus, SourceName
from simulators.simkit.serve import RunningSimulator, SimulatorGroup
from simulators.world import World

SUITEQL = "POST /services/rest/query/v1/suiteql"
TOKEN = "POST /services/rest/auth/oauth2/v1/token"
DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running[SourceName.NETSUITE]


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
    assert list(jobs) == [e.code for e in engagements]
    assert jobs[world.drift.engagement_missing_in_erp] is None
    assert jobs[world.drift.engagement_inactive_in_erp] is not None
    for e in engagements:
        job = jobs[e.code]
        if e.ns_job_id is None:
            continue
        assert job is not None
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
    assert sum(1 for j in jobs.values() if j is not None and j.is_inactive) == 1

    before = await route_count(http, sim, SUITEQL)
    codes = [e.code for e in engagements] + [f"ZZ-{n:04d}" for n in range(1400)]
    jobs = await client.jobs_by_codes(codes)
    assert await route_count(http, sim, SUITEQL) - before == 2
    assert len(jobs) == 1500 and sum(v is None for v in jobs.values()) == 1401


async def test_jobs_and_customers_by_ids(
    client: NetSuiteClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    ids = [e.ns_job_id for e in world.engagements[:5] if e.ns_job_id] + ["424242", "not-an-id"]
    jobs = await client.jobs_by_ids(ids)
    assert [j.code if j else None for j in jobs.values()] == [e.code for e in world.engagements[:5]] + [
        None,
        None,
    ]

    due: dict[str, Decimal] = {}
    for inv in world.invoices:
        due[inv.client.ns_customer_id] = due.get(inv.client.ns_customer_id, Decimal(0)) + inv.amount_due
    before = await route_count(http, sim, SUITEQL)
    by_account = await client.customers_by_account_ids([c.sf_id for c in world.clients] + ["001MISSING"])
    assert await route_count(http, sim, SUITEQL) - before == 1
    assert by_account["001MISSING"] is None
    for c in world.clients:
        customer = by_account[c.sf_id]
        assert customer is not None
        assert (customer.id, customer.name, customer.legal_entity) == (
            c.ns_customer_id,
            c.name,
            c.legal_entity,
        )
        assert customer.currency == c.currency
        assert customer.balance is not None and customer.balance.amount == due.get(c.ns_customer_id, 0)
    bare = by_account[world.drift.client_without_legal_entity]
    assert bare is not None and bare.legal_entity is None
    by_id = await client.customers_by_ids([world.clients[0].ns_customer_id, "9"])
    assert by_id == {world.clients[0].ns_customer_id: by_account[world.clients[0].sf_id], "9": None}


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
        assert (inv.issue_date, inv.due_date, inv.harvest_invoice_id) == (
            w.issue_date,
            w.due_date,
            w.harvest_invoice_id,
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
    open_invoices = await client.list_invoices(open_only=True)
    assert sorted(i.id for i in open_invoices) == sorted(i.ns_id for i in world.invoices if i.amount_due > 0)
    assert len(await client.list_invoices()) == len(world.invoices)


async def test_timebills_and_accounting_periods(client: NetSuiteClient, world: World) -> None:
    bills = await client.timebills(*OCTOBER)
    posted = {
        e.ns_timebill_id: e
        for e in world.time_entries
        if e.ns_timebill_id and OCTOBER[0] <= e.spent_date <= OCTOBER[1]
    }
    assert len(bills) == len(posted) > 1000  # more than one page
    for b in bills:
        e = posted[b.id]
        assert (b.harvest_entry_id, b.job_id, b.date, b.hours) == (
            e.id,
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
    assert jobs == {"O'Brien": None, "x') OR ('1' = '1": None}
    assert await route_count(http, sim, SUITEQL) - before == 1


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
    body = mapping.job_record(
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
        assert (
            job is not None
            and job.billing_model is BillingModel.CAPPED
            and job.customer_id == eng.client.ns_customer_id
        )

        await client.update("job", first, {"companyName": "Renamed job"})
        changed = await client.changed_since("job", since)
        assert [r["id"] for r in changed] == [first]
        assert changed[0]["companyname"] == "Renamed job"

        customer = mapping.customer_record(name="Upserted Ltd", legal_entity="Upserted Ltd", currency_id="2")
        created = await client.upsert("customer", "001UPSERTCLIENT01", customer)
        updated = await client.upsert(
            "customer", "001UPSERTCLIENT01", {**customer, "companyName": "Upserted 2"}
        )
        assert created == updated
        got = (await client.customers_by_account_ids(["001UPSERTCLIENT01"]))["001UPSERTCLIENT01"]
        assert got is not None and (got.id, got.name, got.currency) == (created, "Upserted 2", "GBP")

        closed = next(p for p in world.periods if p.closed)
        bill = mapping.timebill_record(
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
    job = mapping.job_from_row(JOB_ROW, CURRENCIES)
    assert job.contract_value is not None and job.contract_value.amount == Decimal("125000.50")
    assert (job.contract_value.currency, job.billing_model, job.start_date, job.end_date) == (
        "GBP",
        BillingModel.FIXED_FEE,
        date(2026, 3, 7),
        None,
    )
    bill = mapping.timebill_from_row(
        {"id": "5", "externalid": "1000000001", "trandate": "2026-10-01", "hours": "7:30"}
    )
    assert (bill.hours, bill.job_id, bill.harvest_entry_id) == (7.5, None, 1000000001)
    moment = mapping.parse_datetime({"lastmodifieddate": "2026-11-20T10:15:00Z"}, "lastmodifieddate")
    assert moment == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"entityid": None}, "entityid", "entityid is missing"),
        (
            {"custentity_billing_model": "Retainer"},
            "custentity_billing_model",
            "unknown billing model 'Retainer'",
        ),
        ({"isinactive": "yes"}, "isinactive", "must be 'T' or 'F'"),
        ({"currency": "9"}, "currency", "unknown currency id '9'"),
        ({"startdate": "2026-13-01"}, "startdate", "is not a date"),
        ({"custentity_contract_value": "12,5"}, "custentity_contract_value", "is not a number"),
    ],
)
def test_mapping_errors_name_the_record_and_field(change: dict[str, Any], field: str, message: str) -> None:
    row = {k: v for k, v in {**JOB_ROW, **change}.items() if v is not None}
    with pytest.raises(SourceDataError) as err:
        mapping.job_from_row(row, CURRENCIES)
    assert (err.value.field, err.value.record_id, err.value.source) == (field, "9001", SourceName.NETSUITE)
    assert message in err.value.message and err.value.code == "SOURCE_DATA_ERROR"


def test_invoice_mapping_rejects_unknown_status_and_bad_external_id() -> None:
    head = {
        "id": "60001", "tranid": "INV-1", "entity": "2000", "trandate": "2026-10-03", "duedate": "2026-11-02",
        "status": "A", "foreigntotal": "100", "foreignamountremaining": "100", "currency": "1",
    }  # fmt: skip
    lines = [{"transaction": "60001", "linesequencenumber": "1", "memo": "x", "quantity": "-2", "rate": "50",
              "foreignamount": "-100"}]  # fmt: skip
    inv = mapping.invoice_from_row(head, lines, CURRENCIES)
    assert (inv.status, inv.lines[0].quantity, inv.lines[0].amount.amount) == (
        InvoiceStatus.OPEN,
        2.0,
        Decimal("100.00"),
    )
    with pytest.raises(SourceDataError) as err:
        mapping.invoice_from_row({**head, "status": "V"}, [], CURRENCIES)
    assert err.value.field == "status"
    with pytest.raises(SourceDataError) as err:
        mapping.invoice_from_row({**head, "externalid": "HV-1"}, [], CURRENCIES)
    assert (err.value.field, err.value.record_id) == ("externalid", "60001")
    with pytest.raises(SourceDataError) as err:
        mapping.invoice_from_row({k: v for k, v in head.items() if k != "duedate"}, [], CURRENCIES)
    assert err.value.field == "duedate"
