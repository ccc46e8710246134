"""Redis failures never fail a read: a second private redis-server is started here, then killed or hung."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis
from redis_process import RedisProcess

from opsgraph.cache import CachePolicy, ReadCache, create_backend
from opsgraph.clock import ManualClock
from opsgraph.model import Client

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")

SF = "crm-emea"


class Upstream:
    def __init__(self, data: dict[str, object]) -> None:
        self.data = data
        self.calls: list[list[str]] = []

    async def fetch(self, ids: list[str]) -> dict[str, object]:
        self.calls.append(list(ids))
        return {i: self.data[i] for i in ids if i in self.data}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "opsgraph.cache" and r.levelno >= logging.WARNING]


async def test_redis_killed_mid_run_falls_back_to_the_source_and_recovers(
    own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="opsgraph.cache")
    backend = create_backend(own_redis.url)
    clock = ManualClock()
    cache = ReadCache(backend, CachePolicy(backend_retry_s=0.05), clock=clock)
    upstream = Upstream({"a": Client(system=SF, id="a", name="A"), "b": Client(system=SF, id="b", name="B")})
    calls = 0

    async def clients() -> object:
        nonlocal calls
        calls += 1
        return ["a", "b"]

    async def read_both() -> None:
        many = await cache.get_or_fetch_many(source=SF, entity="client", ids=["a", "b"], fetch=upstream.fetch)
        assert many.value == upstream.data
        listed = await cache.get_or_fetch(
            source=SF, query="clients", params={}, fetch=clients, entity="client"
        )
        assert listed.value == ["a", "b"]

    try:
        await read_both()
        await read_both()
        assert (len(upstream.calls), calls) == (1, 1)

        own_redis.stop()
        async with asyncio.timeout(10):  # a guard against hanging on the dead server, not a measurement
            while len(upstream.calls) == 1:  # the local copy serves until its listener sees Redis gone
                await read_both()
                await asyncio.sleep(0.01)
            clock.advance(0.06)
            before = len(upstream.calls), calls
            for _ in range(5):
                await read_both()
                clock.advance(0.06)  # past backend_retry_s: every round probes the dead server again
            assert await cache.invalidate(SF, "client", "a") == 0

        after = len(upstream.calls), calls
        assert (after[0] - before[0], after[1] - before[1]) == (5, 5)  # every read went to the source
        assert len(warnings_of(caplog)) == 1
        assert "unavailable" in warnings_of(caplog)[0].getMessage()
        (metric,) = cache.metrics()
        assert metric.errors > 0

        own_redis.start()
        clock.advance(0.06)
        await read_both()  # probes, recovers, caches again
        await read_both()
        assert (len(upstream.calls), calls) == (after[0] + 1, after[1] + 1)
        assert any("recovered" in r.getMessage() for r in caplog.records if r.name == "opsgraph.cache")
        assert len(warnings_of(caplog)) == 1
    finally:
        await backend.close()


async def test_an_invalidation_missed_during_an_outage_is_replayed_on_recovery(
    own_redis: RedisProcess,
) -> None:
    backend = create_backend(own_redis.url)
    clock = ManualClock()
    cache = ReadCache(backend, CachePolicy(backend_retry_s=0.05), clock=clock)
    upstream = Upstream({"a": Client(system=SF, id="a", name="old")})

    async def read() -> object:
        got = await cache.get_or_fetch_many(source=SF, entity="client", ids=["a"], fetch=upstream.fetch)
        return got.value["a"]

    try:
        assert await read() == Client(system=SF, id="a", name="old")
        own_redis.stop()
        upstream.data["a"] = Client(system=SF, id="a", name="new")
        assert await cache.invalidate(SF, "client", "a") == 0  # the change event arrives while Redis is down
        own_redis.start()  # Redis comes back with its data (append-only file): the old value is still there
        clock.advance(0.06)

        assert await read() == Client(system=SF, id="a", name="new")
        assert await read() == Client(system=SF, id="a", name="new")
        assert len(upstream.calls) == 2
    finally:
        await backend.close()


async def test_a_hung_redis_times_out_fast(own_redis: RedisProcess, caplog: pytest.LogCaptureFixture) -> None:
    backend = create_backend(own_redis.url)
    clock = ManualClock()
    cache = ReadCache(backend, CachePolicy(backend_retry_s=0.05), clock=clock)
    upstream = Upstream({"a": Client(system=SF, id="a", name="A"), "b": Client(system=SF, id="b", name="B")})
    admin = aioredis.from_url(own_redis.url)
    try:
        await cache.get_or_fetch_many(source=SF, entity="client", ids=["a"], fetch=upstream.fetch)
        await admin.execute_command("CLIENT", "PAUSE", "60000", "ALL")  # every client's commands now hang

        async with asyncio.timeout(10):  # the socket timeout (0.5 s) ends the read, not the pause
            held = await cache.get_or_fetch_many(source=SF, entity="client", ids=["a"], fetch=upstream.fetch)
            got = await cache.get_or_fetch_many(source=SF, entity="client", ids=["b"], fetch=upstream.fetch)

        assert held.hit and held.value == {"a": Client(system=SF, id="a", name="A")}  # the local copy
        assert got.value == {"b": Client(system=SF, id="b", name="B")}
        assert not got.hit
        assert upstream.calls == [["a"], ["b"]]  # read around the hung cache, from the source
        (metric,) = cache.metrics()
        assert metric.errors == 1
        assert len(warnings_of(caplog)) == 1
    finally:
        own_redis.stop()  # the pause blocks every command, UNPAUSE included: end it with the server
        await admin.aclose()
        await backend.close()


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    messages = [r.getMessage() for r in caplog.records if r.name == "opsgraph.cache"]
    return [m for m in messages if "unavailable" in m], [m for m in messages if "recovered" in m]


async def test_one_outage_is_logged_once_lost_and_once_recovered(
    own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """A write sent before the loss that succeeds after it is a straggler, not a recovery.

    Redis pauses writes for 1.25 s (`CLIENT PAUSE ... WRITE`; reads still answer) with a 1 s socket
    timeout: write B, sent first, times out (the loss); write A, sent 0.5 s later, is answered when
    the pause ends. Then Redis is stopped (a real outage) and started again. Before the fix: lost,
    "recovered" (A), lost again, recovered: two of each.
    """
    caplog.set_level(logging.INFO, logger="opsgraph.cache")
    backend = create_backend(own_redis.url, socket_timeout_s=1.0)
    clock = ManualClock()
    cache = ReadCache(backend, CachePolicy(backend_retry_s=0.05), clock=clock)
    upstream = Upstream({k: Client(system=SF, id=k, name=k.upper()) for k in "abcd"})
    admin = aioredis.from_url(own_redis.url)

    async def read(key: str) -> None:
        got = await cache.get_or_fetch_many(source=SF, entity="client", ids=[key], fetch=upstream.fetch)
        assert got.value == {key: upstream.data[key]}

    try:
        await admin.execute_command("CLIENT", "PAUSE", "1250", "WRITE")
        first = asyncio.create_task(read("b"))
        await asyncio.sleep(0.5)  # sequencing the two writes inside the pause, not waiting for a TTL
        straggler = asyncio.create_task(read("a"))
        await asyncio.gather(first, straggler)
        lost, recovered = outage_lines(caplog)
        assert (len(lost), recovered) == (1, [])  # B's timeout is the loss; A's late success no recovery

        own_redis.stop()
        clock.advance(0.06)
        await read("c")  # read through to the source; the outage is already logged
        own_redis.start()
        clock.advance(0.06)
        await read("d")  # probes, recovers
        await read("d")  # and caches again
        lost, recovered = outage_lines(caplog)
        assert (len(lost), len(recovered)) == (1, 1), (lost, recovered)
        assert upstream.calls == [["b"], ["a"], ["c"], ["d"]]
    finally:
        await admin.aclose()
        await backend.close()
