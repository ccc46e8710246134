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
    engagement_totals_from_result,
    harvest_id,
    project_to_engagement,
    time_entry_from_record,
    user_to_psa_user,
)
from opsgraph.connectors.harvest.writes import HarvestWriter
from opsgraph.model import BillingModel, Engagement, EngagementTimeTotals, TimeEntryStatus
from opsgraph.roles import ChangeKind, Entity
from opsgraph.roles.filters import AssignmentFilter, EngagementFilter, TimeEntryFilter
from simulators.simkit.serve import RunningSimulator, SimulatorGroup
from simulators.world import World

DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running["harvest"]


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
def writer(harvest: HarvestClient) -> HarvestWriter:
    return HarvestWriter(harvest)


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
    entries = await harvest.list_time_entries(TimeEntryFilter(start=start, end=end))
    assert len(entries) == len({e.id for e in entries}) == len(expected)
    assert {e.system for e in entries} == {"harvest"}

    def status(e: Any) -> TimeEntryStatus:
        if e.is_billed:
            return TimeEntryStatus.BILLED
        return TimeEntryStatus.APPROVED if e.is_closed else TimeEntryStatus.UNAPPROVED

    assert Counter(e.status for e in entries) == Counter(status(e) for e in expected)
    by_id = {e.id: e for e in entries}
    sample = expected[123]
    got = by_id[str(sample.id)]
    assert (got.date, got.hours, got.user_id, got.engagement_id, got.engagement_code) == (
        sample.spent_date,
        sample.hours,
        str(sample.person.harvest_user_id),
        str(sample.engagement.harvest_project_id),
        sample.engagement.code,
    )
    assert got.bill_rate == sample.billable_rate and got.cost_rate == sample.cost_rate
    september = await harvest.list_time_entries(
        TimeEntryFilter(start=date(2026, 9, 1), end=date(2026, 9, 30), is_billed=True)
    )
    assert {e.status for e in september} == {TimeEntryStatus.BILLED}
    assert all(e.invoice_id is not None for e in september)
    billed = [
        e for e in world.time_entries if e.is_billed and date(2026, 9, 1) <= e.spent_date <= date(2026, 9, 30)
    ]
    assert sorted(e.id for e in september) == sorted(str(e.id) for e in billed)


