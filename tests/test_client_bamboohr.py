"""BambooHR connector against the simulator over a real socket, and its mapping on bad records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import pytest
from sim_clock import shared_clock

from opsgraph.clock import ManualClock
from opsgraph.connectors.bamboohr.client import BambooHRClient
from opsgraph.connectors.bamboohr.mapping import employee_to_resource, time_off_from_record
from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.errors import SourceDataError, SourceRateLimited, SourceUnavailable
from opsgraph.model import Money, Resource, ResourceStatus, TimeOff
from opsgraph.roles import ChangeKind, Entity, HrPort
from opsgraph.roles.filters import TimeOffFilter
from simulators.simkit.serve import RunningSimulator, SimulatorGroup
from simulators.world import Person, World

DEFAULT_FAULTS = {
    "latency_ms": 0,
    "jitter_ms": 0,
    "error_rate": 0,
    "outage": False,
    "rate_limit": None,
    "rate_window_s": 15.0,
}


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running["bamboohr"]


def make_client(
    sim: RunningSimulator, clock: ManualClock | None = None, system: str | None = None, **overrides: Any
) -> BambooHRClient:
    """A client on a `ManualClock`: its retry waits advance the clock instead of sleeping."""
    config = SourceConfig(
        base_url=sim.url + sim.info.api_path,
        credentials=dict(sim.info.credentials),
        retry_backoff_s=0.01,
        **overrides,
    )
    return BambooHRClient(config, system=system, clock=clock or ManualClock())


@pytest.fixture
async def client(sim: RunningSimulator) -> AsyncIterator[BambooHRClient]:
    c = make_client(sim)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def admin(sim: RunningSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sim.url) as session:
        yield session


async def stats(admin: aiohttp.ClientSession) -> dict[str, Any]:
    async with admin.get("/_sim/stats") as resp:
        body: dict[str, Any] = await resp.json()
        return body


def list_calls(body: dict[str, Any], sim: RunningSimulator) -> int:
    return int(body["routes"].get(f"GET {sim.info.api_path}/employees", {}).get("count", 0))


def hr_people(world: World) -> list[Person]:
    return [p for p in world.people if p.bamboo_id is not None]


def expected_resource(p: Person) -> Resource:
    assert p.bamboo_id is not None
    return Resource(
        system="bamboohr",
        id=p.bamboo_id,
        name=p.name,
        first_name=p.first,
        last_name=p.last,
        email=p.email,
        title=p.title,
        department=p.department,
        division=p.division,
        location=p.location,
        status=ResourceStatus.ACTIVE,
        manager_id=p.supervisor.bamboo_id if p.supervisor else None,
        hire_date=p.hire_date,
        cost_rate=Money.of(p.cost_rate, "USD"),
    )


async def test_200_ids_cost_one_call_and_missing_ids_are_absent(
    client: BambooHRClient, admin: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    ids = [str(i) for i in range(100, 300)]
    before = list_calls(await stats(admin), sim)
    found = await client.resources_by_ids(ids)
    assert list_calls(await stats(admin), sim) - before == 1
    by_id = {p.bamboo_id or "": p for p in hr_people(world)}
    assert set(found) == set(by_id) and len(found) == 149
    assert list(found) == [i for i in ids if i in by_id]  # in the order asked
    ghost_id = str(100 + next(i for i, p in enumerate(world.people) if p.bamboo_id is None))  # the drift
    assert ghost_id in ids and ghost_id not in found
    for employee_id, person in by_id.items():
        assert found[employee_id] == expected_resource(person)
        assert found[employee_id].key == f"bamboohr:{employee_id}"


async def test_300_ids_cost_two_calls(
    client: BambooHRClient, admin: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    ids = [str(i) for i in range(1, 301)]
    before = list_calls(await stats(admin), sim)
    found = await client.resources_by_ids([*ids, "abc", "1", "1"])
    assert list_calls(await stats(admin), sim) - before == 2
    assert len(found) == 149
    assert "abc" not in found and "1" not in found
    assert None not in found.values()


@pytest.mark.parametrize("bad", ["abc", "", "\u00b9", "\u0661\u0662", "1" * 30, "-5", "1.0", " 100"])
async def test_malformed_ids_are_absent_and_cost_no_request(
    client: BambooHRClient, admin: aiohttp.ClientSession, sim: RunningSimulator, bad: str
) -> None:
    before = (await stats(admin))["total"]
    assert await client.resources_by_ids([bad, bad]) == {}
    assert (
        await client.list_time_off(
            TimeOffFilter(start=date(2026, 1, 1), end=date(2026, 12, 31), resource_id=bad)
        )
        == []
    )
    assert (await stats(admin))["total"] == before  # no request at all


async def test_unknown_ids_are_absent(client: BambooHRClient, world: World) -> None:
    known = hr_people(world)[3].bamboo_id or ""
    found = await client.resources_by_ids(["99999", known, "99999"])
    assert list(found) == [known]
    assert await client.resources_by_ids([]) == {}


async def test_list_resources_equals_the_world(client: BambooHRClient, world: World) -> None:
    resources = await client.list_resources()
    assert resources == [expected_resource(p) for p in hr_people(world)]
    assert isinstance(client, HrPort) and client.system == "bamboohr"


async def test_system_name_is_set_on_every_record(sim: RunningSimulator, world: World) -> None:
    client = make_client(sim, system="hr-emea")
    try:
        person = hr_people(world)[7]
        found = await client.resources_by_ids([person.bamboo_id or ""])
        assert found[person.bamboo_id or ""] == expected_resource(person).model_copy(
            update={"system": "hr-emea"}
        )
        window = TimeOffFilter(start=date(2026, 9, 1), end=date(2026, 12, 31))
        assert {t.system for t in await client.list_time_off(window)} == {"hr-emea"}
    finally:
        await client.close()


async def test_time_off_equals_the_world(client: BambooHRClient, world: World) -> None:
    start, end = date(2026, 9, 1), date(2026, 12, 31)
    got = await client.list_time_off(TimeOffFilter(start=start, end=end))
    expected = [
        TimeOff(
            system="bamboohr",
            id=str(t.id),
            resource_id=t.person.bamboo_id or "",
            start=t.start,
            end=t.end,
            amount_days=t.days,
            kind=t.kind,
            status="approved",
        )
        for t in world.time_off
        if t.status == "approved" and t.person.bamboo_id and t.start <= end and t.end >= start
    ]
    assert len(expected) > 20
    assert sorted(got, key=lambda t: int(t.id)) == sorted(expected, key=lambda t: int(t.id))
    requested = await client.list_time_off(TimeOffFilter(start=start, end=end, status="requested"))
    assert {t.id for t in requested} == {
        str(t.id)
        for t in world.time_off
        if t.status == "requested" and t.person.bamboo_id and t.start <= end and t.end >= start
    }
    one = expected[0].resource_id
    mine = await client.list_time_off(TimeOffFilter(start=start, end=end, resource_id=one))
    assert sorted(t.id for t in mine) == sorted(t.id for t in expected if t.resource_id == one)


async def test_changed_since_finds_an_employee_changed_in_bamboohr(
    client: BambooHRClient, admin: aiohttp.ClientSession, world: World
) -> None:
    person = hr_people(world)[30]
    employee_id = person.bamboo_id or ""
    try:
        baseline = await client.changed_since(Entity.RESOURCE, datetime(2000, 1, 1, tzinfo=UTC))
        assert len(baseline.changes) == len({c.id for c in baseline.changes}) >= len(hr_people(world))
        stamps = [c.modified_at for c in baseline.changes]
        assert stamps == sorted(stamps)  # type: ignore[type-var]
        assert baseline.high_water == max(stamps)  # type: ignore[type-var]
        mark = baseline.high_water
        async with admin.post(
            "/_sim/events",
            json={"type": "change_employee", "id": employee_id, "fields": {"customCostRate": "101.50"}},
        ) as resp:
            assert resp.status == 200
            changed_at = datetime.fromisoformat((await resp.json())["lastChanged"])
        batch = await client.changed_since(Entity.RESOURCE, mark)
        assert [(c.id, c.kind, c.modified_at) for c in batch.changes] == [
            (employee_id, ChangeKind.UPSERTED, changed_at)
        ]
        assert (batch.since, batch.high_water) == (mark, changed_at) and changed_at > mark
        again = await client.changed_since(Entity.RESOURCE, batch.high_water)
        assert (again.changes, again.high_water) == ((), batch.high_water)
        updated = (await client.resources_by_ids([employee_id]))[employee_id]
        assert updated.cost_rate == Money.of("101.50")
        with pytest.raises(ValueError, match="resource"):
            await client.changed_since(Entity.CLIENT, mark)
    finally:
        await admin.post("/_sim/reset")


async def test_a_deleted_employee_is_a_deleted_change(
    client: BambooHRClient, admin: aiohttp.ClientSession, world: World
) -> None:
    managers = {p.supervisor.bamboo_id for p in hr_people(world) if p.supervisor is not None}
    employee_id = next(p.bamboo_id or "" for p in hr_people(world) if p.bamboo_id not in managers)
    try:
        mark = (await client.changed_since(Entity.RESOURCE, datetime(2000, 1, 1, tzinfo=UTC))).high_water
        async with admin.post("/_sim/events", json={"type": "delete_employee", "id": employee_id}) as resp:
            assert resp.status == 200
        batch = await client.changed_since(Entity.RESOURCE, mark)
        assert [(c.id, c.kind) for c in batch.changes] == [(employee_id, ChangeKind.DELETED)]
        assert await client.resources_by_ids([employee_id]) == {}
        assert (await client.changed_since(Entity.RESOURCE, batch.high_water)).changes == ()
    finally:
        await admin.post("/_sim/reset")


async def test_probe_up_and_down(sim: RunningSimulator, admin: aiohttp.ClientSession) -> None:
    client = make_client(sim, max_retries=0)
    try:
        before = list_calls(await stats(admin), sim)
        await client.probe()  # answers without raising
        assert list_calls(await stats(admin), sim) - before == 1
        await admin.put("/_sim/faults", json={"outage": True})
        with pytest.raises(SourceUnavailable) as info:
            await client.probe()
        assert info.value.status == 503 and info.value.system == "bamboohr"
    finally:
        await admin.put("/_sim/faults", json=DEFAULT_FAULTS)
        await client.close()


async def test_rate_limit_is_retried_then_succeeds(
    sim: RunningSimulator, admin: aiohttp.ClientSession, world: World
) -> None:
    ids = [hr_people(world)[0].bamboo_id or ""]
    with shared_clock(sim) as clock:
        client = make_client(sim, clock)
        try:
            await rate_limited_once_then_served(client, admin, clock, ids)
        finally:
            await client.close()


async def rate_limited_once_then_served(
    client: BambooHRClient, admin: aiohttp.ClientSession, clock: ManualClock, ids: list[str]
) -> None:
    try:
        for status in (503, 429):
            await admin.post("/_sim/events", json={"type": "set_rate_limit_status", "status": status})
            await admin.put("/_sim/faults", json={"rate_limit": 1, "rate_window_s": 0.5})
            before = (await stats(admin))["statuses"]
            await client.resources_by_ids(ids)  # uses the window's only request
            slept = len(clock.slept)
            found = await client.resources_by_ids(ids)  # limited once, waits out Retry-After, then succeeds
            assert len(clock.slept) == slept + 1 and clock.slept[-1] >= 1.0  # Retry-After: 1
            assert ids[0] in found
            after = (await stats(admin))["statuses"]
            assert after.get(str(status), 0) - before.get(str(status), 0) == 1
            assert after["200"] - before.get("200", 0) == 2
    finally:
        await admin.put("/_sim/faults", json=DEFAULT_FAULTS)
        await admin.post("/_sim/events", json={"type": "set_rate_limit_status", "status": 503})


async def test_rate_limited_when_the_budget_is_zero(
    sim: RunningSimulator, admin: aiohttp.ClientSession
) -> None:
    client = make_client(sim, max_retries=2)
    try:
        await admin.put("/_sim/faults", json={"rate_limit": 0, "rate_window_s": 1})
        before = (await stats(admin))["statuses"].get("503", 0)
        with pytest.raises(SourceRateLimited) as info:
            await client.resources_by_ids(["100"])
        assert (await stats(admin))["statuses"]["503"] - before == 3  # first try and two retries
        assert info.value.status == 503
        assert info.value.retry_after == 1.0
        assert info.value.code == "SOURCE_RATE_LIMITED"
        assert info.value.message == "rate limited: API rate limit exceeded."
        await admin.put("/_sim/faults", json={"rate_limit": 0, "rate_window_s": 60})
        with pytest.raises(SourceRateLimited) as info:  # a wait past retry_max_wait_s fails at once
            await client.list_time_off(TimeOffFilter(start=date(2026, 1, 1), end=date(2026, 1, 31)))
        assert info.value.retry_after is not None and info.value.retry_after > 5
    finally:
        await admin.put("/_sim/faults", json=DEFAULT_FAULTS)
        await client.close()


async def test_outage_and_bad_key_are_unavailable(
    sim: RunningSimulator, admin: aiohttp.ClientSession
) -> None:
    client = make_client(sim, max_retries=1)
    try:
        await admin.put("/_sim/faults", json={"outage": True})
        with pytest.raises(SourceUnavailable) as info:
            await client.list_resources()
        assert info.value.status == 503
        assert info.value.code == "SOURCE_UNAVAILABLE"
    finally:
        await admin.put("/_sim/faults", json=DEFAULT_FAULTS)
        await client.close()
    config = SourceConfig(
        base_url=sim.url, credentials={"api_key": "nope", "company_domain": "opsgraphfirm"}, max_retries=0
    )
    bad = BambooHRClient(config)
    try:
        with pytest.raises(SourceUnavailable) as info:
            await bad.probe()
        assert (info.value.status, info.value.message) == (401, "authentication failed: Invalid API key.")
    finally:
        await bad.close()


GOOD = {
    "id": "123",
    "firstName": "Ada",
    "lastName": "Khan",
    "workEmail": "ada@x.example",
    "status": "Active",
    "customCostRate": "88.00",
    "payRate": "140000.00 GBP",
    "hireDate": "2020-02-03",
    "supervisorEid": "100",
}


def test_mapping_reads_strings_into_canonical_values() -> None:
    r = employee_to_resource(GOOD, "bamboohr")
    assert (r.id, r.name, r.manager_id, r.hire_date) == ("123", "Ada Khan", "100", date(2020, 2, 3))
    assert r.cost_rate == Money.of("88.00", "GBP")
    listed = employee_to_resource({**GOOD, "id": None, "employeeId": "9", "jobTitleName": "Analyst"}, "hr-na")
    assert (listed.system, listed.id, listed.title) == ("hr-na", "9", "Analyst")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"workEmail": None}, "workEmail"),
        ({"firstName": ""}, "firstName"),
        ({"lastName": None}, "lastName"),
        ({"customCostRate": "eighty"}, "customCostRate"),
        ({"customCostRate": "-5"}, "customCostRate"),
        ({"status": "Retired"}, "status"),
        ({"hireDate": "03/02/2020"}, "hireDate"),
    ],
)
def test_mapping_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(SourceDataError) as info:
        employee_to_resource({**GOOD, **change}, "hr-emea")
    assert (info.value.field, info.value.record_id, info.value.system) == (field, "123", "hr-emea")
    assert info.value.code == "SOURCE_DATA_ERROR"


def test_mapping_error_without_an_id() -> None:
    with pytest.raises(SourceDataError) as info:
        employee_to_resource({k: v for k, v in GOOD.items() if k != "id"}, "bamboohr")
    assert (info.value.field, info.value.record_id) == ("id", None)


def test_time_off_mapping() -> None:
    record = {
        "id": "7",
        "employeeId": "123",
        "status": {"status": "approved", "lastChanged": "2026-01-01"},
        "start": "2026-02-02",
        "end": "2026-02-03",
        "type": {"id": "1", "name": "Vacation"},
        "amount": {"unit": "hours", "amount": "12"},
    }
    assert time_off_from_record(record, "bamboohr") == TimeOff(
        system="bamboohr",
        id="7",
        resource_id="123",
        start=date(2026, 2, 2),
        end=date(2026, 2, 3),
        amount_days=1.5,
        kind="Vacation",
        status="approved",
    )
    with pytest.raises(SourceDataError) as info:
        time_off_from_record({**record, "amount": {"unit": "days", "amount": "lots"}}, "bamboohr")
    assert (info.value.field, info.value.record_id) == ("amount", "7")
