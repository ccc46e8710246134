"""Fixtures of the conformance suites: a large world, each vendor's simulator, clients built as the
gateway builds them.

The world is the `large` profile, so that the listings of the vendors with small pages need several
pages. Each vendor's simulator is started once per session, on first use, apart from the simulators of
the other tests. Faults are cleared after each test (`admin`). Rebuilding a large simulator takes half a
minute, so the change-polling tests, which change records, are the last of each suite and leave their
changes: no test after them compares record values with the world.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from opsgraph.clock import ManualClock
from opsgraph.connectors.base import SourceClient, SourceConfig
from opsgraph.connectors.registry import Connector, default_registry
from opsgraph.model import Role
from simulators.simkit.admin import Faults
from simulators.world import World, build_world

from .ids import crm_ids, unknown_ids
from .serving import Admin, ServerThread, SimServer, find_simulator

WORLD_SEED = 7
WORLD_PROFILE = "large"


def vendors_of(role: Role) -> list[str]:
    """The registered vendors whose connector plays `role` (read at collection time).

    A registry that cannot load (a connector that does not import) gives one vendor named after the
    error, so every test of the suite fails with it rather than the suite vanishing.
    """
    try:
        registry = default_registry()
    except Exception as exc:
        return [f"registry-unloadable:{type(exc).__name__}"]
    return [v for v in registry.vendors() if registry.get(v).role is role]


def system_name(role: Role) -> str:
    """The configured system name clients are built with: not the vendor's, as in a real deployment."""
    return f"{role.value}-conformance"


@pytest.fixture(scope="session")
def conformance_world() -> World:
    return build_world(seed=WORLD_SEED, profile=WORLD_PROFILE)


@pytest.fixture(scope="session")
def sim_thread() -> Iterator[ServerThread]:
    thread = ServerThread()
    try:
        yield thread
    finally:
        thread.close()


@pytest.fixture(scope="session")
def sims(sim_thread: ServerThread, conformance_world: World) -> Callable[[str], SimServer]:
    """`sims(vendor)`: that vendor's simulator, started on first use."""
    running: dict[str, SimServer] = {}

    def get(vendor: str) -> SimServer:
        if vendor not in running:
            running[vendor] = sim_thread.serve(find_simulator(vendor), conformance_world)
        return running[vendor]

    return get


@pytest.fixture
def connector(vendor: str) -> Connector:
    return default_registry().get(vendor)


@pytest.fixture(autouse=True)
def world_ids_known(connector: Connector) -> None:
    """A registered vendor whose simulator ids the suite does not know fails, naming it (`ids.py`)."""
    if connector.role is Role.CRM:
        crm_ids(connector.vendor)
    else:
        unknown_ids(connector.vendor)


@pytest.fixture
def sim(vendor: str, sims: Callable[[str], SimServer]) -> SimServer:
    return sims(vendor)


@pytest.fixture
async def admin(sim: SimServer) -> AsyncIterator[Admin]:
    """The simulator's admin API; faults are cleared after the test."""
    control = Admin(sim)
    yield control
    await control.faults(**Faults().model_dump())


MakeClient = Callable[..., Any]


@pytest.fixture
async def make_client(connector: Connector, sim: SimServer) -> AsyncIterator[MakeClient]:
    """`make_client(system=..., clock=..., **config)`: the vendor's client as the gateway builds it."""
    made: list[SourceClient] = []

    def make(system: str | None = None, clock: ManualClock | None = None, **overrides: Any) -> Any:
        config = SourceConfig(
            base_url=sim.base_url,
            credentials=sim.credentials,
            **{"max_retries": 2, "retry_backoff_s": 0.01, **overrides},
        )
        client = connector.client(
            config, system=system or system_name(connector.role), clock=clock or ManualClock()
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
