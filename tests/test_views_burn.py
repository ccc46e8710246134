"""burn.hoursUsed counts from the engagement's start (issue 7 item 4), reading the PSA's time report in
year windows back from today; beyond the cap it says so (`hoursComplete`, INCOMPLETE_DATA) rather than
undercount silently. No demo engagement is over 730 days old, so this module's own world makes two old
ones and serves it from its own simulators."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from test_gateway_support import running_gateway, settings_for

from opsgraph.connectors.errors import SourceUnavailable
from opsgraph.model import Engagement as ModelEngagement
from opsgraph.model import EngagementTimeTotals
from opsgraph.resolvers.views.burn_hours import MAX_WINDOWS, HoursUsed, hours_used, window
from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import Engagement, World, build_world

PSA = "harvest"
"""The classic stack's PSA system (systems there are named after their vendors): a Harvest simulator."""
TIME_REPORT = "GET /v2/reports/time/projects"
AS_OF = date(2026, 11, 20)
OLD_DAYS = 1500  # five report windows
ANCIENT_DAYS = 8000  # beyond the cap of twenty windows (7300 days)
BURN = "burn { hoursUsed hoursCountedFrom hoursComplete }"


def age(world: World, code: str, days: int, entries_days_ago: list[int]) -> Engagement:
    """Start `code` `days` before as-of and add 7.25 h of approved time at each of `entries_days_ago`."""
    eng = next(e for e in world.engagements if e.code == code)
    eng.start = world.as_of - timedelta(days=days)
    template = next(t for t in world.time_entries if t.engagement is eng)
    next_id = max(t.id for t in world.time_entries) + 1
    for i, ago in enumerate(entries_days_ago):
        world.time_entries.append(
            dataclasses.replace(
                template,
                id=next_id + i,
                spent_date=world.as_of - timedelta(days=ago),
                hours=7.25,
                is_closed=True,
                harvest_invoice_id=None,
                ns_timebill_id=None,
            )
        )
    return eng


@pytest.fixture(scope="module")
def old_world() -> World:
    world = build_world(seed=7, profile="small")
    assert world.as_of == AS_OF
    active = [
        e for e in world.engagements if e.is_active and any(t.engagement is e for t in world.time_entries)
    ]
    age(world, active[0].code, OLD_DAYS, [800, 1100, 1450])
    age(world, active[1].code, ANCIENT_DAYS, [1000, 7500])
    return world


@pytest.fixture(scope="module")
def old_simulators(old_world: World) -> Iterator[SimulatorGroup]:
    with SimulatorThread(old_world) as group:
        yield group


@pytest.fixture
async def http(old_simulators: SimulatorGroup, old_world: World) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(old_simulators, old_world, cache={"enabled": False})
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        yield client


async def measure(http: httpx.AsyncClient, sims: SimulatorGroup, query: str) -> tuple[dict[str, Any], int]:
    """The response and how many time reports the PSA served for it."""
    psa = sims.urls()[PSA]
    (await http.delete(f"{psa}/_sim/stats")).raise_for_status()
    body: dict[str, Any] = (await http.post("/graphql", json={"query": query})).json()
    routes = (await http.get(f"{psa}/_sim/stats")).json()["routes"]
    return body, routes.get(TIME_REPORT, {}).get("count", 0)


def hours(world: World, eng: Engagement, start: date) -> float:
    return round(sum(t.hours for t in world.time_entries if t.engagement is eng and t.spent_date >= start), 2)


def node_query(code: str) -> str:
    return f'{{ node(id: "{to_global_id("Engagement", code)}") {{ ... on Engagement {{ code {BURN} }} }} }}'


def engagement(world: World, days: int) -> Engagement:
    return next(e for e in world.engagements if e.start == world.as_of - timedelta(days=days))


