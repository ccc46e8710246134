"""The serving path keeps the interpreter's GC thresholds and freezes what start-up and warm-up built
(issue 7, item 14).

Raised thresholds let cyclic garbage pile up under load; `gc.freeze()` once started and after the
first requests keeps the long-lived objects out of full collections instead.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from test_gateway_support import settings_for

from opsgraph.gateway.app import create_app
from opsgraph.gateway.demo import SETTLE_AFTER_REQUESTS, gateway_server
from simulators.simkit.serve import SimulatorGroup, bind
from simulators.world import World

QUERY = "{ clients(first: 3) { nodes { name engagements { code } } } }"


@pytest.fixture(scope="module")
def default_thresholds() -> tuple[int, int, int]:
    """What a fresh interpreter starts with (this process's may have been changed)."""
    out = subprocess.run(
        [sys.executable, "-c", "import gc; print(*gc.get_threshold())"], capture_output=True, text=True
    )
    first, second, third = (int(v) for v in out.stdout.split())
    return first, second, third


@pytest.fixture
def thawed(default_thresholds: tuple[int, int, int]) -> Iterator[None]:
    """Start from default thresholds and nothing frozen; leave it so for the tests after this one."""
    gc.set_threshold(*default_thresholds)
    gc.unfreeze()
    yield
    gc.set_threshold(*default_thresholds)
    gc.unfreeze()


async def test_serving_keeps_default_thresholds_and_freezes_start_up_objects(
    simulators: SimulatorGroup, world: World, default_thresholds: tuple[int, int, int], thawed: None
) -> None:
    assert gc.get_freeze_count() == 0
    settings = settings_for(simulators, world)
    server = gateway_server(create_app(settings), settings)
    sock = bind("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), "the gateway stopped before it started"
            await asyncio.sleep(0.01)
        frozen_at_start = gc.get_freeze_count()
        assert frozen_at_start > 10_000  # the schema, the app and its clients at least
        warm_up = SETTLE_AFTER_REQUESTS[0]
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(warm_up):
                body = (await client.post(url, json={"query": QUERY})).json()
                assert "errors" not in body
                assert len(body["data"]["clients"]["nodes"]) == 3
        assert server.server_state.total_requests == warm_up
        await server.on_tick(1)  # what uvicorn calls every 0.1 s
        assert gc.get_threshold() == default_thresholds
        assert gc.get_freeze_count() > frozen_at_start  # the cached entries and parsed query joined
        assert server.settle_after == list(SETTLE_AFTER_REQUESTS[1:])
    finally:
        server.should_exit = True
        await task
