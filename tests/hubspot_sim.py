"""The HubSpot simulator on a loopback port for the HubSpot tests, plus clients and admin helpers.

It runs on its own: the simkit `SimulatorGroup` serves the classic four vendors (`VENDOR_ORDER`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import uvicorn
from starlette.applications import Starlette

from opsgraph.clock import Clock, ManualClock
from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.hubspot import HubSpotClient
from simulators.hubspot.simulator import CREDENTIALS, create_app
from simulators.simkit.admin import SimControl
from simulators.simkit.serve import bind
from simulators.world import World

DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}


@dataclass
class HubSpotSim:
    url: str
    app: Starlette


@contextmanager
def shared_clock(sim: HubSpotSim, clock: ManualClock) -> Iterator[ManualClock]:
    """The simulator's rate windows run on `clock` inside the block (see tests/sim_clock.py)."""
    control: SimControl = sim.app.state.control
    previous = control.clock
    control.use_clock(clock)
    try:
        yield clock
    finally:
        control.use_clock(previous)


def manual_clock() -> ManualClock:
    """A test clock later than every world and simulator timestamp (search windows end at its now)."""
    return ManualClock(datetime(2027, 6, 1, tzinfo=UTC))


@pytest.fixture(name="hubspot", scope="module")
def hubspot_fixture(world: World) -> Iterator[HubSpotSim]:
    """The simulator in a thread with its own event loop, on a free port."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = create_app(world)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    task = asyncio.run_coroutine_threadsafe(server.serve(sockets=[sock]), loop)
    while not server.started:
        if task.done():
            task.result()
        threading.Event().wait(0.01)
    try:
        yield HubSpotSim(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        task.result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


Admin = Callable[..., Any]


@pytest.fixture(name="admin")
async def admin_fixture(hubspot: HubSpotSim) -> AsyncIterator[Admin]:
    """`await admin(method, path, json)` against `/_sim/`; the simulator is reset after the test."""
    async with aiohttp.ClientSession() as http:

        async def call(method: str, path: str, json: Any = None) -> Any:
            async with http.request(method, f"{hubspot.url}/_sim/{path}", json=json) as resp:
                return await resp.json()

        await call("POST", "reset")
        yield call
        await call("POST", "reset")


Factory = Callable[..., HubSpotClient]


@pytest.fixture(name="make_client")
async def make_client_fixture(hubspot: HubSpotSim) -> AsyncIterator[Factory]:
    made: list[HubSpotClient] = []

    def make(
        search_cap: int = 10_000, clock: Clock | None = None, system: str | None = None, **overrides: Any
    ) -> HubSpotClient:
        config = SourceConfig(
            base_url=hubspot.url,
            credentials=dict(CREDENTIALS),
            **{"max_retries": 2, "retry_backoff_s": 0.01, **overrides},
        )
        client = HubSpotClient(config, system=system, search_cap=search_cap, clock=clock or manual_clock())
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def counts(admin: Admin) -> dict[str, int]:
    stats = await admin("GET", "stats")
    out = {route: int(v["count"]) for route, v in stats["routes"].items()}
    out.update({f"status {k}": v for k, v in stats["statuses"].items()})
    return out
