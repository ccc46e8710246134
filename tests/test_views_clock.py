"""One clock for the read path: the demo's pinned day, or a test's ManualClock, through the real gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from test_gateway_support import serving, settings_for

from opsgraph.clock import Clock, ManualClock
from opsgraph.gateway.app import create_app
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

Gql = Callable[[str], Awaitable[dict[str, Any]]]
READINESS = "{ invoiceReadiness { asOf periodStart periodEnd } }"


@asynccontextmanager
async def gateway(simulators: SimulatorGroup, world: World, clock: Clock | None = None) -> AsyncIterator[Gql]:
    app = create_app(settings_for(simulators, world), clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def run(query: str) -> dict[str, Any]:
            response = await http.post("/graphql", json={"query": query})
            body: dict[str, Any] = response.json()
            assert response.status_code == 200 and "errors" not in body, body
            return body["data"]

        yield run


def stamps(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(r["asOf"], r["periodStart"], r["periodEnd"]) for r in data["invoiceReadiness"]}


async def test_invoice_readiness_as_of_is_the_pinned_day_on_every_call(
    simulators: SimulatorGroup, world: World
) -> None:
    """Issue 7 item 3: `asOf` read the machine clock, so the demo's answer changed on every call."""
    assert str(world.as_of) == "2026-11-20"
    async with gateway(simulators, world) as gql:
        first, second = await gql(READINESS), await gql(READINESS)
    assert first == second
    assert stamps(first) == {("2026-11-20T00:00:00+00:00", "2026-10-01", "2026-10-31")}


async def test_a_manual_clock_sets_the_business_day_of_every_view(
    simulators: SimulatorGroup, world: World
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    async with gateway(simulators, world, clock) as gql:
        assert stamps(await gql(READINESS)) == {("2026-12-01T09:30:00+00:00", "2026-11-01", "2026-11-30")}
        clock.advance(31 * 86400)
        assert stamps(await gql(READINESS)) == {("2027-01-01T09:30:00+00:00", "2026-12-01", "2026-12-31")}
