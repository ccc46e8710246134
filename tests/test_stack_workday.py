"""The workday stack (Salesforce, Harvest, Workday, NetSuite) through the real gateway, against classic.

One world: Workday serves its people from the tenant's reports, so every figure HR feeds (people,
cost rates, capacity, utilization, time off, time before hire) equals the classic stack's. Ids, links
and the HR system's name differ by design. With Workday down, HR's fields are null with errors naming
the system, and time and engagements still arrive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from stack_answers import RECONCILIATION, UTILIZATION, StackGateway, business, differences, stack_gateway
from test_gateway_support import running_gateway, settings_for
from test_stacks_answers import unposted_months

from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World

MONTH = {"from": "2026-10-01", "to": "2026-10-31"}
PEOPLE = """query($from: Date!, $to: Date!) { resources(first: 500) { totalCount nodes {
  name email title department location status weeklyCapacityHours
  costRate { amount currency } defaultBillRate { amount currency } manager { name email }
  timeOff(from: $from, to: $to) { start end days kind status }
  utilization(from: $from, to: $to) { billableHours totalHours capacityHours utilization } } } }"""
BY_DEPARTMENT = """query($from: Date!, $to: Date!) { utilization(from: $from, to: $to, groupBy: DEPARTMENT) {
  key label billableHours totalHours capacityHours utilization } }"""
HR_NAMING = frozenset({"system", "vendor", "recordId"})
HR_SYSTEMS = ("bamboohr:", "workday:")
"""The HR system of each stack, as a record key's prefix (a utilization row's key is the person's)."""


@pytest.fixture(scope="module")
def workday_stack(world: World) -> Iterator[SimulatorGroup]:
    with SimulatorThread(world, stack="workday") as group:
        yield group


@pytest.fixture
async def gateways(
    simulators: SimulatorGroup, workday_stack: SimulatorGroup, world: World
) -> AsyncIterator[tuple[StackGateway, StackGateway]]:
    async with (
        stack_gateway("classic", simulators, world) as classic,
        stack_gateway("workday", workday_stack, world) as workday,
    ):
        yield classic, workday


def hr_blind(value: Any) -> Any:
    """`value` without the HR system's name: on HR's issues, and before a person's key."""
    if isinstance(value, str) and value.startswith(HR_SYSTEMS):
        return value.partition(":")[2]
    if isinstance(value, dict):
        hr = value.get("role") == "HR"
        return {k: hr_blind(v) for k, v in value.items() if not (hr and k in HR_NAMING)}
    if isinstance(value, list):
        return [hr_blind(v) for v in value]
    return value


async def same(gateways: tuple[StackGateway, StackGateway], query: str, variables: dict[str, Any]) -> Any:
    classic, workday = [await g.data(query, variables) for g in gateways]
    assert differences(hr_blind(business(classic)), hr_blind(business(workday))) == [], "classic, workday"
    return classic


async def test_people_cost_and_capacity_are_the_same_as_classic(
    gateways: tuple[StackGateway, StackGateway], world: World
) -> None:
    data = await same(gateways, PEOPLE, MONTH)
    nodes = data["resources"]["nodes"]
    assert data["resources"]["totalCount"] == len(nodes) == len(world.people)
    assert sum(1 for n in nodes if n["costRate"] is not None) >= len(world.people) - 1
    assert all(n["weeklyCapacityHours"] for n in nodes)
    assert sum(1 for n in nodes if n["manager"] is not None) > len(nodes) // 2
    assert sum(len(n["timeOff"]) for n in nodes) > 0
    assert sum(n["utilization"]["capacityHours"] for n in nodes if n["utilization"]) > 0


async def test_utilization_and_reconciliation_are_the_same_as_classic(
    gateways: tuple[StackGateway, StackGateway], world: World
) -> None:
    rows = (await same(gateways, UTILIZATION, MONTH))["utilization"]
    assert len(rows) == len(world.people) and all(r["capacityHours"] > 0 for r in rows)
    departments = (await same(gateways, BY_DEPARTMENT, MONTH))["utilization"]
    assert {r["label"] for r in departments} >= {"Strategy", "Technology"}
    report = (await same(gateways, RECONCILIATION, unposted_months(world)))["reconciliation"]
    assert {i["code"] for i in report["dataQuality"]} >= {"MISSING_IN_HR"}
    seeded = {"from": "2025-11-01", "to": "2026-05-31"}  # the seeded time before hire
    report = (await same(gateways, RECONCILIATION, seeded))["reconciliation"]
    assert report["timeBeforeHireCount"] > 0  # HR's hire dates, from the Workday report


OUTAGE = """{ engagements(first: 5) { nodes { code burn { hoursUsed } } }
  timeEntries(first: 5, filter: { from: "2026-10-01", to: "2026-10-31" }) {
    nodes { date hours engagement { code } resource { name costRate { amount } } } }
  resources(first: 3) { nodes { name } } }"""


async def test_workday_down_nulls_hr_fields_and_time_and_engagements_arrive(
    workday_stack: SimulatorGroup, world: World
) -> None:
    settings = settings_for(workday_stack, world, cache={"enabled": False})
    settings = settings.with_system("workday", max_retries=0, breaker_failure_threshold=1_000_000)
    faults = f"{workday_stack.urls()['workday']}/_sim/faults"
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        (await http.put(faults, json={"outage": True})).raise_for_status()
        try:
            body = (await http.post("/graphql", json={"query": OUTAGE})).json()
        finally:
            (await http.put(faults, json={"outage": False})).raise_for_status()
    data, errors = body["data"], body["errors"]
    engagements = data["engagements"]["nodes"]
    assert len(engagements) == 5 and all(
        e["code"] and e["burn"]["hoursUsed"] is not None for e in engagements
    )
    entries = data["timeEntries"]["nodes"]
    assert len(entries) == 5 and all(e["hours"] > 0 and e["engagement"]["code"] for e in entries)
    assert all(e["resource"] is None for e in entries)
    assert data["resources"] is None
    failed = {tuple(p for p in e["path"] if isinstance(p, str)) for e in errors}
    assert failed == {("timeEntries", "nodes", "resource"), ("resources",)}, errors
    for error in errors:
        assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE", error
        assert error["extensions"]["system"] == "workday", error
        assert "workday" in error["message"].lower()
