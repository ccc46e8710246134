"""BambooHR connector against the simulator over a real socket, and its mapping on bad records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sim_clock import shared_clock

from opsgraph.clock import ManualClock
from opsgraph.connectors.bamboohr.client import BambooHRClient
from opsgraph.connectors.bamboohr.mapping import employee_to_resource, time_off_from_record
from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.errors import SourceDataError, SourceRateLimited, SourceRejected, SourceUnavailable
from opsgraph.model import Money, Resource, ResourceStatus, SourceName, TimeOff
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
    return simulators.running[SourceName.BAMBOOHR]


def make_client(sim: RunningSimulator, clock: ManualClock | None = None, **overrides: Any) -> BambooHRClient:
    """A client on a `ManualClock`: its retry waits advance the clock instead of sleeping."""
    config = SourceConfig(
        base_url=sim.url + sim.info.api_path,
        credentials=dict(sim.info.credentials),
        retry_backoff_s=0.01,
        **overrides,
    )
    return BambooHRClient(config, clock=clock or ManualClock())


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


async def test_200_ids_cost_one_call_and_missing_ids_are_none(
    client: BambooHRClient, admin: aiohttp.ClientSession, sim: RunningSimulator, world: World
) -> None:
    ids = [str(i) for i in range(100, 300)]
    before = list_calls(await stats(admin), sim)
    found = await client.employees_by_ids(ids)
    assert list_calls(await stats(admin), sim) - before == 1
    assert list(found) == ids
    by_id = {p.bamboo_id or "": p for p in hr_people(world)}
    assert {i for i, r in found.items() if r is not None} == set(by_id)
    assert sum(r is None for r in found.values()) == 200 - 149
    ghost_id = str(100 + next(i for i, p in enumerate(world.people) if p.bamboo_id is None))  # the drift
    assert ghost_id in ids and found[ghost_id] is None
    for employee_id, person in by_id.items():
        assert found[employee_id] == expected_resource(person)


async def test_300_ids_cost_two_calls(
    client: BambooHRClient, admin: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    ids = [str(i) for i in range(1, 301)]
    before = list_calls(await stats(admin), sim)
    found = await client.employees_by_ids([*ids, "abc", "1"])
    assert list_calls(await stats(admin), sim) - before == 2
    assert len(found) == 301
    assert found["abc"] is None and found["1"] is None
    assert sum(r is not None for r in found.values()) == 149


async def test_directory_and_one_employee_equal_the_world(client: BambooHRClient, world: World) -> None:
    resources = await client.directory()
    assert resources == [expected_resource(p) for p in hr_people(world)]
    person = hr_people(world)[7]
    assert await client.employee(person.bamboo_id or "") == expected_resource(person)
    assert await client.employee("99999") is None
    basic = await client.company_directory()
    assert [r.email for r in basic] == [p.email for p in hr_people(world)]
    assert all(r.cost_rate is None and r.manager_id is None for r in basic)


async def test_time_off_equals_the_world(client: BambooHRClient, world: World) -> None:
    start, end = date(2026, 9, 1), date(2026, 12, 31)
    got = await client.time_off(start, end)
    expected = [
        TimeOff(
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
    requested = await client.time_off(start, end, status="requested")
    assert {t.id for t in requested} == {
        str(t.id)
        for t in world.time_off
        if t.status == "requested" and t.person.bamboo_id and t.start <= end and t.end >= start
    }


async def test_update_then_changed_since(
    client: BambooHRClient, admin: aiohttp.ClientSession, world: World
) -> None:
    person = hr_people(world)[30]
    employee_id = person.bamboo_id or ""
    try:
        since = datetime.now(UTC) - timedelta(seconds=1)
        await client.update_employee(employee_id, {"customCostRate": "101.50", "status": "Inactive"})
        changes = await client.changes(since)
        assert changes.actions == {employee_id: "Updated"}
        assert changes.latest > since
        assert await client.changed_since(changes.latest) == {}
        updated = await client.employee(employee_id)
        assert updated is not None
        assert (updated.cost_rate, updated.status) == (Money.of("101.50"), ResourceStatus.INACTIVE)
        new_id = await client.create_employee(
            {"firstName": "Ines", "lastName": "Moreau", "workEmail": "ines.moreau@opsgraph-firm.example"}
        )
        assert (await client.changed_since(changes.latest)) == {new_id: "Inserted"}
        with pytest.raises(SourceRejected) as info:
            await client.update_employee(employee_id, {"status": "Retired"})
        assert (info.value.status, info.value.message) == (400, "Invalid value for status: 'Retired'")
    finally:
        await admin.post("/_sim/reset")


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
            await client.employees_by_ids(ids)  # uses the window's only request
            slept = len(clock.slept)
            found = await client.employees_by_ids(ids)  # limited once, waits out Retry-After, then succeeds
            assert len(clock.slept) == slept + 1 and clock.slept[-1] >= 1.0  # Retry-After: 1
            assert found[ids[0]] is not None
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
            await client.employees_by_ids(["100"])
        assert (await stats(admin))["statuses"]["503"] - before == 3  # first try and two retries
        assert info.value.status == 503
        assert info.value.retry_after == 1.0
        assert info.value.code == "SOURCE_RATE_LIMITED"
        assert info.value.message == "rate limited: API rate limit exceeded."
        await admin.put("/_sim/faults", json={"rate_limit": 0, "rate_window_s": 60})
        with pytest.raises(SourceRateLimited) as info:  # a wait past retry_max_wait_s fails at once
            await client.time_off(date(2026, 1, 1), date(2026, 1, 31))
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
            await client.directory()
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
            await bad.employee("100")
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
    r = employee_to_resource(GOOD)
    assert (r.id, r.name, r.manager_id, r.hire_date) == ("123", "Ada Khan", "100", date(2020, 2, 3))
    assert r.cost_rate == Money.of("88.00", "GBP")
    listed = employee_to_resource({**GOOD, "id": None, "employeeId": "9", "jobTitleName": "Analyst"})
    assert (listed.id, listed.title) == ("9", "Analyst")


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
        employee_to_resource({**GOOD, **change})
    assert (info.value.field, info.value.record_id, info.value.source) == (field, "123", SourceName.BAMBOOHR)
    assert info.value.code == "SOURCE_DATA_ERROR"


def test_mapping_error_without_an_id() -> None:
    with pytest.raises(SourceDataError) as info:
        employee_to_resource({k: v for k, v in GOOD.items() if k != "id"})
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
    assert time_off_from_record(record) == TimeOff(
        id="7",
        resource_id="123",
        start=date(2026, 2, 2),
        end=date(2026, 2, 3),
        amount_days=1.5,
        kind="Vacation",
        status="approved",
    )
    with pytest.raises(SourceDataError) as info:
        time_off_from_record({**record, "amount": {"unit": "days", "amount": "lots"}})
    assert (info.value.field, info.value.record_id) == ("amount", "7")
