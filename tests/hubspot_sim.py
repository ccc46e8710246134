"""The HubSpot simulator on a loopback port for the HubSpot tests, plus clients and admin helpers.

It runs on its own (not in the simkit `SimulatorGroup`) until `SourceName` has a HubSpot member.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import uvicorn

from opsgraph.clock import Clock
from opsgraph.sources.base import SourceConfig
from opsgraph.sources.hubspot import HubSpotClient
from opsgraph.sources.hubspot.simulator import CREDENTIALS, create_app
from opsgraph.sources.simkit.serve import bind
from opsgraph.sources.world import World

DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}


@dataclass
class HubSpotSim:
    url: str


@pytest.fixture(name="hubspot", scope="module")
def hubspot_fixture(world: World) -> Iterator[HubSpotSim]:
    """The simulator in a thread with its own event loop, on a free port."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(world), log_level="warning", lifespan="off"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    task = asyncio.run_coroutine_threadsafe(server.serve(sockets=[sock]), loop)
    while not server.started:
        if task.done():
            task.result()
        threading.Event().wait(0.01)
    try:
        yield HubSpotSim(f"http://127.0.0.1:{port}")
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

    def make(search_cap: int = 10_000, clock: Clock | None = None, **overrides: Any) -> HubSpotClient:
        config = SourceConfig(
            base_url=hubspot.url,
            credentials=dict(CREDENTIALS),
            **{"max_retries": 2, "retry_backoff_s": 0.01, **overrides},
        )
        client = HubSpotClient(config, search_cap=search_cap, clock=clock)
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
