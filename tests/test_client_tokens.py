"""Token endpoints (Salesforce, NetSuite) go through the same machinery as every call: a failing token
exchange is retried, counted and moves the breaker; refused credentials are neither retried nor a
breaker failure. Time is a `ManualClock`: retry waits, the breaker reset and token expiry advance it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from opsgraph.clock import ManualClock
from opsgraph.connectors.base import SourceClient, SourceConfig
from opsgraph.connectors.breaker import CircuitState
from opsgraph.connectors.errors import SourceBadResponse, SourceUnavailable
from opsgraph.connectors.health import FailureReason
from opsgraph.connectors.netsuite.client import NetSuiteClient
from opsgraph.connectors.salesforce.client import SalesforceClient
from simulators.simkit.serve import RunningSimulator, SimulatorGroup

TOKEN_ROUTES = {
    "salesforce": "POST /services/oauth2/token",
    "netsuite": "POST /services/rest/auth/oauth2/v1/token",
}
CLEAR = {"token_500": False, "token_garbage": False, "outage": False}
RESET_S = 30.0


async def read(client: SourceClient) -> None:
    """One cheap authenticated read."""
    if isinstance(client, SalesforceClient):
        await client.query("SELECT Id FROM Account LIMIT 1")
    else:
        assert isinstance(client, NetSuiteClient)
        await client.probe()


@pytest.fixture(params=["salesforce", "netsuite"])
def sim(request: pytest.FixtureRequest, simulators: SimulatorGroup) -> RunningSimulator:
    running: RunningSimulator = simulators.running[request.param]
    return running


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def make(sim: RunningSimulator, clock: ManualClock) -> AsyncIterator[Callable[..., SourceClient]]:
    made: list[SourceClient] = []

    def factory(**overrides: Any) -> SourceClient:
        values: dict[str, Any] = {
            "base_url": sim.connector_base_url,
            "credentials": dict(sim.info.credentials),
            "max_retries": 2,
            "breaker_failure_threshold": 3,
            "breaker_reset_s": RESET_S,
            **overrides,
        }
        cls = SalesforceClient if sim.info.vendor == "salesforce" else NetSuiteClient
        client: SourceClient = cls(SourceConfig(**values), clock=clock)
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.close()


@pytest.fixture
async def admin(sim: RunningSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sim.url) as session:
        yield session
        await session.put("/_sim/faults", json=CLEAR)


async def faults(admin: aiohttp.ClientSession, **values: Any) -> None:
    async with admin.put("/_sim/faults", json={**CLEAR, **values}) as resp:
        assert resp.status == 200


async def token_calls(admin: aiohttp.ClientSession, sim: RunningSimulator) -> int:
    async with admin.get("/_sim/stats") as resp:
        body: dict[str, Any] = await resp.json()
    return int(body["routes"].get(TOKEN_ROUTES[sim.info.vendor], {}).get("count", 0))


@pytest.mark.parametrize(
    ("fault", "reason", "error"),
    [
        ("token_500", FailureReason.SERVER_ERROR, SourceUnavailable),
        ("token_garbage", FailureReason.BAD_RESPONSE, SourceBadResponse),
    ],
)
async def test_a_failing_token_endpoint_is_retried_counted_and_opens_the_breaker(
    make: Callable[..., SourceClient],
    admin: aiohttp.ClientSession,
    sim: RunningSimulator,
    clock: ManualClock,
    fault: str,
    reason: FailureReason,
    error: type[Exception],
) -> None:
    client = make()
    await faults(admin, **{fault: True})
    before = await token_calls(admin, sim)
    with pytest.raises(error):
        await read(client)
    assert await token_calls(admin, sim) - before == 3  # the first try and max_retries=2 more
    assert client.health.failed == {reason: 3}
    assert len(clock.slept) == 2
    assert client.breaker.state is CircuitState.OPEN  # threshold 3
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await read(client)
    assert await token_calls(admin, sim) - before == 3  # refused without asking
    assert client.health.short_circuits == 1

    await faults(admin)
    clock.advance(RESET_S + 0.001)  # past it (float sums of waits need not add up exactly)
    await read(client)  # the trial: a token, then the read
    assert client.breaker.state is CircuitState.CLOSED
    assert await token_calls(admin, sim) - before == 4


async def test_refused_credentials_are_unavailable_not_retried_and_not_a_breaker_failure(
    make: Callable[..., SourceClient], admin: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    client = make(credentials={**sim.info.credentials, "client_secret": "wrong"}, breaker_failure_threshold=1)
    before = await token_calls(admin, sim)
    for _ in range(2):
        with pytest.raises(SourceUnavailable) as caught:
            await read(client)
        assert caught.value.status in (400, 401)
    assert await token_calls(admin, sim) - before == 2  # once per call: a 4xx is not retried
    assert client.breaker.state is CircuitState.CLOSED
    assert client.health.failures == 0 and client.health.failed == {FailureReason.REJECTED: 2}


async def test_netsuite_token_expiry_follows_the_clock(
    simulators: SimulatorGroup, clock: ManualClock
) -> None:
    """NetSuite tokens live an hour; the client refreshes a minute early, by its own clock."""
    sim = simulators.running["netsuite"]
    config = SourceConfig(base_url=sim.connector_base_url, credentials=dict(sim.info.credentials))
    client = NetSuiteClient(config, clock=clock)
    async with aiohttp.ClientSession(base_url=sim.url) as admin:
        try:
            before = await token_calls(admin, sim)
            await read(client)
            clock.advance(3600 - 61)
            await read(client)
            assert await token_calls(admin, sim) - before == 1
            clock.advance(1)
            await read(client)
            assert await token_calls(admin, sim) - before == 2
        finally:
            await client.close()
