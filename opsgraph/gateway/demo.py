"""Running things in one event loop: the gateway under uvicorn, the simulators, or both (the demo).

The simulators package owns the stacks (which vendor plays each role); here a stack is only a name,
and each simulator's system settings (its vendor among them) are data passed through to the gateway.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette

from opsgraph.gateway.settings import Settings, demo_settings, load_settings

if TYPE_CHECKING:  # the simulators are imported by the demo entry points only (see ARCHITECTURE §1)
    from simulators.simkit.serve import SimulatorGroup

__all__ = [
    "DEFAULT_STACK",
    "DEMO_SIM_BASE_PORT",
    "SETTLE_AFTER_REQUESTS",
    "GatewayServer",
    "describe_demo_keys",
    "describe_simulators",
    "gateway_server",
    "run_demo",
    "run_simulators",
    "serve_app",
    "settle_gc",
    "wait_for_stop_signal",
]

DEMO_SIM_BASE_PORT = 8101
DEFAULT_STACK = "classic"
Announce = Callable[[str], Any]


def settle_gc() -> None:
    """Collect once, then move every object alive now to the permanent generation (`gc.freeze()`).

    The schema, settings, clients, the read cache's entries and, in the demo, the world and the
    simulators' stores live long: frozen, full collections no longer scan them (in a warm large-world
    gateway they took up to 95 ms each, every few requests). The thresholds stay the interpreter's
    defaults, so garbage made while serving is collected as it is made and memory levels off
    (raised thresholds let it pile up: 335 MB to 1,186 MB in 60 s at 32 clients).
    """
    gc.collect()
    gc.freeze()


SETTLE_AFTER_REQUESTS = (10, 100, 1_000, 10_000)
"""Request counts after which the GC is settled again, so what warm-up built (cache entries, parsed
documents) is frozen too. A few times only: each freeze also keeps any cyclic garbage that requests
in flight leave behind, so a bounded number keeps memory level."""


class GatewayServer(uvicorn.Server):
    """uvicorn's server, settling the GC once started (lifespan done, socket listening) and after warm-up."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.settle_after = list(SETTLE_AFTER_REQUESTS)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        settle_gc()

    async def on_tick(self, counter: int) -> bool:
        """uvicorn's 0.1 s tick; settles the GC when the request count passes the next mark."""
        served = self.server_state.total_requests
        if self.settle_after and served >= self.settle_after[0]:
            self.settle_after = [mark for mark in self.settle_after if mark > served]
            settle_gc()
        return await super().on_tick(counter)


def gateway_server(app: Starlette, settings: Settings) -> GatewayServer:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # our root handler (JSON lines, `telemetry/logs.py`) writes uvicorn's lines too
        access_log=False,  # `telemetry/access.py` writes one richer line per request
        lifespan="on",
        http="httptools",  # the C parser (the loop is uvloop's: `cli._run`)
        server_header=False,  # no banner naming the server and its version
        timeout_keep_alive=settings.keep_alive_s,
        # The app's own limits decide (413 with a GraphQL error): h11's default header limit
        # (16 KiB) is below ours, a websocket message may be as large as a body.
        h11_max_incomplete_event_size=settings.max_header_bytes + 8 * 1024,
        ws_max_size=settings.max_body_bytes,
    )
    return GatewayServer(config)


async def serve_app(app: Starlette, settings: Settings) -> None:
    """Serve `app` on `settings.host:port` until uvicorn is told to stop (Ctrl-C, SIGTERM)."""
    await gateway_server(app, settings).serve()


