"""Running a stack's simulators on loopback ports, in this event loop or in a thread of their own."""

from __future__ import annotations

import asyncio
import importlib
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from opsgraph.model import Role
from simulators.simkit.stacks import DEFAULT_STACK, PsaRegions, SystemPlan, plan_systems
from simulators.world import World

START_TIMEOUT_S = 180.0
"""How long `SimulatorThread` waits for its group to start (a safety net, not a measure)."""


VENDOR_KEEP_ALIVE_S = 60
"""How long a simulator keeps an idle connection (vendors' edges keep them about a minute; uvicorn's
5 s default made a reused connection meet the server's close under load)."""


@dataclass(frozen=True)
class SimulatorInfo:
    """What a vendor's `simulator` module exports as `SIMULATOR`."""

    vendor: str
    create_app: Callable[[World], Starlette]
    credentials: Mapping[str, str]
    api_path: str  # where the vendor API lives below the host, e.g. "/services/data/v60.0"
    connector_path: str = ""
    """What the connector's `base_url` adds to the host, in the vendor's real URL shape: nothing for
    Salesforce (the login host) and Harvest (paths are `/v2/...`), the API root for BambooHR and NetSuite."""

    def connector_base_url(self, host_url: str) -> str:
        return host_url.rstrip("/") + self.connector_path if self.connector_path else host_url


def simulator_info(vendor: str) -> SimulatorInfo:
    module = importlib.import_module(f"simulators.{vendor}.simulator")
    info: SimulatorInfo = module.SIMULATOR
    return info


@dataclass
class RunningSimulator:
    info: SimulatorInfo
    app: Starlette
    host: str
    port: int
    name: str = ""  # the system it serves as (`harvest`, `psa-emea`); the vendor when not given
    role: Role | None = None
    scope: frozenset[str] | None = None  # the regions it owns; None: everything of its role

    def __post_init__(self) -> None:
        self.name = self.name or self.info.vendor

    @property
    def vendor(self) -> str:
        return self.info.vendor

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connector_base_url(self) -> str:
        return self.info.connector_base_url(self.url)

    def system_settings(self) -> dict[str, Any]:
        """This simulator as the gateway's `[systems.<name>]` table."""
        table: dict[str, Any] = {
            "vendor": self.vendor,
            "base_url": self.connector_base_url,
            "credentials": dict(self.info.credentials),
        }
        if self.role is not None:
            table["role"] = self.role.value
        if self.scope is not None:
            table["scope"] = sorted(self.scope)
        return table


def bind(host: str, port: int) -> socket.socket:
    """Bind now, so that port 0 gives a free port with no race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it Nagle + delayed ACK add ~20 ms to small exchanges.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@dataclass
class SimulatorGroup:
    """The simulators of one stack serving one world. `start()` runs them in the current event loop.

    `stack` names the systems (`simkit/stacks.py`: `classic`, `hubspot`, `global`); each simulator is a
    system named after its vendor. `psa_regions` splits the PSA into one system per entry (name ->
    regions), each serving only its regions' engagements. `running` is keyed by system name, in port
    order: CRM on `base_port`, then the PSA(s), HR and ERP on the next ports.
    """

    world: World
    host: str = "127.0.0.1"
    base_port: int = 0  # 0: each on a free port
    stack: str = DEFAULT_STACK
    psa_regions: PsaRegions | None = None
    running: dict[str, RunningSimulator] = field(default_factory=dict)
    plans: list[SystemPlan] = field(init=False)
    _servers: list[uvicorn.Server] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.plans = plan_systems(self.world, self.stack, self.psa_regions)  # a bad stack fails here

    async def start(self) -> None:
        for offset, plan in enumerate(self.plans):
            info = simulator_info(plan.vendor)
            app = info.create_app(plan.world)
            sock = bind(self.host, self.base_port + offset if self.base_port else 0)
            port = sock.getsockname()[1]
            config = uvicorn.Config(
                app,
                log_level="warning",
                access_log=False,
                lifespan="off",
                log_config=None,
                timeout_keep_alive=VENDOR_KEEP_ALIVE_S,
            )
            server = uvicorn.Server(config)
            self._servers.append(server)
            self._tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
            self.running[plan.name] = RunningSimulator(
                info, app, self.host, port, plan.name, plan.role, plan.scope
            )
        while not all(s.started for s in self._servers):
            if any(t.done() for t in self._tasks):
                for t in self._tasks:
                    if t.done() and t.exception():
                        raise RuntimeError("a simulator failed to start") from t.exception()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._servers.clear()
        self._tasks.clear()

    def urls(self) -> dict[str, str]:
        """Each system's host URL, by system name."""
        return {name: sim.url for name, sim in self.running.items()}

    def system_settings(self) -> dict[str, dict[str, Any]]:
        """The gateway's `systems` settings for this group: one `[systems.<name>]` table per simulator."""
        return {name: sim.system_settings() for name, sim in self.running.items()}


class SimulatorThread:
    """The simulators in a thread with their own event loop: for tests and benchmarks.

    `with SimulatorThread(world, psa_regions={"psa-na": {"AMER"}, "psa-emea": {"EMEA", "APAC"}}) as group:`
    runs the classic stack with two regional PSAs; `group.system_settings()` is the gateway's `systems`.
    """

    def __init__(
        self,
        world: World,
        host: str = "127.0.0.1",
        base_port: int = 0,
        *,
        stack: str = DEFAULT_STACK,
        psa_regions: PsaRegions | None = None,
    ) -> None:
        self.group = SimulatorGroup(world, host, base_port, stack, psa_regions)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="simulators", daemon=True)

    def __enter__(self) -> SimulatorGroup:
        self._thread.start()
        # Loading is the slow part: the large world takes Harvest ~20 s and NetSuite ~14 s on a busy host.
        asyncio.run_coroutine_threadsafe(self.group.start(), self._loop).result(timeout=START_TIMEOUT_S)
        return self.group

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        asyncio.run_coroutine_threadsafe(self.group.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
