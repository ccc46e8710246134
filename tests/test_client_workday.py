"""The Workday connector over a real socket: both ways in, and the report column map as configuration.

A tenant's report author names the columns, so a renamed or dropped column is a settings change: until
it is made the connector fails naming the column (never a silent null); after it the same answers come.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from conformance.polling import quiet_since
from conformance.serving import SimServer
from workday_sim import ISU, serve_workday, sim_event, sim_reset, system_spec, workday_client

from opsgraph.connectors.errors import SourceDataError, SourceRejected, SourceUnavailable
from opsgraph.connectors.workday.mapping import ReportRows, time_off_from_row
from opsgraph.connectors.workday.settings import WorkdayOptions
from opsgraph.model import Resource
from opsgraph.roles import Entity
from opsgraph.roles.filters import TimeOffFilter
from simulators.world import World


@pytest.fixture(scope="module")
def sim(world: World) -> Iterator[SimServer]:
    yield from serve_workday(world)


@pytest.fixture
async def fresh(sim: SimServer) -> AsyncIterator[SimServer]:
    """The simulator, its report definitions restored after the test."""
    yield sim
    await sim_reset(sim)


def by_id(resources: list[Resource]) -> dict[str, Resource]:
    return {r.id: r for r in resources}


def people(world: World) -> dict[str, Any]:
    return {str(p.bamboo_id): p for p in world.people if p.bamboo_id is not None}


async def test_oauth_and_the_integration_user_read_the_same_workers(sim: SimServer, world: World) -> None:
    oauth, isu = workday_client(sim), workday_client(sim, credentials=ISU)
    try:
        listed = by_id(await oauth.list_resources())
        assert listed == by_id(await isu.list_resources())
        assert set(listed) == set(people(world))
        partner = next(p for p in world.people if p.supervisor is None and p.bamboo_id)
        managed = next(p for p in world.people if p.supervisor is not None and p.bamboo_id)
        assert listed[str(partner.bamboo_id)].manager_id is None  # the column is left out of the row
        assert listed[str(managed.bamboo_id)].manager_id == managed.supervisor.bamboo_id  # type: ignore[union-attr]
        assert listed[str(managed.bamboo_id)].hire_date == managed.hire_date  # "2019-03-04-08:00"
    finally:
        await oauth.close()
        await isu.close()


async def test_a_wrong_password_is_final(sim: SimServer) -> None:
    client = workday_client(sim, credentials={**ISU, "password": "wrong"})
    try:
        with pytest.raises(SourceUnavailable) as failed:
            await client.probe()
        assert failed.value.status == 401 and failed.value.system == "hr"
        assert client.health.requests == 1, "a refused user is not retried"
    finally:
        await client.close()


async def test_a_revoked_bearer_is_refreshed_once(fresh: SimServer) -> None:
    client = workday_client(fresh)
    try:
        await client.probe()
        await sim_event(fresh, type="revoke_tokens")
        await client.probe()
        assert client.authenticator.cache.fetches == 2  # type: ignore[union-attr]
        assert client.health.requests == 5  # token, probe, refused probe, token, probe
    finally:
        await client.close()


async def test_renamed_columns_work_after_only_a_settings_change(fresh: SimServer, world: World) -> None:
    before = workday_client(fresh)
    want = by_id(await before.list_resources())
    renames = {"Employee_ID": "Worker_ID", "Email_-_Primary_Work": "Work_Email", "Hire_Date": "Original_Hire"}
    await sim_event(fresh, type="rename_columns", report="workers", columns=renames)
    try:
        with pytest.raises(SourceDataError) as missing:
            await before.list_resources()
        assert missing.value.field == "Employee_ID"
        assert "options.workers.columns.id" in missing.value.message
    finally:
        await before.close()
    columns = {"id": "Worker_ID", "email": "Work_Email", "hire_date": "Original_Hire"}
    after = workday_client(fresh, options={"workers": {"columns": columns}})
    try:
        assert by_id(await after.list_resources()) == want
        some = list(want)[:3]
        assert await after.resources_by_ids(some) == {i: want[i] for i in some}
        changes = await after.changed_since(Entity.RESOURCE, quiet_since(world))
        assert changes.changes == ()  # the last-updated column is read through the map too
    finally:
        await after.close()


async def test_a_dropped_column_fails_naming_it_until_the_map_says_it_is_gone(fresh: SimServer) -> None:
    await sim_event(fresh, type="drop_columns", report="workers", columns=["Hourly_Cost_Rate"])
    client = workday_client(fresh)
    try:
        with pytest.raises(SourceDataError) as missing:
            await client.list_resources()
        assert missing.value.field == "Hourly_Cost_Rate"
    finally:
        await client.close()
    without = workday_client(fresh, options={"workers": {"columns": {"cost_rate": ""}}})
    try:
        listed = await without.list_resources()
        assert listed and all(r.cost_rate is None for r in listed)
    finally:
        await without.close()


async def test_a_prompt_the_report_does_not_define_is_rejected(sim: SimServer, world: World) -> None:
    flt = TimeOffFilter(start=world.as_of.replace(day=1), end=world.as_of)
    client = workday_client(sim, options={"time_off": {"prompts": {"status": "Request_Status"}}})
    try:
        with pytest.raises(SourceRejected) as rejected:
            await client.list_time_off(flt)
        assert rejected.value.status == 400 and "Request_Status" in rejected.value.message
        assert client.breaker.state.name == "CLOSED"
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"workers": {"columns": {"email": ""}}}, "columns.email: required"),
        ({"workers": {"columns": {"nickname": "Preferred"}}}, "columns.nickname: unknown"),
        ({"time_off": {"prompts": {"start": ""}}}, "prompts.start: name the report's prompt"),
        ({"time_off": {"schedule": "daily"}}, "unknown key 'schedule'"),
        ({"payroll": {}}, "payroll"),
    ],
)
def test_a_bad_column_map_is_a_settings_error_at_start(
    sim: SimServer, options: dict[str, Any], problem: str
) -> None:
    spec, problems = system_spec(sim, options=options)
    assert spec is None and len(problems) == 1, problems
    assert problems[0].startswith("systems.hr.options") and problem in problems[0], problems


def test_credentials_are_one_way_in(sim: SimServer) -> None:
    _, problems = system_spec(sim, credentials={**sim.credentials, "username": "u", "password": "p"})
    assert problems and "either username and password" in problems[0]
    assert system_spec(sim, credentials=ISU)[1] == []


def test_time_off_in_hours_counts_days() -> None:
    rows = ReportRows("hr", WorkdayOptions().time_off)
    row = {
        "Request_ID": "7",
        "Employee_ID": "101",
        "First_Day": "2026-11-02-08:00",
        "Last_Day": "2026-11-02-08:00",
        "Total_Units": "4",
        "Unit_of_Time": "Hours",
        "Time_Off_Type": "Sick",
        "Status": "Submitted",
    }
    off = time_off_from_row(row, rows)
    assert (off.amount_days, off.status, off.start.isoformat()) == (0.5, "requested", "2026-11-02")
    with pytest.raises(SourceDataError) as bad:
        time_off_from_row({**row, "Status": "Pending"}, rows)
    assert bad.value.field == "Status" and bad.value.record_id == "7"
