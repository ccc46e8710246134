"""Capacity counts each day off once, however many approved HR requests cover it (issue 7 item 2)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from test_gateway_support import running_gateway, settings_for

from opsgraph.resolvers.views.periods import merge_spans
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

D = date


def test_merge_spans_merges_overlapping_and_touching_spans_only() -> None:
    spans = [(D(2026, 4, 6), D(2026, 4, 8)), (D(2026, 4, 2), D(2026, 4, 6)), (D(2026, 4, 9), D(2026, 4, 9))]
    assert merge_spans(spans) == [(D(2026, 4, 2), D(2026, 4, 9))]
    apart = [(D(2026, 4, 1), D(2026, 4, 1)), (D(2026, 4, 3), D(2026, 4, 3))]
    assert merge_spans(apart) == apart
    assert merge_spans([]) == []


async def test_overlapping_time_off_is_deducted_once(simulators: SimulatorGroup, world: World) -> None:
    """Dev Garcia (32 h a week) has two approved April 2026 requests overlapping on 6 April: 22 workdays
    less 3 days off is 19 x 6.4 h = 121.6 h (counting 6 April twice gave 115.2 h)."""
    dev = next(p for p in world.people if (p.first, p.last) == ("Dev", "Garcia"))
    first, second = sorted(
        (t.start, t.end)
        for t in world.time_off
        if t.person is dev and t.start.month == 4 and t.status == "approved"
    )
    assert first[1] >= second[0]  # they overlap
    query = """{ utilization(from: "2026-04-01", to: "2026-04-30") { label capacityHours
                 resource { email } } }"""
    async with (
        running_gateway(settings_for(simulators, world)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        body: dict[str, Any] = (await http.post("/graphql", json={"query": query})).json()
    assert "errors" not in body, body
    (row,) = [r for r in body["data"]["utilization"] if (r["resource"] or {}).get("email") == dev.email]
    assert row["capacityHours"] == 121.6
