"""A vendor's simulator on a loopback port, with a log of what it served, and its `/_sim/` admin API.

The simulators run in one background thread with its own event loop (as `SimulatorThread` does), so a
test's client and the simulator talk over real sockets. Each app is wrapped in `Recorder`, which notes
every vendor request (method, path, query, request body) and the bytes of its answer: that is how a
suite sees that a filter reached the vendor, and how many pages a listing took.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from opsgraph.clock import ManualClock
from simulators.simkit.admin import SimControl
from simulators.simkit.serve import SimulatorInfo, bind, simulator_info
from simulators.world import World


@dataclass
class Seen:
    """One vendor request the simulator answered, and the bytes of its answer so far."""

    method: str
    path: str
    query: str
    body: bytes
    status: int
    bytes_out: int = 0


@dataclass
class RequestLog:
    seen: list[Seen] = field(default_factory=list)

    def mark(self) -> int:
        return len(self.seen)

    def since(self, mark: int) -> list[Seen]:
        return self.seen[mark:]


class Recorder:
    """ASGI wrapper: logs each non-admin HTTP request and the size of its answer."""

    def __init__(self, app: Starlette, log: RequestLog) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim/"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        seen: list[Seen] = []

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            # Logged at the start of the answer: a client may have the whole of a bodiless answer (and
            # return) before the empty body message passes here. Bytes are added as they go out.
            if message["type"] == "http.response.start":
                query = scope.get("query_string", b"").decode("latin-1")
                seen.append(Seen(scope["method"], scope["path"], query, b"".join(chunks), message["status"]))
                self.log.seen.append(seen[0])
            elif message["type"] == "http.response.body" and seen:
                seen[0].bytes_out += len(message.get("body", b""))
            await send(message)

        await self.app(scope, receiving, sending)


@dataclass
class SimServer:
    info: SimulatorInfo
    app: Starlette
    url: str
    log: RequestLog

    @property
    def vendor(self) -> str:
        return self.info.vendor

    @property
    def base_url(self) -> str:
        """The connector's `base_url` in the vendor's real URL shape."""
        return self.info.connector_base_url(self.url)

    @property
    def credentials(self) -> dict[str, str]:
        return dict(self.info.credentials)

    @contextmanager
    def shared_clock(self, clock: ManualClock) -> Iterator[ManualClock]:
        """The simulator's rate window runs on `clock` inside the block (see tests/sim_clock.py)."""
        control: SimControl = self.app.state.control
        previous = control.clock
        control.use_clock(clock)
        try:
            yield clock
        finally:
            control.use_clock(previous)


def find_simulator(vendor: str) -> SimulatorInfo:
    """The vendor's `SimulatorInfo`; a vendor with no simulator fails the test, naming it."""
    try:
        return simulator_info(vendor)
    except ModuleNotFoundError:
        pytest.fail(
            f"vendor {vendor!r} is registered but has no simulator (simulators/{vendor}/simulator.py)"
        )
    except AttributeError:
        pytest.fail(f"simulators/{vendor}/simulator.py exports no SIMULATOR (a simkit SimulatorInfo)")


class ServerThread:
    """Simulators on free loopback ports, served from one background event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="conformance-sims", daemon=True)
        self._servers: list[tuple[uvicorn.Server, Any]] = []
        self._thread.start()

    def serve(self, info: SimulatorInfo, world: World) -> SimServer:
        app = info.create_app(world)
        log = RequestLog()
        sock = bind("127.0.0.1", 0)
        port = sock.getsockname()[1]
        config = uvicorn.Config(Recorder(app, log), log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        task = asyncio.run_coroutine_threadsafe(server.serve(sockets=[sock]), self._loop)
        self._servers.append((server, task))
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
            threading.Event().wait(0.01)
        return SimServer(info, app, f"http://127.0.0.1:{port}", log)

    def close(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        for _, task in self._servers:
            task.result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


class Admin:
    """The simulator's `/_sim/` API (simulators/simkit/admin.py), over HTTP."""

    def __init__(self, sim: SimServer) -> None:
        self.sim = sim

    async def _call(self, method: str, path: str, json: Any = None) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, f"{self.sim.url}/_sim/{path}", json=json) as resp,
        ):
            body = await resp.json()
            if resp.status != 200:
                raise AssertionError(f"{self.sim.vendor} /_sim/{path} {json!r}: {resp.status} {body}")
            return body

    async def reset(self) -> None:
        await self._call("POST", "reset")

    async def faults(self, **faults: Any) -> None:
        await self._call("PUT", "faults", faults)

    async def event(self, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "events", body)
        return result

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "stats")
        return result

    async def route_counts(self) -> dict[str, int]:
        """Requests per route (`GET /v2/projects`) since the last reset."""
        return {route: int(v["count"]) for route, v in (await self.stats())["routes"].items()}

    async def status_counts(self) -> dict[int, int]:
        return {int(k): int(v) for k, v in (await self.stats())["statuses"].items()}
