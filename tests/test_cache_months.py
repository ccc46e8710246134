"""Time entries cached by calendar month (`ReadCache.get_or_fetch_months`), on mem:// and Redis: over the
real Harvest simulator through the production client; upstream requests counted at the simulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from cashews import Cache
from test_gateway_support import HV, settings_for

from opsgraph import model
from opsgraph.cache import ReadCache, create_backend, query_key
from opsgraph.cache.months import month_of, next_month
from opsgraph.clock import ManualClock, PinnedClock
from opsgraph.resolvers.context import RequestContext
from opsgraph.resolvers.sources import Sources
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")

TIME_ENTRIES = "GET /v2/time_entries"


def months_back(world: World, n: int) -> date:
    """The first day of the month `n` months before the world's today's."""
    month = month_of(world.as_of)
    for _ in range(n):
        month = month_of(month - timedelta(days=1))
    return month


def last_day(month: date) -> date:
    return next_month(month) - timedelta(days=1)


@dataclass
class Bench:
    """A read cache over the simulators, with the Harvest simulator's request count."""

    world: World
    sources: Sources
    cache: ReadCache | None
    stats_url: str
    http: httpx.AsyncClient

    async def requests(self) -> int:
        """Time entry listings (pages) Harvest served since the last call."""
        stats = (await self.http.get(self.stats_url)).json()
        (await self.http.delete(self.stats_url)).raise_for_status()
        count: int = stats["routes"].get(TIME_ENTRIES, {}).get("count", 0)
        return count

    async def entries(self, start: date, end: date, scope: str = "default") -> list[model.TimeEntry]:
        ctx = RequestContext.create(
            self.sources,
            correlation_id="t",
            clock=PinnedClock(self.world.as_of),
            cache=self.cache,
            scope=scope,
        )
        return await ctx.loaders.time_entries_in_range(start, end)


@pytest.fixture(params=["mem", "redis"])
def backend_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "mem":
        return None
    url: str = request.getfixturevalue("redis_server")
    return url


@pytest.fixture
async def backends(backend_url: str | None) -> AsyncIterator[list[Cache]]:
    """Backends to close after the test; on Redis they share the (flushed) server."""
    if backend_url is not None:
        admin = aioredis.from_url(backend_url)
        await admin.flushdb()
        await admin.aclose()
    made: list[Cache] = []
    yield made
    for backend in made:
        await backend.close()


@pytest.fixture
async def bench(
    simulators: SimulatorGroup, world: World, backend_url: str | None, backends: list[Cache]
) -> AsyncIterator[Bench]:
    settings = settings_for(simulators, world)
    sources = Sources.from_specs(settings.system_specs())
    backend = create_backend(backend_url)
    backends.append(backend)
    await backend.init()
    stats_url = f"{simulators.urls()[HV]}/_sim/stats"
    async with httpx.AsyncClient(timeout=30) as http:
        b = Bench(world, sources, ReadCache(backend, settings.cache, clock=ManualClock()), stats_url, http)
        await b.requests()
        try:
            yield b
        finally:
            await sources.close()


async def uncached(b: Bench, start: date, end: date) -> list[model.TimeEntry]:
    return await Bench(b.world, b.sources, None, b.stats_url, b.http).entries(start, end)


async def test_overlapping_ranges_fetch_only_the_months_not_cached(bench: Bench, world: World) -> None:
    m3, m2, m1 = months_back(world, 3), months_back(world, 2), months_back(world, 1)
    first = (m3, m1 + timedelta(days=14))  # three months, the last one in part
    second = (m2 + timedelta(days=9), world.as_of)  # two of those months, and the current one

    assert [e.key for e in await bench.entries(*first)] == [e.key for e in await uncached(bench, *first)]
    await bench.requests()
    await bench.entries(*first)
    assert await bench.requests() == 0

    got = await bench.entries(*second)
    fetched = await bench.requests()
    # only the current month went upstream: as many requests as reading it alone, without a cache
    alone = await uncached(bench, month_of(world.as_of), world.as_of)
    assert fetched == await bench.requests() > 0
    assert alone and {e.key for e in alone} <= {e.key for e in got}
    assert got == await uncached(bench, *second)  # same entries, same order, edges trimmed
    await bench.requests()

    # every month of either range is now cached: any range inside them is free
    for start, end in [(m3, world.as_of), (m1, last_day(m1)), (m2 + timedelta(days=3), m1)]:
        assert await bench.entries(start, end) == await uncached(bench, start, end)
        await bench.requests()
        await bench.entries(start, end)
        assert await bench.requests() == 0


async def test_invalidating_an_entry_drops_its_month(bench: Bench, world: World) -> None:
    assert bench.cache is not None
    month = months_back(world, 2)
    entries = await bench.entries(month, last_day(month))
    key = query_key("default", HV, "time_entry_months", {"is_billed": None, "month": month})
    assert await bench.cache.backend.get(key) is not None
    await bench.requests()

    assert await bench.cache.invalidate(HV, "time_entry", entries[0].id) >= 1
    assert await bench.cache.backend.get(key) is None
    assert await bench.entries(month, last_day(month)) == entries
    assert await bench.requests() > 0


async def test_a_month_is_refetched_once_its_ttl_has_passed(bench: Bench, world: World) -> None:
    assert bench.cache is not None
    clock = ManualClock(datetime.combine(world.as_of, datetime.min.time(), UTC))
    cache = bench.cache = ReadCache(bench.cache.backend, bench.cache.policy, clock=clock)
    ttl = cache.policy.ttl_for("time_entry")
    current = (month_of(world.as_of), world.as_of)
    await bench.entries(*current)
    assert await bench.requests() > 0

    clock.advance(ttl - 1)
    await bench.entries(*current)
    assert await bench.requests() == 0

    clock.advance(2)
    assert await bench.entries(*current) == await uncached(bench, *current)
    assert await bench.requests() > 0


async def test_every_backend_and_replica_reads_the_same_entries(
    bench: Bench, world: World, backend_url: str | None, backends: list[Cache]
) -> None:
    """What a replica reads from Redis (or mem://) is what a read without a cache gives, field by field."""
    assert bench.cache is not None
    start, end = months_back(world, 4) + timedelta(days=20), world.as_of
    expected = await uncached(bench, start, end)
    assert len(expected) > 100
    assert await bench.entries(start, end) == expected  # cold: from upstream
    assert await bench.entries(start, end) == expected  # warm: from this process's cache
    if backend_url is not None:
        other = create_backend(backend_url)  # another replica: the values come from Redis
        backends.append(other)
        await other.init()
        bench.cache = ReadCache(other, bench.cache.policy, clock=ManualClock())
        await bench.requests()
        assert await bench.entries(start, end) == expected
        assert await bench.requests() == 0
