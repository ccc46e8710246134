"""`/metrics` counts every failed upstream attempt once, by reason, and short-circuits apart.

The issue: 38 upstream 500s were counted as 1 (retries folded into one failure), and later a breaker's
refusals were counted as upstream failures. Here the simulator's own status counts are the truth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from metrics_support import sample
from test_gateway_support import serving, settings_for

from opsgraph.clock import ManualClock
from opsgraph.gateway.app import create_app
from opsgraph.gateway.settings import Settings
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

HV = "harvest"
QUERY = "{ engagements(first: 2) { nodes { code } } }"  # one Harvest listing per request


def harvest_settings(simulators: SimulatorGroup, world: World, **harvest: Any) -> Settings:
    settings = settings_for(simulators, world, cache={"enabled": False})
    return settings.with_system("harvest", **harvest)


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    clock = ManualClock()  # retry waits advance it: no sleeping
    async with serving(create_app(settings, clock=clock)) as url, httpx.AsyncClient(base_url=url) as http:
        yield http


async def sim_500s(simulators: SimulatorGroup) -> int:
    async with httpx.AsyncClient() as admin:
        stats = (await admin.get(f"{simulators.urls()[HV]}/_sim/stats")).json()
    return int(stats["statuses"].get("500", 0))


async def set_error_rate(simulators: SimulatorGroup, rate: float) -> None:
    async with httpx.AsyncClient() as admin:
        url = simulators.urls()[HV]
        (await admin.put(f"{url}/_sim/faults", json={"error_rate": rate})).raise_for_status()
        (await admin.delete(f"{url}/_sim/stats")).raise_for_status()


HARVEST = {"system": "harvest", "role": "psa", "vendor": "harvest"}


metric = sample


async def test_each_upstream_500_is_counted_once(simulators: SimulatorGroup, world: World) -> None:
    settings = harvest_settings(simulators, world, max_retries=2, breaker_failure_threshold=1000)
    async with gateway(settings) as http:
        await set_error_rate(simulators, 1.0)
        try:
            for _ in range(4):
                body = (await http.post("/graphql", json={"query": QUERY})).json()
                assert body["errors"][0]["extensions"]["code"] == "SOURCE_UNAVAILABLE"
            injected = await sim_500s(simulators)
        finally:
            await set_error_rate(simulators, 0.0)
        text = (await http.get("/metrics")).text
    assert injected == 4 * 3  # four requests, each tried three times
    assert metric(text, "opsgraph_upstream_failures_total", **HARVEST, reason="server_error") == injected
    assert metric(text, "opsgraph_upstream_short_circuits_total", **HARVEST) == 0
    assert (
        metric(
            text,
            "opsgraph_upstream_failures_total",
            system="netsuite",
            role="erp",
            vendor="netsuite",
            reason="server_error",
        )
        == 0
    )


async def test_short_circuits_are_counted_apart_from_upstream_failures(
    simulators: SimulatorGroup, world: World
) -> None:
    settings = harvest_settings(simulators, world, max_retries=2, breaker_failure_threshold=2)
    async with gateway(settings) as http:
        await set_error_rate(simulators, 1.0)
        try:
            for _ in range(3):
                await http.post("/graphql", json={"query": QUERY})
            injected = await sim_500s(simulators)
        finally:
            await set_error_rate(simulators, 0.0)
        text = (await http.get("/metrics")).text
    # the first request: two 500s open the breaker, its third try is refused; then two refusals
    assert injected == 2
    assert metric(text, "opsgraph_upstream_failures_total", **HARVEST, reason="server_error") == 2
    assert metric(text, "opsgraph_upstream_short_circuits_total", **HARVEST) == 3
    assert metric(text, "opsgraph_upstream_circuit_open", **HARVEST) == 1
