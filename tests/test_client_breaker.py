"""The circuit breaker: every trial ends CLOSED or OPEN, and only the system's own failures move it.

Through the production Harvest client against its simulator; time is a `ManualClock`, so a breaker
reset is passed by advancing it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from opsgraph.clock import ManualClock
from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.breaker import CircuitBreaker, CircuitState
from opsgraph.connectors.errors import (
    SourceBadResponse,
    SourceRateLimited,
    SourceUnavailable,
)
from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.harvest.resources import USERS
from opsgraph.connectors.health import FailureReason
from opsgraph.gateway.settings import demo_settings
from opsgraph.resolvers.sources import PROBE_TTL_S, Sources
from simulators.simkit.serve import RunningSimulator, SimulatorGroup

RESET_S = 30.0
TIME_ENTRY = "GET /v2/time_entries/{id:int}"
CLEAR = {"latency_ms": 0, "error_rate": 0, "outage": False, "garbage": False, "rate_limit": None}


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running["harvest"]


@pytest.fixture
async def admin(sim: RunningSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sim.url) as session:
        yield session
        await session.put("/_sim/faults", json=CLEAR)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def make_client(sim: RunningSimulator, clock: ManualClock, **overrides: Any) -> HarvestClient:
    values: dict[str, Any] = {
        "base_url": sim.url,
        "credentials": dict(sim.info.credentials),
        "max_retries": 0,
        "breaker_failure_threshold": 1,
        "breaker_reset_s": RESET_S,
        **overrides,
    }
    return HarvestClient(SourceConfig(**values), clock=clock)


@pytest.fixture
async def client(sim: RunningSimulator, clock: ManualClock) -> AsyncIterator[HarvestClient]:
    c = make_client(sim, clock)
    yield c
    await c.close()


async def faults(admin: aiohttp.ClientSession, **values: Any) -> None:
    async with admin.put("/_sim/faults", json={**CLEAR, **values}) as resp:
        assert resp.status == 200


async def route_count(admin: aiohttp.ClientSession, route: str) -> int:
    async with admin.get("/_sim/stats") as resp:
        body: dict[str, Any] = await resp.json()
    return int(body["routes"].get(route, {}).get("count", 0))


async def open_breaker(client: HarvestClient, admin: aiohttp.ClientSession, clock: ManualClock) -> None:
    """Open the breaker with one outage answer, then let its reset time pass."""
    await faults(admin, outage=True)
    with pytest.raises(SourceUnavailable):
        await client.list_users()
    assert client.breaker.state is CircuitState.OPEN
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await client.list_users()
    assert client.health.short_circuits == 1
    clock.advance(RESET_S + 0.001)  # past it (float sums of waits need not add up exactly)


# -- the breaker on its own ---------------------------------------------------------------------------


def test_a_trial_is_admitted_once_and_always_ends() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(failure_threshold=2, reset_s=10, clock=clock)
    for _ in range(2):
        permit = breaker.admit()
        assert permit is not None
        breaker.settle(permit, ok=False)
    assert breaker.state is CircuitState.OPEN and breaker.admit() is None
    clock.advance(9.9)
    assert breaker.admit() is None
    clock.advance(0.1)
    trial = breaker.admit()
    assert trial is not None and trial.trial and breaker.state is CircuitState.HALF_OPEN
    assert breaker.admit() is None  # one trial at a time
    breaker.abandon(trial)
    assert breaker.state is CircuitState.OPEN
    again = breaker.admit()
    assert again is not None and again.trial
    breaker.settle(again, ok=False)
    assert breaker.state is CircuitState.OPEN and breaker.admit() is None  # the reset starts over
    clock.advance(10)
    last = breaker.admit()
    assert last is not None
    breaker.settle(last, ok=True)
    breaker.abandon(last)  # the `finally` after a settled call changes nothing
    assert breaker.state is CircuitState.CLOSED and breaker.failures == 0


# -- each way a trial used to hang HALF_OPEN ----------------------------------------------------------


async def test_a_cancelled_trial_hands_the_breaker_back_to_open(
    simulators: SimulatorGroup, admin: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """The probe of `/readyz` and `sources` gives up after its timeout: the trial is cancelled."""
    tuning = {"max_retries": 0, "breaker_failure_threshold": 1, "breaker_reset_s": RESET_S}
    systems = {name: {**table, **tuning} for name, table in simulators.system_settings().items()}
    sources = Sources.from_specs(demo_settings(systems).system_specs(), clock=clock)
    harvest = sources.system("harvest").client
    assert isinstance(harvest, HarvestClient)
    try:
        await open_breaker(harvest, admin, clock)
        await faults(admin, latency_ms=500)
        error = await sources.probe("harvest", timeout_s=0.05)
        assert error is not None and error.code == "SOURCE_TIMEOUT"
        assert harvest.breaker.state is CircuitState.OPEN  # not HALF_OPEN until restart
        await faults(admin)
        clock.advance(PROBE_TTL_S)  # past the shared probe answer
        assert await sources.probe("harvest") is None  # the next call may try, and closes it
        assert harvest.breaker.state is CircuitState.CLOSED
    finally:
        await sources.close()


async def test_a_garbage_trial_opens_the_breaker_again(
    client: HarvestClient, admin: aiohttp.ClientSession, clock: ManualClock
) -> None:
    await open_breaker(client, admin, clock)
    await faults(admin, garbage=True)
    with pytest.raises(SourceBadResponse):
        await client.list_users()
    assert client.breaker.state is CircuitState.OPEN
    await faults(admin)
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await client.list_users()  # a fresh reset period
    clock.advance(RESET_S + 0.001)  # past it (float sums of waits need not add up exactly)
    assert await client.list_users()
    assert client.breaker.state is CircuitState.CLOSED


async def test_a_rate_limited_trial_closes_the_breaker(
    client: HarvestClient, admin: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """A 429 is the system answering: the trial ends CLOSED, and the rate limit is the caller's error."""
    await open_breaker(client, admin, clock)
    await faults(admin, rate_limit=0, rate_window_s=60)
    with pytest.raises(SourceRateLimited):
        await client.list_users()
    assert client.breaker.state is CircuitState.CLOSED