async def wait_for_stop_signal() -> None:
    """Return on SIGINT or SIGTERM. Installed after the simulators start, so these handlers, not
    uvicorn's per-server ones, decide when to stop (and it works where SIGINT starts ignored)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def describe_demo_keys(settings: Settings) -> list[str]:
    """The demo's API keys, one per role (send as `X-API-Key` or `Authorization: Bearer`), and who
    a request without credentials is."""
    from opsgraph.auth.demo import DEMO_API_KEYS

    anonymous = settings.auth.anonymous_role
    lines = ["demo API keys (header X-API-Key: <key>, or Authorization: Bearer <key>):"]
    lines += [f"  {role:<10} {key}" for role, key in DEMO_API_KEYS.items()]
    lines.append(f"  without a key: {anonymous.value if anonymous else 'refused (401)'}")
    return lines


def describe_simulators(group: SimulatorGroup) -> list[str]:
    """One line per running simulator: system, URL, API path and credentials (then its vendor and
    regions, for a system not named after its vendor)."""
    lines = []
    for name, sim in group.running.items():
        creds = " ".join(f"{key}={value}" for key, value in sim.info.credentials.items())
        line = f"  {name:<10} {sim.url}  api {sim.info.api_path}  {creds}"
        if name != sim.vendor:
            line += f"  vendor={sim.vendor}"
        if sim.scope is not None:
            line += f"  scope={','.join(sorted(sim.scope))}"
        lines.append(line)
    return lines


async def run_simulators(
    *,
    profile: str,
    seed: int,
    host: str,
    base_port: int,
    stack: str = DEFAULT_STACK,
    announce: Announce = print,
) -> None:
    """The stack's simulators until cancelled (Ctrl-C)."""
    from simulators.simkit.serve import SimulatorGroup
    from simulators.world import build_world

    world = build_world(seed=seed, profile=profile)
    group = SimulatorGroup(world, host=host, base_port=base_port, stack=stack)
    await group.start()
    settle_gc()  # the world and the simulators' stores live as long as the process
    try:
        announce(f"simulators for the {profile} world (seed {seed}, as of {world.as_of}), {stack} stack:")
        for line in describe_simulators(group):
            announce(line)
        announce("admin routes under /_sim/ (stats, faults, reset, events); Ctrl-C to stop")
        await wait_for_stop_signal()
    finally:
        await group.stop()


async def run_demo(
    *,
    config_file: str | os.PathLike[str] | None = None,
    sim_base_port: int = DEMO_SIM_BASE_PORT,
    stack: str = DEFAULT_STACK,
    announce: Announce = print,
    **overrides: Any,
) -> None:
    """The gateway over the stack's simulators (small world), all in this event loop.

    The settings are read (and checked) before anything starts; the systems come from the
    simulators (one `[systems.<name>]` each), and "today" is pinned to the world's as-of date unless
    configured. The cache is in memory unless `redis_url` is configured (`OPSGRAPH_REDIS_URL`).
    """
    from opsgraph.gateway.app import create_app  # here, so `opsgraph simulate` never loads the gateway
    from simulators.simkit.serve import SimulatorGroup
    from simulators.world import build_world

    base = load_settings(config_file, require_sources=False, **overrides)
    world = build_world(profile="small")
    group = SimulatorGroup(world, host="127.0.0.1", base_port=sim_base_port, stack=stack)
    await group.start()  # the gateway's server settles the GC once started, the world included
    try:
        settings = demo_settings(
            group.system_settings(), config_file, **{**overrides, "today": base.today or world.as_of}
        )
        with demo_workflow_store(settings) as settings:
            app = create_app(settings)
            announce(f"simulators (small world, as of {world.as_of}), {stack} stack:")
            for line in describe_simulators(group):
                announce(line)
            for line in describe_demo_keys(settings):
                announce(line)
            announce(f"workflows: {settings.workflows.url()}")
            announce(f"opsgraph demo: GraphiQL at http://{settings.host}:{settings.port}/graphql")
            await serve_app(app, settings)
    finally:
        await group.stop()


@contextmanager
def demo_workflow_store(settings: Settings) -> Iterator[Settings]:
    """The demo's workflow store: where configured (`OPSGRAPH_WORKFLOWS__DATABASE_URL` or
    `__DATA_DIR`), else a SQLite file in a temporary directory removed at exit (the simulators'
    world is new at every start, so the workflows run against it must be too)."""
    workflows = settings.workflows
    if workflows.database_url or "data_dir" in workflows.model_fields_set:
        yield settings
        return
    with tempfile.TemporaryDirectory(prefix="opsgraph-demo-") as tmp:
        fresh = workflows.model_copy(update={"data_dir": Path(tmp)})
        yield settings.model_copy(update={"workflows": fresh})