async def test_hours_count_from_the_engagement_start(
    http: httpx.AsyncClient, old_simulators: SimulatorGroup, old_world: World
) -> None:
    eng = engagement(old_world, OLD_DAYS)
    body, reports = await measure(http, old_simulators, node_query(eng.code))
    assert "errors" not in body and "extensions" not in body, body
    burn = body["data"]["node"]["burn"]
    total = hours(old_world, eng, eng.start)
    two_years = hours(old_world, eng, AS_OF - timedelta(days=729))
    assert total - two_years == pytest.approx(3 * 7.25)  # what the 730-day window left out
    assert burn == {"hoursUsed": total, "hoursCountedFrom": eng.start.isoformat(), "hoursComplete": True}
    assert reports == 5  # ceil(1500 / 365) windows, one report call each


async def test_hours_beyond_the_cap_are_reported_incomplete(
    http: httpx.AsyncClient, old_simulators: SimulatorGroup, old_world: World
) -> None:
    eng = engagement(old_world, ANCIENT_DAYS)
    body, reports = await measure(http, old_simulators, node_query(eng.code))
    assert "errors" not in body, body
    counted_from = AS_OF - timedelta(days=365 * MAX_WINDOWS - 1)
    assert body["data"]["node"]["burn"] == {
        "hoursUsed": hours(old_world, eng, counted_from),
        "hoursCountedFrom": counted_from.isoformat(),
        "hoursComplete": False,
    }
    assert (
        hours(old_world, eng, eng.start) - hours(old_world, eng, counted_from) == 7.25
    )  # the entry left out
    (warning,) = body["extensions"]["warnings"]
    assert warning["code"] == "INCOMPLETE_DATA"
    assert (warning["system"], warning["source"], warning["field"], warning["engagements"]) == (
        PSA,
        PSA,
        "Burn.hoursUsed",
        [eng.code],
    )
    assert reports == MAX_WINDOWS


async def test_every_engagement_shares_the_report_windows(
    http: httpx.AsyncClient, old_simulators: SimulatorGroup, old_world: World
) -> None:
    body, reports = await measure(
        http, old_simulators, f"{{ engagements(first: 100) {{ nodes {{ code {BURN} }} }} }}"
    )
    assert "errors" not in body, body
    rows = {n["code"]: n["burn"] for n in body["data"]["engagements"]["nodes"]}
    assert len(rows) == len(old_world.engagements)
    for eng in old_world.engagements:
        complete = (AS_OF - eng.start).days < 365 * MAX_WINDOWS
        start = eng.start if complete else AS_OF - timedelta(days=365 * MAX_WINDOWS - 1)
        assert rows[eng.code] == {
            "hoursUsed": hours(old_world, eng, start),
            "hoursCountedFrom": start.isoformat(),
            "hoursComplete": complete,
        }, eng.code
    assert reports == MAX_WINDOWS  # the oldest engagement's windows, shared by all the others
    assert body["extensions"]["warnings"][0]["engagements"] == [engagement(old_world, ANCIENT_DAYS).code]


# -- a window that fails -------------------------------------------------------------------------


class Report:
    """The PSA's report for one engagement: 10 h per window; the windows in `failing` answer 503."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing
        self.asked: list[tuple[date, date]] = []

    async def __call__(self, start: date, end: date) -> dict[str, EngagementTimeTotals]:
        self.asked.append((start, end))
        if window_index(end) in self.failing:
            raise SourceUnavailable(PSA, "503")
        totals = EngagementTimeTotals(
            engagement_id="7",
            total_hours=10.0,
            billable_hours=10.0,
            billable_amount=Decimal(0),
            currency="USD",
        )
        return {"7": totals}


def window_index(end: date) -> int:
    return (AS_OF - end).days // 365


OLD = ModelEngagement(system=PSA, id="7", code="ENG-1", name="old", start_date=AS_OF - timedelta(days=1500))


async def test_a_failing_older_window_counts_the_newer_ones_and_says_so() -> None:
    report = Report(failing={3})
    got = await hours_used(OLD, AS_OF, report)
    assert got == HoursUsed(30.0, window(AS_OF, 2)[0], False)
    assert len(report.asked) == 5  # all windows asked at once; the failure stops the count at window 3


async def test_a_failing_latest_window_is_an_error() -> None:
    with pytest.raises(SourceUnavailable):
        await hours_used(OLD, AS_OF, Report(failing={0}))
