"""Time logged before the person's HR hire date is flagged (issue 7 item 5): in `TimeEntry.dataQuality`
and in `reconciliation { timeBeforeHire timeBeforeHireCount }`. The demo world has 731 such entries from
10 people, all between November 2025 and May 2026."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import httpx
import pytest
from test_gateway_support import running_gateway, settings_for

from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup
from simulators.world import TimeEntry, World

Gql = Callable[..., Awaitable[dict[str, Any]]]
HR, PSA = "bamboohr", "harvest"
"""The classic stack's HR and PSA systems (named after their vendors)."""
FROM, TO = date(2025, 11, 1), date(2026, 5, 31)


@pytest.fixture
async def gql(simulators: SimulatorGroup, world: World) -> AsyncIterator[Gql]:
    async with (
        running_gateway(settings_for(simulators, world)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):

        async def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
            response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
            body: dict[str, Any] = response.json()
            assert response.status_code == 200 and "errors" not in body, body
            return body["data"]

        yield run


def early_entries(world: World) -> dict[str, list[TimeEntry]]:
    """What the world logged before each person's hire date, by HR id."""
    early: dict[str, list[TimeEntry]] = defaultdict(list)
    for e in world.time_entries:
        if e.person.bamboo_id and e.spent_date < e.person.hire_date:
            early[e.person.bamboo_id].append(e)
    return early


async def test_reconciliation_lists_the_time_before_hire_per_person(gql: Gql, world: World) -> None:
    early = early_entries(world)
    assert (sum(map(len, early.values())), len(early)) == (731, 10)
    data = await gql(
        """query($from: Date!, $to: Date!) { reconciliation(from: $from, to: $to) { timeBeforeHireCount
             timeBeforeHire { resource { id email } hireDate entryCount entryIds hours firstDate lastDate }
           } }""",
        {"from": FROM.isoformat(), "to": TO.isoformat()},
    )
    report = data["reconciliation"]
    assert report["timeBeforeHireCount"] == 731
    rows = report["timeBeforeHire"]
    assert len(rows) == 10
    for row in rows:
        bamboo_id = next(k for k in early if to_global_id("Resource", f"{HR}:{k}") == row["resource"]["id"])
        entries = early[bamboo_id]
        person = entries[0].person
        assert row["resource"]["email"] == person.email
        assert row["hireDate"] == person.hire_date.isoformat()
        assert row["entryCount"] == len(entries)
        assert row["entryIds"] == [
            to_global_id("TimeEntry", f"{PSA}:{e.id}") for e in sorted(entries, key=lambda e: e.id)
        ]
        assert row["hours"] == pytest.approx(sum(e.hours for e in entries), abs=0.005)
        assert row["firstDate"] == min(e.spent_date for e in entries).isoformat()
        assert row["lastDate"] == max(e.spent_date for e in entries).isoformat()


async def test_time_entry_data_quality_flags_time_before_hire(gql: Gql, world: World) -> None:
    early = early_entries(world)
    bamboo_id, flagged = max(early.items(), key=lambda kv: len(kv[1]))
    person = flagged[0].person
    mine = [e for e in world.time_entries if e.person is person and FROM <= e.spent_date <= TO]
    assert len(mine) > len(flagged)  # the person also has time after the hire date: not flagged
    data = await gql(
        """query($filter: TimeEntryFilter!) { timeEntries(filter: $filter, first: 500) {
             totalCount nodes { id dataQuality { code system role vendor recordId field message } } } }""",
        {
            "filter": {
                "from": FROM.isoformat(),
                "to": TO.isoformat(),
                "resourceId": to_global_id("Resource", f"{HR}:{bamboo_id}"),
            }
        },
    )
    nodes = data["timeEntries"]["nodes"]
    assert data["timeEntries"]["totalCount"] == len(nodes) == len(mine)
    got = {n["id"]: n["dataQuality"] for n in nodes}
    want_flagged = {to_global_id("TimeEntry", f"{PSA}:{e.id}"): e for e in flagged}
    for node_id, issues in got.items():
        if node_id in want_flagged:
            entry = want_flagged[node_id]
            expected = {
                "code": "TIME_BEFORE_HIRE",
                "system": PSA,
                "role": "PSA",
                "vendor": "harvest",
                "recordId": str(entry.id),
                "field": "date",
                "message": f"Logged on {entry.spent_date}, before {person.email} was hired "
                f"({person.hire_date} in HR)",
            }
            assert issues == [expected]
        else:
            assert issues == []
    assert sum(1 for issues in got.values() if issues) == len(flagged)
