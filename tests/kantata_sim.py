"""The Kantata simulator over the small world's international slice (EMEA, APAC), for the Kantata
client and simulator tests: a fresh simulator per module, a client factory, the admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from conformance.serving import Admin, ServerThread, SimServer

from opsgraph.clock import ManualClock
from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.kantata.client import KantataClient
from simulators.kantata.simulator import SIMULATOR
from simulators.world import World, for_regions

INTERNATIONAL = {"EMEA", "APAC"}
Factory = Callable[..., KantataClient]


@pytest.fixture(name="intl", scope="module")
def intl_fixture(world: World) -> World:
    return for_regions(world, INTERNATIONAL)


@pytest.fixture(name="kantata", scope="module")
def kantata_fixture(intl: World) -> Iterator[SimServer]:
    thread = ServerThread()
    try:
        yield thread.serve(SIMULATOR, intl)
    finally:
        thread.close()


@pytest.fixture(name="admin")
async def admin_fixture(kantata: SimServer) -> AsyncIterator[Admin]:
    control = Admin(kantata)
    yield control
    await control.faults(outage=False, rate_limit=None, error_rate=0, garbage=False)


@pytest.fixture(name="make_client")
async def make_client_fixture(kantata: SimServer) -> AsyncIterator[Factory]:
    made: list[KantataClient] = []

    def make(clock: ManualClock | None = None, **overrides: Any) -> KantataClient:
        config = SourceConfig(
            base_url=kantata.base_url,
            credentials=kantata.credentials,
            **{"retry_backoff_s": 0.01, **overrides},
        )
        client = KantataClient(config, system="psa-intl", clock=clock or ManualClock())
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


def routes(seen: list[Any]) -> list[str]:
    """`METHOD path` of each logged request."""
    return [f"{s.method} {s.path}" for s in seen]
