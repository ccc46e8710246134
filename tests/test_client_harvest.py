"""The Harvest connector against the simulator over a real socket: canonical models, call costs, failures."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from sim_clock import shared_clock

from opsgraph.clock import ManualClock
from opsgraph.connectors.base import (
    SourceConfig,
    SourceDataError,
    SourceRateLimited,
    SourceRejected,
    SourceUnavailable,
)
from opsgraph.connectors.harvest.client import HarvestClient, report_windows
from opsgraph.connectors.harvest.mapping import (
    project_time_totals_from_result,
    project_to_engagement,
    time_entry_from_record,
    user_to_psa_user,
)
from opsgraph.model import BillingModel, Engagement, ProjectTimeTotals, SourceName, TimeEntryStatus
from simulators.simkit.serve import RunningSimulator, SimulatorGroup
from simulators.world import World

DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running[SourceName.HARVEST]


def config(sim: RunningSimulator, **overrides: Any) -> SourceConfig:
    values: dict[str, Any] = {
        "base_url": sim.url,
        "credentials": dict(sim.info.credentials),
        "max_retries": 2,
        "retry_backoff_s": 0.01,
        **overrides,
    }
    return SourceConfig(**values)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def harvest(sim: RunningSimulator, clock: ManualClock) -> AsyncIterator[HarvestClient]:
    client = HarvestClient(config(sim), clock=clock)  # retry waits advance the clock: no sleeping
    yield client
    await client.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def stats(http: aiohttp.ClientSession, sim: RunningSimulator) -> dict[str, Any]:
    async with http.get(f"{sim.url}/_sim/stats") as resp:
        body: dict[str, Any] = await resp.json()
        return body


def count(body: dict[str, Any], route: str) -> int:
    return int(body["routes"].get(route, {}).get("count", 0))


async def set_faults(http: aiohttp.ClientSession, sim: RunningSimulator, faults: dict[str, Any]) -> None:
    async with http.put(f"{sim.url}/_sim/faults", json=faults) as resp:
        assert resp.status == 200


# -- reads -----------------------------------------------------------------------------------------


async def test_month_of_time_has_exact_counts_and_statuses(harvest: HarvestClient, world: World) -> None:
    start, end = OCTOBER
    expected = [e for e in world.time_entries if start <= e.spent_date <= end]
    entries = await harvest.time_entries(start=start, end=end)
    assert len(entries) == len({e.id for e in entries}) == len(expected)

    def status(e: Any) -> TimeEntryStatus:
        if e.is_billed:
            return TimeEntryStatus.BILLED
        return TimeEntryStatus.APPROVED if e.is_closed else TimeEntryStatus.UNAPPROVED

    assert Counter(e.status for e in entries) == Counter(status(e) for e in expected)
    by_id = {e.id: e for e in entries}
    sample = expected[123]
    got = by_id[sample.id]
    assert (got.date, got.hours, got.harvest_user_id, got.harvest_project_id, got.engagement_code) == (
        sample.spent_date,
        sample.hours,
        sample.person.harvest_user_id,
        sample.engagement.harvest_project_id,
        sample.engagement.code,
    )
    assert got.bill_rate == sample.billable_rate and got.cost_rate == sample.cost_rate
    september = await harvest.time_entries(start=date(2026, 9, 1), end=date(2026, 9, 30), is_billed=True)
    assert {e.status for e in september} == {TimeEntryStatus.BILLED}
    assert all(e.harvest_invoice_id is not None for e in september)


async def test_one_listing_serves_every_project_at_ceil_n_over_2000_calls(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    start, end = OCTOBER
    n = sum(start <= e.spent_date <= end for e in world.time_entries)
    before = await stats(http, sim)
    entries = await harvest.time_entries(start=start, end=end)
    after = await stats(http, sim)
    projects = {e.harvest_project_id for e in entries}
    assert len(projects) > 50  # one listing covers the whole portfolio
    assert (
        count(after, "GET /v2/time_entries") - count(before, "GET /v2/time_entries")
        == math.ceil(n / 2000)
        == 2
    )


async def test_user_assignments_by_project_ids_costs_one_call_per_project(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    ids = [e.harvest_project_id for e in world.engagements[:5]]
    route = "GET /v2/projects/{id:int}/user_assignments"
    before = count(await stats(http, sim), route)
    result = await harvest.user_assignments_by_project_ids([*ids, ids[0]])
    assert count(await stats(http, sim), route) - before == 5
    assert list(result) == ids
    for eng in world.engagements[:5]:
        expected = {
            (a.id, a.person.harvest_user_id, a.hourly_rate) for a in world.assignments if a.engagement is eng
        }
        got = result[eng.harvest_project_id]
        assert {(a.id, a.harvest_user_id, a.hourly_rate) for a in got} == expected
        assert {a.engagement_code for a in got} == {eng.code}
    assert await harvest.user_assignments_by_project_ids([1]) == {1: []}


async def test_projects_users_and_assignments_map_to_canonical(harvest: HarvestClient, world: World) -> None:
    projects = {p.harvest_project_id: p for p in await harvest.list_projects()}
    assert len(projects) == len(world.engagements)
    for e in world.engagements:
        p = projects[e.harvest_project_id]
        assert (p.code, p.billing_model, p.hourly_rate, p.budget_hours, p.is_active) == (
            e.code, BillingModel(e.billing_model), e.hourly_rate, e.budget_hours, e.is_active
        )  # fmt: skip
        assert (p.start_date, p.end_date, p.harvest_client_id) == (e.start, e.end, e.client.harvest_client_id)
    active = await harvest.list_projects(is_active=True)
    assert len(active) == sum(e.is_active for e in world.engagements)
    users = {u.id: u for u in await harvest.list_users()}
    assert len(users) == len(world.people)
    ghost = users[world.drift.person_missing_in_hr]
    person = next(p for p in world.people if p.harvest_user_id == ghost.id)
    assert (ghost.email, ghost.name, ghost.weekly_capacity_hours, ghost.cost_rate) == (
        person.email, person.name, person.weekly_capacity_hours, person.cost_rate
    )  # fmt: skip
    assignments = await harvest.list_user_assignments()
    assert len(assignments) == len(world.assignments)
    gap = next(a for a in assignments if a.id == world.drift.assignment_without_rate)
    assert gap.hourly_rate is None
    assert len(await harvest.list_clients()) == len(world.clients)
    assert len(await harvest.list_invoices()) == len(world.invoices)
    entry = world.time_entries[500]
    one = await harvest.time_entry(entry.id)
    assert one is not None and (one.id, one.date, one.hours) == (entry.id, entry.spent_date, entry.hours)
    assert await harvest.time_entry(1) is None


# -- failures --------------------------------------------------------------------------------------


async def test_429_is_retried_after_retry_after_then_succeeds(
    harvest: HarvestClient,
    http: aiohttp.ClientSession,
    sim: RunningSimulator,
    world: World,
    clock: ManualClock,
) -> None:
    with shared_clock(sim, clock):
        try:
            await set_faults(http, sim, {"rate_limit": 1, "rate_window_s": 1})
            before = await stats(http, sim)
            assert len(await harvest.list_clients()) == len(world.clients)
            assert len(await harvest.list_clients()) == len(world.clients)  # 429, waits 1 s, retried
            after = await stats(http, sim)
        finally:
            await set_faults(http, sim, DEFAULT_FAULTS)
    assert after["statuses"].get("429", 0) - before["statuses"].get("429", 0) == 1
    assert count(after, "GET /v2/clients") - count(before, "GET /v2/clients") == 3
    assert len(clock.slept) == 1 and clock.slept[0] >= 1.0  # Retry-After: 1, on the client's clock


async def test_429_with_a_long_retry_after_raises_rate_limited(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    try:
        await set_faults(http, sim, {"rate_limit": 0, "rate_window_s": 60})
        with pytest.raises(SourceRateLimited) as caught:
            await harvest.list_users()
    finally:
        await set_faults(http, sim, DEFAULT_FAULTS)
    assert caught.value.status == 429 and caught.value.code == "SOURCE_RATE_LIMITED"
    assert caught.value.retry_after is not None and 55 <= caught.value.retry_after <= 60
    assert "rate limit" in caught.value.message


async def test_outage_and_bad_token_are_unavailable(
    http: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    client = HarvestClient(config(sim, max_retries=1))
    try:
        await set_faults(http, sim, {"outage": True})
        with pytest.raises(SourceUnavailable) as outage:
            await client.list_projects()
    finally:
        await set_faults(http, sim, DEFAULT_FAULTS)
        await client.close()
    assert outage.value.status == 503
    bad = HarvestClient(config(sim, credentials={**sim.info.credentials, "access_token": "wrong"}))
    try:
        with pytest.raises(SourceUnavailable) as denied:
            await bad.list_users()
    finally:
        await bad.close()
    assert (denied.value.status, denied.value.vendor_code) == (401, "invalid_token")
    assert "expired, revoked, malformed" in denied.value.message


def test_base_url_may_already_end_in_v2(sim: RunningSimulator) -> None:
    client = HarvestClient(config(sim, base_url="https://api.harvestapp.com/v2/"))
    assert client.url("/v2/time_entries") == "https://api.harvestapp.com/v2/time_entries"
    assert HarvestClient(config(sim)).url("/v2/tasks") == f"{sim.url}/v2/tasks"
    with pytest.raises(ValueError, match="access_token"):
        HarvestClient(config(sim, credentials={"account_id": "1"}))


# -- writes (each resets the simulator) ------------------------------------------------------------


async def test_create_is_idempotent_by_external_reference_and_polls(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    a = next(a for a in world.assignments if a.is_active and a.hourly_rate is not None)
    since = datetime.now(UTC) - timedelta(seconds=1)
    kwargs: dict[str, Any] = {
        "project_id": a.engagement.harvest_project_id, "task_id": 1, "spent_date": date(2026, 11, 19),
        "hours": 2.5, "notes": "client test", "user_id": a.person.harvest_user_id,
        "external_reference": {"id": "client-test-1", "permalink": "https://example.test/t/1"},
    }  # fmt: skip
    try:
        before = count(await stats(http, sim), "POST /v2/time_entries")
        created = await harvest.create_time_entry(**kwargs)
        again = await harvest.create_time_entry(**kwargs)
        assert count(await stats(http, sim), "POST /v2/time_entries") - before == 1
        assert again.id == created.id
        assert (created.status, created.hours, created.bill_rate, created.engagement_code) == (
            TimeEntryStatus.UNAPPROVED, 2.5, a.hourly_rate, a.engagement.code
        )  # fmt: skip
        polled = await harvest.time_entries(
            start=date(2026, 11, 1), end=date(2026, 11, 30), updated_since=since
        )
        assert [e.id for e in polled] == [created.id]
        updated = await harvest.update_time_entry(
            created.id, {"hours": 3.0, "spent_date": date(2026, 11, 18)}
        )
        assert (updated.hours, updated.date) == (3.0, date(2026, 11, 18))
        with pytest.raises(SourceRejected) as rejected:
            await harvest.create_time_entry(**{**kwargs, "project_id": 1, "external_reference": None})
        assert rejected.value.status == 422 and "Project 1" in rejected.value.message
        approved = next(e for e in world.time_entries if e.is_closed)
        with pytest.raises(SourceRejected, match="locked"):
            await harvest.update_time_entry(approved.id, {"hours": 1.0})
    finally:
        async with http.post(f"{sim.url}/_sim/reset") as resp:
            assert resp.status == 200


async def test_invoice_from_time_marks_entries_billed(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    eng = next(e for e in world.engagements if e.is_active and e.billing_model == "TIME_AND_MATERIALS")
    start, end = OCTOBER
    due = [
        e for e in world.time_entries
        if e.engagement is eng and start <= e.spent_date <= end and e.is_closed and not e.is_billed
    ]  # fmt: skip
    assert due
    try:
        invoice = await harvest.create_invoice_from_time(
            eng.client.harvest_client_id, [eng.harvest_project_id], start, end, issue_date=date(2026, 11, 20)
        )
        total = sum(((e.billable_rate or Decimal(0)) * Decimal(str(e.hours)) for e in due), Decimal(0))
        assert (invoice["state"], invoice["amount"]) == ("draft", float(total.quantize(Decimal("0.01"))))
        entries = await harvest.time_entries(start=start, end=end, project_id=eng.harvest_project_id)
        billed = {e.id for e in entries if e.status is TimeEntryStatus.BILLED}
        assert billed == {e.id for e in due}
        assert {e.harvest_invoice_id for e in entries if e.id in billed} == {invoice["id"]}
    finally:
        async with http.post(f"{sim.url}/_sim/reset") as resp:
            assert resp.status == 200


async def test_create_project_round_trips_the_billing_model(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    draft = Engagement(
        code="ENG-9001",
        name="Capped Pilot",
        harvest_project_id=0,
        harvest_client_id=world.clients[0].harvest_client_id,
        billing_model=BillingModel.CAPPED,
        hourly_rate=Decimal("250"),
        start_date=date(2026, 12, 1),
        end_date=date(2027, 3, 31),
    )
    try:
        project = await harvest.create_project(draft, contract_value=Decimal("100000"))
        assert (project.code, project.billing_model, project.budget_hours) == (
            "ENG-9001",
            BillingModel.CAPPED,
            400.0,
        )
        assert project.harvest_project_id > max(e.harvest_project_id for e in world.engagements)
        person = world.people[3]
        a = await harvest.create_user_assignment(
            project.harvest_project_id, person.harvest_user_id, hourly_rate=Decimal("275"), budget_hours=80
        )
        assert (a.engagement_code, a.harvest_user_id, a.hourly_rate, a.budget_hours) == (
            "ENG-9001", person.harvest_user_id, Decimal("275.0"), 80.0
        )  # fmt: skip
        changed = await harvest.update_project(project.harvest_project_id, {"is_active": False})
        assert changed.is_active is False
        with pytest.raises(ValueError, match="contract value"):
            await harvest.create_project(draft)
    finally:
        async with http.post(f"{sim.url}/_sim/reset") as resp:
            assert resp.status == 200


# -- mapping ---------------------------------------------------------------------------------------

PROJECT = {
    "id": 7, "name": "P", "code": "ENG-1", "is_active": True, "is_fixed_fee": False,
    "budget_by": "project_cost", "budget": 10_000.0, "hourly_rate": 240.0, "client": {"id": 3},
    "starts_on": "2026-01-05", "ends_on": None,
}  # fmt: skip
ENTRY = {
    "id": 9, "spent_date": "2026-10-01", "hours": 7.5, "billable": True, "is_closed": True, "notes": None,
    "user": {"id": 1, "name": "A B"}, "project": {"id": 7, "code": "ENG-1"},
    "client": {"id": 3, "name": "C", "currency": "EUR"}, "task": {"id": 1, "name": "Delivery"},
    "billable_rate": 240.0, "cost_rate": 80.0, "invoice": None, "updated_at": "2026-10-02T09:00:00Z",
}  # fmt: skip


def test_mapping_decodes_capped_projects_and_statuses() -> None:
    capped = project_to_engagement(PROJECT)
    assert (capped.billing_model, capped.budget_hours, capped.hourly_rate) == (
        BillingModel.CAPPED, 41.0, Decimal("240.0")
    )  # fmt: skip
    assert time_entry_from_record(ENTRY).status is TimeEntryStatus.APPROVED
    assert time_entry_from_record(ENTRY).currency == "EUR"
    assert (
        time_entry_from_record({**ENTRY, "invoice": {"id": 5, "number": "X"}}).status
        is TimeEntryStatus.BILLED
    )
    assert time_entry_from_record({**ENTRY, "is_closed": False}).status is TimeEntryStatus.UNAPPROVED


@pytest.mark.parametrize(
    ("record", "mapper", "field"),
    [
        ({k: v for k, v in PROJECT.items() if k != "code"}, project_to_engagement, "code"),
        ({**ENTRY, "user": {"name": "A B"}}, time_entry_from_record, "user.id"),
        ({**ENTRY, "client": {"id": 3, "name": "C"}}, time_entry_from_record, "client.currency"),
        ({**ENTRY, "spent_date": "01/10/2026"}, time_entry_from_record, "spent_date"),
        ({**ENTRY, "hours": "lots"}, time_entry_from_record, "hours"),
        ({"id": 4, "first_name": "A", "last_name": "B", "email": "a@b", "is_active": True}, user_to_psa_user,
         "weekly_capacity"),
    ],
)  # fmt: skip
def test_mapping_errors_name_the_field(record: dict[str, Any], mapper: Any, field: str) -> None:
    with pytest.raises(SourceDataError) as caught:
        mapper(record)
    assert caught.value.field == field
    assert caught.value.record_id == str(record["id"])
    assert caught.value.code == "SOURCE_DATA_ERROR"


# -- time reports ----------------------------------------------------------------------------------

REPORT_ROUTE = "GET /v2/reports/time/projects"


def world_project_totals(world: World, start: date, end: date) -> dict[int, tuple[Any, ...]]:
    """Per project: (total hours, billable hours, billable amount, currency), in exact decimals."""
    out: dict[int, list[Any]] = {}
    for e in world.time_entries:
        if start <= e.spent_date <= end:
            row = out.setdefault(
                e.engagement.harvest_project_id,
                [Decimal(0), Decimal(0), Decimal(0), e.engagement.client.currency],
            )
            hours = Decimal(str(e.hours))
            row[0] += hours
            if e.billable:
                row[1] += hours
                row[2] += (e.billable_rate or Decimal(0)) * hours
    return {k: tuple(v) for k, v in out.items()}


async def test_project_time_totals_over_730_days_costs_one_call_per_window(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    start, end = date(2025, 1, 1), date(2026, 12, 31)
    assert (end - start).days + 1 == 730
    before = await stats(http, sim)
    totals = await harvest.project_time_totals(start, end)
    after = await stats(http, sim)
    assert count(after, REPORT_ROUTE) - count(before, REPORT_ROUTE) == 2
    assert after["total"] - before["total"] == 2
    expected = world_project_totals(world, start, end)
    # The range holds all of the world's time: every project that ever tracked time is there.
    assert len(expected) == len({e.engagement.harvest_project_id for e in world.time_entries}) == 99
    assert {
        pid: (Decimal(str(t.total_hours)), Decimal(str(t.billable_hours)), t.billable_amount, t.currency)
        for pid, t in totals.items()
    } == expected
    assert all(pid == t.harvest_project_id for pid, t in totals.items())
    # The summing across windows is exercised: many projects have time on both sides of 2026-01-01.
    spans = {
        pid: {e.spent_date.year for e in world.time_entries if e.engagement.harvest_project_id == pid}
        for pid in totals
    }
    assert sum(years == {2025, 2026} for years in spans.values()) > 10
    fixed = [e for e in world.engagements if e.billing_model == "FIXED_FEE"]
    assert all(totals[e.harvest_project_id].billable_amount > 0 for e in fixed)  # fixed fee included


async def test_project_time_totals_within_a_year_is_one_call_and_absent_without_time(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    start, end = OCTOBER
    before = count(await stats(http, sim), REPORT_ROUTE)
    totals = await harvest.project_time_totals(start, end)
    assert count(await stats(http, sim), REPORT_ROUTE) - before == 1
    expected = world_project_totals(world, start, end)
    assert len(totals) == len(expected) == 53
    assert {
        pid: (Decimal(str(t.total_hours)), Decimal(str(t.billable_hours)), t.billable_amount, t.currency)
        for pid, t in totals.items()
    } == expected
    assert await harvest.project_time_totals(date(2026, 11, 25), date(2026, 11, 30)) == {}
    assert await harvest.project_time_totals(end, start) == {}  # an empty range asks nothing
    assert count(await stats(http, sim), REPORT_ROUTE) - before == 2


def test_report_windows_are_consecutive_and_at_most_365_days() -> None:
    assert report_windows(date(2025, 1, 1), date(2026, 12, 31)) == [
        (date(2025, 1, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), date(2026, 12, 31)),
    ]
    assert report_windows(date(2024, 1, 1), date(2024, 12, 31)) == [  # a leap year: 366 days
        (date(2024, 1, 1), date(2024, 12, 30)),
        (date(2024, 12, 31), date(2024, 12, 31)),
    ]
    assert report_windows(date(2026, 5, 4), date(2026, 5, 4)) == [(date(2026, 5, 4), date(2026, 5, 4))]
    assert report_windows(date(2026, 5, 5), date(2026, 5, 4)) == []


REPORT_RESULT = {
    "project_id": 14307913, "project_name": "[MW] Marketing Website", "client_id": 5735774,
    "client_name": "ABC Corp", "total_hours": 2, "billable_hours": 2, "currency": "USD",
    "billable_amount": 200,
}  # fmt: skip


def test_project_time_totals_mapping() -> None:
    totals = project_time_totals_from_result(REPORT_RESULT)
    assert totals == ProjectTimeTotals(
        harvest_project_id=14307913,
        total_hours=2.0,
        billable_hours=2.0,
        billable_amount=Decimal("200"),
        currency="USD",
    )


@pytest.mark.parametrize(
    ("record", "field", "record_id"),
    [
        ({k: v for k, v in REPORT_RESULT.items() if k != "billable_amount"}, "billable_amount", "14307913"),
        ({k: v for k, v in REPORT_RESULT.items() if k != "currency"}, "currency", "14307913"),
        ({**REPORT_RESULT, "total_hours": "lots"}, "total_hours", "14307913"),
        ({**REPORT_RESULT, "billable_hours": None}, "billable_hours", "14307913"),
        ({**REPORT_RESULT, "project_id": "MW"}, "project_id", "MW"),
        ({k: v for k, v in REPORT_RESULT.items() if k != "project_id"}, "project_id", None),
    ],
)
def test_project_time_totals_mapping_errors_name_the_field(
    record: dict[str, Any], field: str, record_id: str | None
) -> None:
    with pytest.raises(SourceDataError) as caught:
        project_time_totals_from_result(record)
    assert (caught.value.field, caught.value.record_id, caught.value.code) == (
        field,
        record_id,
        "SOURCE_DATA_ERROR",
    )
