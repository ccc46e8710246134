"""The Workday simulator alone on a loopback port, and clients of it built as the gateway builds them
(their settings checked by the connector's settings model, as at start)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
from conformance.serving import ServerThread, SimServer

from opsgraph.clock import ManualClock
from opsgraph.connectors.registry import SystemSpec, default_registry
from opsgraph.connectors.workday.client import WorkdayClient
from opsgraph.gateway.systems import SystemSettings, resolve_systems
from simulators.simkit.serve import simulator_info
from simulators.workday.simulator import ISU_PASSWORD, ISU_USER, TENANT
from simulators.world import World

ISU = {"tenant": TENANT, "username": ISU_USER, "password": ISU_PASSWORD}


def serve_workday(world: World) -> Iterator[SimServer]:
    thread = ServerThread()
    try:
        yield thread.serve(simulator_info("workday"), world)
    finally:
        thread.close()


def system_spec(sim: SimServer, **table: Any) -> tuple[SystemSpec | None, list[str]]:
    """An `hr` system of vendor workday over `sim`, checked as at start: (spec, problems)."""
    declared = {
        "hr": SystemSettings.model_validate(
            {"vendor": "workday", "base_url": sim.base_url, "credentials": sim.credentials, **table}
        )
    }
    specs, problems = resolve_systems(declared, default_registry(), require_roles=False)
    return (specs[0] if specs else None), problems


def workday_client(sim: SimServer, clock: ManualClock | None = None, **table: Any) -> WorkdayClient:
    spec, problems = system_spec(sim, **{"retry_backoff_s": 0.01, **table})
    assert spec is not None, problems
    return WorkdayClient(spec.config, system=spec.name, clock=clock or ManualClock())


async def sim_event(sim: SimServer, **body: Any) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(f"{sim.url}/_sim/events", json=body) as resp:
        answer: dict[str, Any] = await resp.json()
        assert resp.status == 200, answer
        return answer


async def sim_reset(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as http, http.post(f"{sim.url}/_sim/reset") as resp:
        assert resp.status == 200
