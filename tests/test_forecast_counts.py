"""The forecast's cost upstream, and the derivations kept between requests.

Upstream requests are counted at the simulators (`/_sim/stats`, read cache off). The approved-unbilled
figure comes from Harvest's Uninvoiced Report and must equal the sum of the world's entries. What is
derived from cached listings (`resolvers/derived.py`) is reused while they stand and recomputed, with
new values, once a change drops a listing from the cache.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from test_gateway_support import HV, NS, SF, serving, settings_for
from test_graph_counts import TIME_ENTRIES, Gateway, gw, total

from opsgraph.cache import ReadCache
from opsgraph.gateway.app import create_app
from opsgraph.resolvers.derived import SHARED
from opsgraph.resolvers.views.readiness import readiness_window
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

__all__ = ["gw"]

UNINVOICED = "GET /v2/reports/uninvoiced"
SUITEQL = "POST /services/rest/query/v1/suiteql"
FORECAST = """{ forecast(from: "2026-11-01", to: "2027-04-30") { periods {
  start actualRevenue { amount } approvedUnbilled { amount originals { amount currency } } backlog { amount }
  weightedPipeline { amount } projectedRevenue { amount } capacityHours demandHours } } }"""
CLIENTS = "{ clients(first: 50) { totalCount nodes { name } } }"


def unbilled_by_currency(world: World, approved: set[int] | None = None) -> set[tuple[str, Decimal]]:
    """Approved, unbilled, billable value per currency in the forecast's window, from the world
    (`approved`: entry ids approved since the world was built)."""
    start, end = readiness_window(world.as_of)[0], world.as_of
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for e in world.time_entries:
        closed = e.is_closed or e.id in (approved or set())
        if start <= e.spent_date <= end and closed and not e.is_billed and e.billable and e.billable_rate:
            sums[e.engagement.client.currency] += e.billable_rate * Decimal(str(e.hours))
    return {(c, a.quantize(Decimal("0.01"))) for c, a in sums.items()}


def originals(body: dict[str, Any]) -> set[tuple[str, Decimal]]:
    periods = body["data"]["forecast"]["periods"]
    current = [p for p in periods if p["approvedUnbilled"]["originals"]]
    assert len(current) == 1  # only the period holding today carries it
    return {(m["currency"], Decimal(m["amount"])) for m in current[0]["approvedUnbilled"]["originals"]}


async def test_forecast_reads_the_uninvoiced_report_not_the_entries(gw: Gateway, world: World) -> None:
    body, counts = await gw.measure(FORECAST)
    assert len(body["data"]["forecast"]["periods"]) == 6
    assert counts[HV].get(UNINVOICED) == 1
    assert TIME_ENTRIES not in counts[HV]  # no page of entries to sum one figure per month
    # projects, users, the uninvoiced report; opportunities; the directory and time off; the ERP's
    # invoice sums (one SuiteQL GROUP BY: per job, and per issue date in the range), accounting periods,
    # their exchange rates and the active engagements' jobs: no page of invoices
    assert total(counts) == 10, counts
    assert counts[NS] == {SUITEQL: 4}
    assert originals(body) == unbilled_by_currency(world)


@pytest.fixture
async def warm(
    simulators: SimulatorGroup, world: World
) -> AsyncIterator[tuple[httpx.AsyncClient, ReadCache]]:
    app = create_app(settings_for(simulators, world))  # the in-memory read cache
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        cache = app.state.gateway.cache
        assert cache is not None
        yield http, cache


async def ok(http: httpx.AsyncClient, query: str) -> dict[str, Any]:
    body: dict[str, Any] = (await http.post("/graphql", json={"query": query})).json()
    assert "errors" not in body, body
    return body


async def test_a_derived_forecast_is_reused_until_its_listing_changes(
    warm: tuple[httpx.AsyncClient, ReadCache], simulators: SimulatorGroup, world: World
) -> None:
    http, cache = warm
    harvest = simulators.urls()[HV]
    start, end = readiness_window(world.as_of)[0], world.as_of
    pending = [
        e
        for e in world.time_entries
        if start <= e.spent_date <= end and not e.is_closed and not e.is_billed and e.billable_rate
    ]
    assert pending, "the world has unapproved time in the window"
    first = await ok(http, FORECAST)
    assert originals(first) == unbilled_by_currency(world)
    builds = SHARED.builds
    assert await ok(http, FORECAST) == first
    assert SHARED.builds == builds  # nothing derived again: the cached listings are the same objects
    approved = {e.id for e in pending[:3]}
    try:
        async with httpx.AsyncClient(timeout=30) as admin:
            event = {"type": "approve_time_entries", "ids": sorted(approved)}
            (await admin.post(f"{harvest}/_sim/events", json=event)).raise_for_status()
            assert await ok(http, FORECAST) == first  # still the cached listing: the gateway was not told
            await cache.invalidate(HV, "time_entry", str(pending[0].id))  # what the change poller does
            after = await ok(http, FORECAST)
            assert SHARED.builds > builds
            assert originals(after) == unbilled_by_currency(world, approved) != originals(first)
    finally:
        async with httpx.AsyncClient(timeout=30) as admin:
            (await admin.post(f"{harvest}/_sim/reset")).raise_for_status()


async def test_a_sorted_listing_follows_a_changed_client(
    warm: tuple[httpx.AsyncClient, ReadCache], simulators: SimulatorGroup, world: World
) -> None:
    http, cache = warm
    salesforce = simulators.urls()[SF]
    first = await ok(http, CLIENTS)
    names = [n["name"] for n in first["data"]["clients"]["nodes"]]
    assert names == sorted(c.name for c in world.clients)[:50]
    client = world.clients[0]
    try:
        async with httpx.AsyncClient(timeout=30) as admin:
            event = {"type": "update_account", "id": client.sf_id, "fields": {"Name": "AAA First By Name"}}
            (await admin.post(f"{salesforce}/_sim/events", json=event)).raise_for_status()
            await cache.invalidate(SF, "client", client.sf_id)
            after = await ok(http, CLIENTS)
            renamed = sorted([*(c.name for c in world.clients if c is not client), "AAA First By Name"])
            assert [n["name"] for n in after["data"]["clients"]["nodes"]] == renamed[:50]
    finally:
        async with httpx.AsyncClient(timeout=30) as admin:
            (await admin.post(f"{salesforce}/_sim/reset")).raise_for_status()