# -- what counts as the system failing ------------------------------------------------------------------


async def test_an_absurd_id_is_never_sent_and_never_opens_the_breaker(
    client: HarvestClient, admin: aiohttp.ClientSession
) -> None:
    """A 30-digit time entry id made the simulator answer 500, which opened the breaker in one call;
    now the client knows it is no Harvest id and answers it absent without a request."""
    before = await route_count(admin, TIME_ENTRY)
    for _ in range(3):
        assert await client.time_entries_by_ids(["9" * 30]) == {}
    assert await route_count(admin, TIME_ENTRY) - before == 0
    assert client.breaker.state is CircuitState.CLOSED
    assert client.health.failed == {}
    assert client.health.requests == 0


async def test_4xx_answers_are_rejections_not_breaker_failures(
    client: HarvestClient, admin: aiohttp.ClientSession
) -> None:
    for _ in range(3):
        assert await client.time_entries_by_ids(["1"]) == {}  # Harvest has no entry 1: its 404
    await faults(admin, error_rate=1.0)
    with pytest.raises(SourceUnavailable):
        await client.time_entries_by_ids(["1"])
    assert client.breaker.state is CircuitState.OPEN  # threshold 1: one 500 opens it
    assert client.health.failed == {FailureReason.REJECTED: 3, FailureReason.SERVER_ERROR: 1}


async def test_garbage_is_retried_counted_and_opens_the_breaker(
    sim: RunningSimulator, admin: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """A 200 that is not JSON is the system failing, like a 5xx: each try counts, then the breaker opens."""
    client = make_client(sim, clock, max_retries=2, breaker_failure_threshold=3)
    try:
        await faults(admin, garbage=True)
        before = await route_count(admin, "GET /v2/users")
        with pytest.raises(SourceBadResponse) as caught:
            await client.list_users()
        assert await route_count(admin, "GET /v2/users") - before == 3
        assert caught.value.code == "SOURCE_UNAVAILABLE" and isinstance(caught.value, SourceUnavailable)
        assert client.health.failed == {FailureReason.BAD_RESPONSE: 3}
        assert client.breaker.state is CircuitState.OPEN
        assert len(clock.slept) == 2  # the two retry waits, on the injected clock
    finally:
        await client.close()


async def test_a_body_of_the_wrong_shape_is_a_bad_response(
    client: HarvestClient, admin: aiohttp.ClientSession
) -> None:
    """JSON, but not the listing Harvest answers (here: a 200 whose object lacks `users`)."""
    with pytest.raises(SourceBadResponse, match="'users'"):
        await client.collect(USERS, path="/v2/tasks")
    assert client.health.failed == {FailureReason.BAD_RESPONSE: 1}
    assert client.breaker.state is CircuitState.OPEN