async def test_one_listing_serves_every_project_at_ceil_n_over_2000_calls(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    start, end = OCTOBER
    n = sum(start <= e.spent_date <= end for e in world.time_entries)
    before = await stats(http, sim)
    entries = await harvest.list_time_entries(TimeEntryFilter(start=start, end=end))
    after = await stats(http, sim)
    projects = {e.engagement_id for e in entries}
    assert len(projects) > 50  # one listing covers the whole portfolio
    assert (
        count(after, "GET /v2/time_entries") - count(before, "GET /v2/time_entries")
        == math.ceil(n / 2000)
        == 2
    )


async def test_assignments_by_engagement_ids_cost_one_call_per_project(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    ids = [str(e.harvest_project_id) for e in world.engagements[:5]]
    route = "GET /v2/projects/{id:int}/user_assignments"
    before = count(await stats(http, sim), route)
    result = await harvest.assignments_by_engagement_ids([*ids, ids[0]])
    assert count(await stats(http, sim), route) - before == 5
    assert list(result) == ids
    for eng in world.engagements[:5]:
        expected = {
            (str(a.id), str(a.person.harvest_user_id), a.hourly_rate)
            for a in world.assignments
            if a.engagement is eng
        }
        got = result[str(eng.harvest_project_id)]
        assert {(a.id, a.user_id, a.hourly_rate) for a in got} == expected
        assert {(a.engagement_code, a.engagement_id) for a in got} == {
            (eng.code, str(eng.harvest_project_id))
        }
    before = count(await stats(http, sim), route)
    assert await harvest.assignments_by_engagement_ids(["1"]) == {"1": []}  # unknown: a 404
    assert count(await stats(http, sim), route) - before == 1
    assert await harvest.assignments_by_engagement_ids(MALFORMED) == {i: [] for i in MALFORMED}
    assert count(await stats(http, sim), route) - before == 1  # malformed ids cost nothing


async def test_engagements_users_and_assignments_map_to_canonical(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    before = count(await stats(http, sim), "GET /v2/projects")
    listed = await harvest.list_engagements()
    assert count(await stats(http, sim), "GET /v2/projects") - before == 1
    assert [e.id for e in listed] == sorted((e.id for e in listed), key=int)  # ordered by id
    projects = {p.id: p for p in listed}
    assert len(projects) == len(world.engagements)
    for e in world.engagements:
        p = projects[str(e.harvest_project_id)]
        assert (p.code, p.billing_model, p.hourly_rate, p.budget_hours, p.is_active) == (
            e.code, BillingModel(e.billing_model), e.hourly_rate, e.budget_hours, e.is_active
        )  # fmt: skip
        assert (p.start_date, p.end_date, p.psa_client_id) == (
            e.start,
            e.end,
            str(e.client.harvest_client_id),
        )
        assert (p.system, p.key) == ("harvest", f"harvest:{e.harvest_project_id}")
    active = await harvest.list_engagements(EngagementFilter(is_active=True))
    assert len(active) == sum(e.is_active for e in world.engagements)
    assert {e.is_active for e in await harvest.list_engagements(EngagementFilter(is_active=False))} == {False}
    users = {u.id: u for u in await harvest.list_users()}
    assert len(users) == len(world.people)
    ghost = users[str(world.drift.person_missing_in_hr)]
    person = next(p for p in world.people if str(p.harvest_user_id) == ghost.id)
    assert (ghost.email, ghost.name, ghost.weekly_capacity_hours, ghost.cost_rate) == (
        person.email, person.name, person.weekly_capacity_hours, person.cost_rate
    )  # fmt: skip
    assignments = await harvest.list_assignments()
    assert len(assignments) == len(world.assignments)
    gap = next(a for a in assignments if a.id == str(world.drift.assignment_without_rate))
    assert gap.hourly_rate is None
    inactive = await harvest.list_assignments(AssignmentFilter(is_active=False))
    assert len(inactive) == sum(not a.is_active for a in world.assignments)
    assert {a.is_active for a in inactive} == {False}


# -- reads by ids and codes ------------------------------------------------------------------------

MALFORMED = ["abc", "", "¹", "١٢", "12¹", "-5", "0", "007", "9" * 30, str(2**63)]
"""Not shaped like a Harvest id: absent (or `[]`) without a request."""


def test_harvest_ids_are_positive_ascii_integers_within_64_bits() -> None:
    assert [harvest_id(i) for i in ("1", "3300000", str(2**63 - 1))] == [1, 3300000, 2**63 - 1]
    assert {harvest_id(i) for i in MALFORMED} == {None}


async def test_time_entries_by_ids_get_each_id_once_and_leave_unknown_and_malformed_absent(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    route = "GET /v2/time_entries/{id:int}"
    picked = [world.time_entries[500], world.time_entries[9000]]
    ids = [str(e.id) for e in picked]
    before = await stats(http, sim)
    found = await harvest.time_entries_by_ids([*ids, ids[0], "1", *MALFORMED])
    after = await stats(http, sim)
    assert count(after, route) - count(before, route) == 3  # two known and one unknown id, once each
    assert after["total"] - before["total"] == 3
    assert list(found) == ids
    for entry in picked:
        got = found[str(entry.id)]
        assert (got.id, got.date, got.hours, got.engagement_id) == (
            str(entry.id), entry.spent_date, entry.hours, str(entry.engagement.harvest_project_id)
        )  # fmt: skip
    assert await harvest.time_entries_by_ids(MALFORMED) == {}
    assert (await stats(http, sim))["total"] == after["total"]


async def test_engagements_by_ids_get_few_and_list_many(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    one_route, list_route = "GET /v2/projects/{id:int}", "GET /v2/projects"

    def projects(snapshot: dict[str, Any]) -> int:
        """Project reads only: the session's simulator may also serve other tests' background work."""
        return count(snapshot, one_route) + count(snapshot, list_route)

    few = [str(e.harvest_project_id) for e in world.engagements[:2]]
    before = await stats(http, sim)
    found = await harvest.engagements_by_ids([*few, few[1], "1", *MALFORMED])
    after = await stats(http, sim)
    assert (count(after, one_route) - count(before, one_route), projects(after) - projects(before)) == (3, 3)
    assert {i: e.code for i, e in found.items()} == {
        str(e.harvest_project_id): e.code for e in world.engagements[:2]
    }
    many = [str(e.harvest_project_id) for e in world.engagements[:40]]
    found = await harvest.engagements_by_ids([*many, "1", *MALFORMED])
    later = await stats(http, sim)
    assert (count(later, list_route) - count(after, list_route), projects(later) - projects(after)) == (1, 1)
    assert list(found) == many and all(found[i].id == i for i in many)
    assert await harvest.engagements_by_ids(MALFORMED) == {}
    assert projects(await stats(http, sim)) == projects(later)


async def test_engagements_by_codes_pick_from_one_listing(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    codes = [e.code for e in world.engagements[3:6]]
    before = await stats(http, sim)
    found = await harvest.engagements_by_codes([*codes, codes[0], "ENG-NONE", ""])
    after = await stats(http, sim)
    assert after["total"] - before["total"] == 1
    assert {c: e.id for c, e in found.items()} == {
        e.code: str(e.harvest_project_id) for e in world.engagements[3:6]
    }
    assert await harvest.engagements_by_codes(["", ""]) == {}
    assert (await stats(http, sim))["total"] == after["total"]


async def test_time_entry_filter_is_pushed_down(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    start, end = OCTOBER
    entry = next(e for e in world.time_entries if start <= e.spent_date <= end and not e.is_billed)
    project, user = str(entry.engagement.harvest_project_id), str(entry.person.harvest_user_id)
    expected = [
        e for e in world.time_entries
        if start <= e.spent_date <= end and e.engagement is entry.engagement and e.person is entry.person
        and not e.is_billed
    ]  # fmt: skip
    before = count(await stats(http, sim), "GET /v2/time_entries")
    got = await harvest.list_time_entries(
        TimeEntryFilter(start=start, end=end, engagement_id=project, user_id=user, is_billed=False)
    )
    assert count(await stats(http, sim), "GET /v2/time_entries") - before == 1
    assert sorted(e.id for e in got) == sorted(str(e.id) for e in expected)
    assert [e.date for e in got] == sorted((e.date for e in got), reverse=True)  # newest first
    nothing = TimeEntryFilter(start=start, end=end, engagement_id="abc")
    assert await harvest.list_time_entries(nothing) == []
    assert count(await stats(http, sim), "GET /v2/time_entries") - before == 1


async def test_probe_is_one_cheap_read_and_raises_when_down(
    http: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    client = HarvestClient(config(sim, max_retries=0), system="psa-na")
    try:
        assert client.system == "psa-na"
        before = await stats(http, sim)
        await client.probe()
        after = await stats(http, sim)
        assert (count(after, "GET /v2/tasks") - count(before, "GET /v2/tasks"), after["total"]) == (
            1, before["total"] + 1
        )  # fmt: skip
        await set_faults(http, sim, {"outage": True})
        with pytest.raises(SourceUnavailable) as down:
            await client.probe()
        assert (down.value.status, down.value.system) == (503, "psa-na")
    finally:
        await set_faults(http, sim, DEFAULT_FAULTS)
        await client.close()
    bad = HarvestClient(config(sim, credentials={**sim.info.credentials, "access_token": "wrong"}))
    try:
        with pytest.raises(SourceUnavailable) as denied:
            await bad.probe()
    finally:
        await bad.close()
    assert denied.value.status == 401


# -- change polling (each resets the simulator) ----------------------------------------------------


async def sim_event(
    http: aiohttp.ClientSession, sim: RunningSimulator, body: dict[str, Any]
) -> dict[str, Any]:
    async with http.post(f"{sim.url}/_sim/events", json=body) as resp:
        assert resp.status == 200, await resp.text()
        answer: dict[str, Any] = await resp.json()
        return answer


def change_case(world: World, entity: Entity) -> tuple[datetime, list[str], list[dict[str, Any]]]:
    """(the world's latest change of `entity`, the ids the events change, the events): edits done in
    Harvest's UI, each stamping `updated_at`."""
    if entity is Entity.ENGAGEMENT:
        engs = world.engagements[7:9]
        events = [
            {"type": "update_project", "id": e.harvest_project_id, "fields": {"name": f"Renamed {e.code}"}}
            for e in engs
        ]
        return (
            max(e.modified_at for e in world.engagements),
            [str(e.harvest_project_id) for e in engs],
            events,
        )
    if entity is Entity.ASSIGNMENT:
        picked = world.assignments[10:12]
        events = [{"type": "update_user_assignment", "id": a.id, "fields": {"budget": 99}} for a in picked]
        return max(a.engagement.modified_at for a in world.assignments), [str(a.id) for a in picked], events
    pending = [e for e in world.time_entries if not e.is_closed and not e.is_billed][:2]
    latest = max(e.updated_at for e in world.time_entries)
    return (
        latest,
        [str(e.id) for e in pending],
        [{"type": "approve_time_entries", "ids": [e.id for e in pending]}],
    )


@pytest.mark.parametrize("entity", [Entity.ENGAGEMENT, Entity.ASSIGNMENT, Entity.TIME_ENTRY])
async def test_changed_since_finds_what_changed_and_moves_the_mark(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World, entity: Entity
) -> None:
    since, ids, events = change_case(world, entity)
    try:
        quiet = await harvest.changed_since(entity, since)  # Harvest answers `>=`: the equal ones are cut
        assert (quiet.entity, quiet.since, quiet.high_water, quiet.changes) == (entity, since, since, ())
        for body in events:
            await sim_event(http, sim, body)
        batch = await harvest.changed_since(entity, since)
        assert [c.id for c in batch.changes] == sorted(ids, key=int)  # same second: by id
        assert {c.kind for c in batch.changes} == {ChangeKind.UPSERTED}
        moments = [c.modified_at for c in batch.changes if c.modified_at is not None]
        assert len(moments) == len(ids) and moments == sorted(moments)
        assert batch.high_water == moments[-1] and batch.high_water > since
        again = await harvest.changed_since(entity, batch.high_water)
        assert (again.high_water, again.changes) == (batch.high_water, ())
    finally:
        async with http.post(f"{sim.url}/_sim/reset") as resp:
            assert resp.status == 200
    if entity is Entity.TIME_ENTRY:
        return
    assert (await harvest.changed_since(entity, since)).changes == ()  # the reset undid the edits


async def test_changed_since_refuses_what_a_psa_does_not_poll(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    before = (await stats(http, sim))["total"]
    for entity in (Entity.CLIENT, Entity.RESOURCE, Entity.INVOICE):
        with pytest.raises(ValueError, match="does not poll"):
            await harvest.changed_since(entity, datetime(2026, 1, 1, tzinfo=UTC))
    assert (await stats(http, sim))["total"] == before


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
            assert len(await harvest.list_users()) == len(world.people)
            assert len(await harvest.list_users()) == len(world.people)  # 429, waits 1 s, retried
            after = await stats(http, sim)
        finally:
            await set_faults(http, sim, DEFAULT_FAULTS)
    assert after["statuses"].get("429", 0) - before["statuses"].get("429", 0) == 1
    assert count(after, "GET /v2/users") - count(before, "GET /v2/users") == 3
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
            await client.list_engagements()
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
    harvest: HarvestClient,
    writer: HarvestWriter,
    http: aiohttp.ClientSession,
    sim: RunningSimulator,
    world: World,
) -> None:
    a = next(a for a in world.assignments if a.is_active and a.hourly_rate is not None)
    since = datetime.now(UTC) - timedelta(seconds=1)
    kwargs: dict[str, Any] = {
        "engagement_id": str(a.engagement.harvest_project_id), "task_id": "1",
        "spent_date": date(2026, 11, 19), "hours": 2.5, "notes": "client test",
        "user_id": str(a.person.harvest_user_id),
        "external_reference": {"id": "client-test-1", "permalink": "https://example.test/t/1"},
    }  # fmt: skip
    try:
        before = count(await stats(http, sim), "POST /v2/time_entries")
        created = await writer.create_time_entry(**kwargs)
        again = await writer.create_time_entry(**kwargs)
        assert count(await stats(http, sim), "POST /v2/time_entries") - before == 1
        assert again.id == created.id
        assert (created.status, created.hours, created.bill_rate, created.engagement_code) == (
            TimeEntryStatus.UNAPPROVED, 2.5, a.hourly_rate, a.engagement.code
        )  # fmt: skip
        polled = await harvest.list_time_entries(
            TimeEntryFilter(start=date(2026, 11, 1), end=date(2026, 11, 30), updated_since=since)
        )
        assert [e.id for e in polled] == [created.id]
        updated = await writer.update_time_entry(created.id, {"hours": 3.0, "spent_date": date(2026, 11, 18)})
        assert (updated.hours, updated.date) == (3.0, date(2026, 11, 18))
        with pytest.raises(SourceRejected) as rejected:
            await writer.create_time_entry(**{**kwargs, "engagement_id": "1", "external_reference": None})
        assert rejected.value.status == 422 and "Project 1" in rejected.value.message
        approved = next(e for e in world.time_entries if e.is_closed)
        with pytest.raises(SourceRejected, match="locked"):
            await writer.update_time_entry(str(approved.id), {"hours": 1.0})
        with pytest.raises(ValueError, match="project"):
            await writer.create_time_entry(**{**kwargs, "engagement_id": "abc"})
    finally:
        async with http.post(f"{sim.url}/_sim/reset") as resp:
            assert resp.status == 200


async def test_invoice_from_time_marks_entries_billed(
    harvest: HarvestClient,
    writer: HarvestWriter,
    http: aiohttp.ClientSession,
    sim: RunningSimulator,
    world: World,
) -> None:
    eng = next(e for e in world.engagements if e.is_active and e.billing_model == "TIME_AND_MATERIALS")
    start, end = OCTOBER
    due = [
        e for e in world.time_entries
        if e.engagement is eng and start <= e.spent_date <= end and e.is_closed and not e.is_billed
    ]  # fmt: skip
    assert due
    try:
        project = str(eng.harvest_project_id)
        invoice = await writer.create_invoice_from_time(
            str(eng.client.harvest_client_id), [project], start, end, issue_date=date(2026, 11, 20)
        )
        total = sum(((e.billable_rate or Decimal(0)) * Decimal(str(e.hours)) for e in due), Decimal(0))
        assert (invoice["state"], invoice["amount"]) == ("draft", float(total.quantize(Decimal("0.01"))))
        entries = await harvest.list_time_entries(
            TimeEntryFilter(start=start, end=end, engagement_id=project)
        )
        billed = {e.id for e in entries if e.status is TimeEntryStatus.BILLED}
        assert billed == {str(e.id) for e in due}
        assert {e.invoice_id for e in entries if e.id in billed} == {str(invoice["id"])}
    finally:
        async with http.post(f"{sim.url}/_sim/reset") as resp:
            assert resp.status == 200


async def test_create_project_round_trips_the_billing_model(
    writer: HarvestWriter, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    draft = Engagement(
        system="harvest",
        id="draft",
        code="ENG-9001",
        name="Capped Pilot",
        psa_client_id=str(world.clients[0].harvest_client_id),
        billing_model=BillingModel.CAPPED,
        hourly_rate=Decimal("250"),
        start_date=date(2026, 12, 1),
        end_date=date(2027, 3, 31),
    )
    try:
        project = await writer.create_project(draft, contract_value=Decimal("100000"))
        assert (project.code, project.billing_model, project.budget_hours) == (
            "ENG-9001",
            BillingModel.CAPPED,
            400.0,
        )
        assert int(project.id) > max(e.harvest_project_id for e in world.engagements)
        person = world.people[3]
        a = await writer.create_user_assignment(
            project.id, str(person.harvest_user_id), hourly_rate=Decimal("275"), budget_hours=80
        )
        assert (a.engagement_code, a.engagement_id, a.user_id, a.hourly_rate, a.budget_hours) == (
            "ENG-9001", project.id, str(person.harvest_user_id), Decimal("275.0"), 80.0
        )  # fmt: skip
        changed = await writer.update_project(project.id, {"is_active": False})
        assert changed.is_active is False
        with pytest.raises(ValueError, match="contract value"):
            await writer.create_project(draft)
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
    capped = project_to_engagement(PROJECT, "psa-na")
    assert (capped.billing_model, capped.budget_hours, capped.hourly_rate) == (
        BillingModel.CAPPED, 41.0, Decimal("240.0")
    )  # fmt: skip
    assert (capped.system, capped.id, capped.psa_client_id, capped.key) == ("psa-na", "7", "3", "psa-na:7")
    entry = time_entry_from_record(ENTRY, "psa-na")
    assert (entry.status, entry.currency, entry.system) == (TimeEntryStatus.APPROVED, "EUR", "psa-na")
    assert (entry.id, entry.user_id, entry.engagement_id, entry.invoice_id) == ("9", "1", "7", None)
    assert entry.updated_at == datetime(2026, 10, 2, 9, tzinfo=UTC)
    billed = time_entry_from_record({**ENTRY, "invoice": {"id": 5, "number": "X"}}, "psa-na")
    assert (billed.status, billed.invoice_id) == (TimeEntryStatus.BILLED, "5")
    assert time_entry_from_record({**ENTRY, "is_closed": False}, "h").status is TimeEntryStatus.UNAPPROVED


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
        ({**PROJECT, "id": "7"}, project_to_engagement, "id"),
        ({**PROJECT, "is_active": None}, project_to_engagement, "is_active"),
        ({**PROJECT, "client": {"id": True}}, project_to_engagement, "client.id"),
        ({**ENTRY, "invoice": {"id": "5"}}, time_entry_from_record, "invoice.id"),
        ({**ENTRY, "updated_at": "yesterday"}, time_entry_from_record, "updated_at"),
    ],
)  # fmt: skip
def test_mapping_errors_name_the_field(record: dict[str, Any], mapper: Any, field: str) -> None:
    with pytest.raises(SourceDataError) as caught:
        mapper(record, "psa-na")
    assert (caught.value.field, caught.value.system) == (field, "psa-na")
    assert caught.value.record_id == str(record["id"])
    assert caught.value.code == "SOURCE_DATA_ERROR"


# -- time reports ----------------------------------------------------------------------------------

REPORT_ROUTE = "GET /v2/reports/time/projects"


def world_project_totals(world: World, start: date, end: date) -> dict[str, tuple[Any, ...]]:
    """Per project id: (total hours, billable hours, billable amount, currency), in exact decimals."""
    out: dict[str, list[Any]] = {}
    for e in world.time_entries:
        if start <= e.spent_date <= end:
            row = out.setdefault(
                str(e.engagement.harvest_project_id),
                [Decimal(0), Decimal(0), Decimal(0), e.engagement.client.currency],
            )
            hours = Decimal(str(e.hours))
            row[0] += hours
            if e.billable:
                row[1] += hours
                row[2] += (e.billable_rate or Decimal(0)) * hours
    return {k: tuple(v) for k, v in out.items()}


async def test_hours_by_engagement_over_730_days_costs_one_call_per_window(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    start, end = date(2025, 1, 1), date(2026, 12, 31)
    assert (end - start).days + 1 == 730
    before = await stats(http, sim)
    totals = await harvest.hours_by_engagement(start, end)
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
    assert all(pid == t.engagement_id for pid, t in totals.items())
    # The summing across windows is exercised: many projects have time on both sides of 2026-01-01.
    spans = {
        pid: {e.spent_date.year for e in world.time_entries if str(e.engagement.harvest_project_id) == pid}
        for pid in totals
    }
    assert sum(years == {2025, 2026} for years in spans.values()) > 10
    fixed = [e for e in world.engagements if e.billing_model == "FIXED_FEE"]
    assert all(totals[str(e.harvest_project_id)].billable_amount > 0 for e in fixed)  # fixed fee included


async def test_hours_by_engagement_within_a_year_is_one_call_and_absent_without_time(
    harvest: HarvestClient, http: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    start, end = OCTOBER
    before = count(await stats(http, sim), REPORT_ROUTE)
    totals = await harvest.hours_by_engagement(start, end)
    assert count(await stats(http, sim), REPORT_ROUTE) - before == 1
    expected = world_project_totals(world, start, end)
    assert len(totals) == len(expected) == 53
    assert {
        pid: (Decimal(str(t.total_hours)), Decimal(str(t.billable_hours)), t.billable_amount, t.currency)
        for pid, t in totals.items()
    } == expected
    assert await harvest.hours_by_engagement(date(2026, 11, 25), date(2026, 11, 30)) == {}
    assert await harvest.hours_by_engagement(end, start) == {}  # an empty range asks nothing
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


def test_engagement_totals_mapping() -> None:
    totals = engagement_totals_from_result(REPORT_RESULT, "harvest")
    assert totals == EngagementTimeTotals(
        engagement_id="14307913",
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
def test_engagement_totals_mapping_errors_name_the_field(
    record: dict[str, Any], field: str, record_id: str | None
) -> None:
    with pytest.raises(SourceDataError) as caught:
        engagement_totals_from_result(record, "harvest")
    assert (caught.value.field, caught.value.record_id, caught.value.code) == (
        field,
        record_id,
        "SOURCE_DATA_ERROR",
    )
