"""ReadCache on both backends: mem:// and the private Redis from `redis_server`.

`Upstream` stands in for a vendor connector (it counts calls and the ids it got); everything of ours is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping

import pytest
import redis.asyncio as aioredis
from cashews import Cache

from opsgraph.cache import CachePolicy, CacheRead, ReadCache, create_backend, entity_tag, tag
from opsgraph.clock import ManualClock
from opsgraph.connectors.errors import SourceRateLimited, SourceRejected, SourceTimeout, SourceUnavailable
from opsgraph.model import Client, Opportunity

SF = "crm-emea"
"""The configured CRM system the records come from: the cache's `source` part is a system name."""

# cashews 7.6 closes its redis client with the deprecated `close()`
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")


def client(id: str, name: str | None = None) -> Client:
    return Client(system=SF, id=id, name=name or f"Client {id}")


class Upstream:
    """A fake vendor: returns records from `data`, counts calls, can be slowed down or made to fail."""

    def __init__(
        self, data: Mapping[str, object] | None = None, *, delay: float = 0.0, gated: bool = False
    ) -> None:
        self.data: dict[str, object] = dict(data or {})
        self.delay = delay
        self.calls: list[list[str]] = []
        self.error: Exception | None = None
        self.gate = asyncio.Event()  # `gated`: every fetch waits here until the test opens it
        self._called = asyncio.Condition()
        if not gated:
            self.gate.set()

    async def fetch(self, ids: list[str]) -> dict[str, object]:
        self.calls.append(list(ids))
        found = {i: self.data[i] for i in ids if i in self.data}  # what the vendor had when asked
        async with self._called:
            self._called.notify_all()
        await asyncio.sleep(self.delay)
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return found

    async def called(self, times: int) -> None:
        """Until `fetch` has been entered `times` times."""
        async with asyncio.timeout(10), self._called:
            await self._called.wait_for(lambda: len(self.calls) >= times)


class Query:
    """A fake list endpoint."""

    def __init__(self, value: object, *, delay: float = 0.0) -> None:
        self.value = value
        self.delay = delay
        self.calls = 0
        self.error: Exception | None = None

    async def fetch(self) -> object:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.value


async def flush(url: str) -> None:
    r = aioredis.from_url(url)
    try:
        await r.flushdb()
    finally:
        await r.aclose()


@pytest.fixture(params=["mem", "redis"])
def backend_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "mem":
        return None
    url: str = request.getfixturevalue("redis_server")
    return url


@pytest.fixture
async def make_backend(backend_url: str | None) -> AsyncIterator[object]:
    """Factory: a fresh backend; on Redis every backend talks to the same (flushed) server."""
    if backend_url is not None:
        await flush(backend_url)
    made: list[Cache] = []

    def make() -> Cache:
        made.append(create_backend(backend_url))
        return made[-1]

    yield make
    for cache in made:
        await cache.close()


@pytest.fixture
async def backend(make_backend: object) -> Cache:
    assert callable(make_backend)
    cache: Cache = make_backend()
    return cache


@pytest.fixture
async def second_backend(backend: Cache, backend_url: str | None, make_backend: object) -> Cache:
    """A backend another app instance would use: the same Redis, or the very same memory store."""
    if backend_url is None:
        return backend
    assert callable(make_backend)
    cache: Cache = make_backend()
    return cache


async def many(
    cache: ReadCache,
    upstream: Upstream,
    ids: Iterable[str],
    *,
    entity: str = "client",
    scope: str = "default",
) -> dict[str, object | None]:
    read = await cache.get_or_fetch_many(
        source=SF, entity=entity, ids=list(ids), fetch=upstream.fetch, scope=scope
    )
    return read.value


def tags_of_clients(clients: object) -> list[str]:
    assert isinstance(clients, list)
    return [tag(SF, "client", c.id) for c in clients]


# ------------------------------------------------------------------ warm, partial, None


async def test_warm_read_makes_no_fetch(backend: Cache) -> None:
    upstream = Upstream({"a": client("a"), "b": client("b")})
    cache = ReadCache(backend, CachePolicy())

    first = await cache.get_or_fetch_many(source=SF, entity="client", ids=["a", "b"], fetch=upstream.fetch)
    second = await cache.get_or_fetch_many(source=SF, entity="client", ids=["a", "b"], fetch=upstream.fetch)

    assert upstream.calls == [["a", "b"]]
    assert first.value == second.value == {"a": client("a"), "b": client("b")}
    assert not first.hit
    assert second.hit
    assert second.stale_age_s is None


async def test_partial_batch_fetches_only_the_missing_ids(backend: Cache) -> None:
    upstream = Upstream({i: client(i) for i in "abc"})
    cache = ReadCache(backend, CachePolicy())
    await many(cache, upstream, ["a", "b"])

    result = await cache.get_or_fetch_many(
        source=SF, entity="client", ids=["a", "b", "c"], fetch=upstream.fetch
    )

    assert upstream.calls == [["a", "b"], ["c"]]
    assert result.value == {i: client(i) for i in "abc"}
    assert not result.hit


async def test_duplicate_ids_are_fetched_once(backend: Cache) -> None:
    upstream = Upstream({"a": client("a")})
    cache = ReadCache(backend, CachePolicy())

    assert await many(cache, upstream, ["a", "a", "a"]) == {"a": client("a")}
    assert upstream.calls == [["a"]]


async def test_missing_records_are_cached_as_none(backend: Cache) -> None:
    upstream = Upstream({"a": client("a")})
    cache = ReadCache(backend, CachePolicy())

    assert await many(cache, upstream, ["a", "gone"]) == {"a": client("a"), "gone": None}
    again = await cache.get_or_fetch_many(source=SF, entity="client", ids=["gone"], fetch=upstream.fetch)

    assert again.value == {"gone": None}
    assert again.hit
    assert upstream.calls == [["a", "gone"]]


async def test_query_results_are_cached_per_parameters(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    eu, us = Query([client("a")]), Query([client("b")])

    async def clients(region: str, q: Query) -> object:
        read = await cache.get_or_fetch(
            source=SF, query="clients", params={"region": region}, fetch=q.fetch, entity="client"
        )
        return read.value

    assert await clients("EU", eu) == [client("a")]
    assert await clients("US", us) == [client("b")]
    assert await clients("EU", eu) == [client("a")]
    assert (eu.calls, us.calls) == (1, 1)


async def test_a_none_query_result_is_cached(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    q = Query(None)
    for _ in range(3):
        read = await cache.get_or_fetch(source=SF, query="one", params={}, fetch=q.fetch, entity="client")
        assert read.value is None
    assert q.calls == 1


# ------------------------------------------------------------------ invalidation


async def test_invalidate_removes_that_id_and_the_lists_tagged_with_it_only(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    upstream = Upstream({i: client(i) for i in "abc"})
    await many(cache, upstream, "abc")
    eu = Query([client("a"), client("b")])
    opps_a = Query([Opportunity(system=SF, id="o1", name="Deal", client_id="a", stage="Prospecting")])
    opps_c = Query([Opportunity(system=SF, id="o2", name="Deal 2", client_id="c", stage="Prospecting")])

    async def read_all() -> None:
        await cache.get_or_fetch(
            source=SF,
            query="clients",
            params={"region": "EU"},
            fetch=eu.fetch,
            entity="client",
            tags_for=tags_of_clients,
        )
        for q, client_id in ((opps_a, "a"), (opps_c, "c")):
            await cache.get_or_fetch(
                source=SF,
                query="opportunities_by_client",
                params={"client_id": client_id},
                fetch=q.fetch,
                entity="opportunity",
                tags=[tag(SF, "client", client_id)],
            )

    await read_all()
    assert (eu.calls, opps_a.calls, opps_c.calls) == (1, 1, 1)

    removed = await cache.invalidate(SF, "client", "a")

    # client a, the EU list (holds a; also every client list carries the client-wide tag), a's opportunities
    assert removed == 3
    upstream.calls.clear()
    assert await many(cache, upstream, "abc") == {i: client(i) for i in "abc"}
    assert upstream.calls == [["a"]]
    await read_all()
    assert (eu.calls, opps_a.calls, opps_c.calls) == (2, 2, 1)
    # nothing left to remove a second time... until it is read again
    assert await cache.invalidate(SF, "client", "zzz") == 1  # the EU list: client-wide tag


async def test_invalidate_of_an_unknown_id_removes_nothing(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    upstream = Upstream({"a": client("a")})
    await many(cache, upstream, ["a"])

    assert await cache.invalidate(SF, "client", "nope") == 0
    assert await cache.invalidate("psa-na", "client", "a") == 0
    await many(cache, upstream, ["a"])
    assert upstream.calls == [["a"]]


async def test_invalidate_covers_every_scope(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    upstream = Upstream({"a": client("a")})
    await many(cache, upstream, ["a"], scope="default")
    await many(cache, upstream, ["a"], scope="finance")

    assert await cache.invalidate(SF, "client", "a") == 2
    await many(cache, upstream, ["a"], scope="finance")
    assert upstream.calls == [["a"], ["a"], ["a"]]


async def test_tags_for_ties_a_record_to_other_entities(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    opp = Opportunity(system=SF, id="o1", name="Deal", client_id="a", stage="Prospecting")
    upstream = Upstream({"o1": opp})

    def by_client(o: object) -> list[str]:
        assert isinstance(o, Opportunity)
        return [tag(SF, "client", o.client_id)]

    async def read() -> None:
        await cache.get_or_fetch_many(
            source=SF, entity="opportunity", ids=["o1"], fetch=upstream.fetch, tags_for=by_client
        )

    await read()
    assert await cache.invalidate(SF, "client", "a") == 1
    await read()
    assert upstream.calls == [["o1"], ["o1"]]


async def test_a_value_fetched_while_it_is_invalidated_is_not_cached(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    upstream = Upstream({"a": client("a", "old")}, gated=True)

    reading = asyncio.create_task(many(cache, upstream, ["a"]))
    await upstream.called(1)  # the fetch has started and will return the old name
    upstream.data["a"] = client("a", "new")
    await cache.invalidate(SF, "client", "a")
    upstream.gate.set()
    assert (await reading)["a"] == client("a", "old")

    assert (await many(cache, upstream, ["a"]))["a"] == client("a", "new")
    assert len(upstream.calls) == 2


async def test_two_instances_share_values_and_invalidation(backend: Cache, second_backend: Cache) -> None:
    one, two = ReadCache(backend, CachePolicy()), ReadCache(second_backend, CachePolicy())
    upstream = Upstream({"a": client("a"), "b": client("b")})
    eu = Query([client("a")])

    await many(one, upstream, ["a", "b"])
    await one.get_or_fetch(
        source=SF, query="clients", params={"region": "EU"}, fetch=eu.fetch, entity="client"
    )
    read = await two.get_or_fetch_many(source=SF, entity="client", ids=["a", "b"], fetch=upstream.fetch)
    listed = await two.get_or_fetch(
        source=SF, query="clients", params={"region": "EU"}, fetch=eu.fetch, entity="client"
    )
    assert read.hit and listed.hit
    assert read.value == {"a": client("a"), "b": client("b")}
    assert listed.value == [client("a")]
    assert upstream.calls == [["a", "b"]]

    assert await two.invalidate(SF, "client", "a") == 2  # a, and the client list
    # on Redis, `one` drops its local copies when Redis's invalidation message reaches it
    await eventually(lambda: many(one, upstream, ["a", "b"]), lambda: len(upstream.calls) > 1)
    await eventually(
        lambda: one.get_or_fetch(
            source=SF, query="clients", params={"region": "EU"}, fetch=eu.fetch, entity="client"
        ),
        lambda: eu.calls > 1,
    )
    assert upstream.calls == [["a", "b"], ["a"]]
    assert eu.calls == 2


async def eventually(read: Callable[[], Awaitable[object]], done: Callable[[], bool]) -> None:
    """Read until `done` (at most 5 s): a peer's local copy is dropped within a Redis round trip."""
    for _ in range(500):
        await read()
        if done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the invalidation never reached the peer")


# ------------------------------------------------------------------ stampede


async def test_stampede_on_ids_makes_one_fetch(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    upstream = Upstream({i: client(i) for i in "abc"}, delay=0.05)

    results = await asyncio.gather(*(many(cache, upstream, ["a", "b", "c"]) for _ in range(50)))

    assert upstream.calls == [["a", "b", "c"]]
    assert all(r == {i: client(i) for i in "abc"} for r in results)
    (metric,) = cache.metrics()
    assert (metric.misses, metric.hits) == (150, 0)


async def test_stampede_on_a_query_makes_one_fetch(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    q = Query([client("a")], delay=0.05)

    reads = await asyncio.gather(
        *(
            cache.get_or_fetch(source=SF, query="clients", params={"p": 1}, fetch=q.fetch, entity="client")
            for _ in range(50)
        )
    )

    assert q.calls == 1
    assert all(r.value == [client("a")] for r in reads)


async def test_a_batch_awaits_the_ids_already_in_flight_and_fetches_only_the_rest(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    upstream = Upstream({i: client(i) for i in "abcd"}, gated=True)

    first = asyncio.create_task(many(cache, upstream, ["a", "b"]))
    await upstream.called(1)
    second = asyncio.create_task(many(cache, upstream, ["b", "c", "d"]))
    await upstream.called(2)
    upstream.gate.set()

    assert await first == {"a": client("a"), "b": client("b")}
    assert await second == {i: client(i) for i in "bcd"}
    assert upstream.calls == [["a", "b"], ["c", "d"]]


async def test_stampede_across_two_instances_makes_one_fetch(backend: Cache, second_backend: Cache) -> None:
    """Two app instances (replicas) over one backend: the key-set lock makes the second one wait."""
    one, two = ReadCache(backend, CachePolicy()), ReadCache(second_backend, CachePolicy())
    upstream = Upstream({"a": client("a"), "b": client("b")}, delay=0.2)

    results = await asyncio.gather(*(many(c, upstream, ["a", "b"]) for c in (one, two) for _ in range(10)))

    assert upstream.calls == [["a", "b"]]
    assert all(r == {"a": client("a"), "b": client("b")} for r in results)


async def test_a_failed_fetch_releases_waiters_with_the_error(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    upstream = Upstream(delay=0.05)
    upstream.error = SourceRejected(SF, "bad query")

    results = await asyncio.gather(*(many(cache, upstream, ["a"]) for _ in range(10)), return_exceptions=True)

    assert len(upstream.calls) == 1
    assert all(isinstance(r, SourceRejected) for r in results)
    # nothing was cached: the next read goes upstream again
    upstream.error = None
    upstream.data["a"] = client("a")
    assert await many(cache, upstream, ["a"]) == {"a": client("a")}


async def test_waiters_take_over_when_the_leader_is_cancelled(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    upstream = Upstream({"a": client("a")}, gated=True)

    leader = asyncio.create_task(many(cache, upstream, ["a"]))
    await upstream.called(1)
    waiter = asyncio.create_task(many(cache, upstream, ["a"]))
    for _ in range(3):
        await asyncio.sleep(0)  # the waiter finds "a" in flight and awaits the leader (no I/O before)
    leader.cancel()
    await upstream.called(2)  # the waiter took over
    upstream.gate.set()

    assert await waiter == {"a": client("a")}
    assert leader.cancelled()
    assert upstream.calls == [["a"], ["a"]]


# ------------------------------------------------------------------ stale on failure


@pytest.mark.parametrize("error", [SourceUnavailable, SourceTimeout, SourceRateLimited])
async def test_stale_value_served_while_the_source_is_down(backend: Cache, error: type[Exception]) -> None:
    clock = ManualClock()
    policy = CachePolicy()
    cache = ReadCache(backend, policy, clock=clock)
    upstream = Upstream({"inv1": "invoice 1"})
    ttl = policy.ttl_for("invoice")
    assert ttl == 120

    await many(cache, upstream, ["inv1"], entity="invoice")
    clock.advance(ttl + 30)
    upstream.error = error(SF, "down")
    read = await cache.get_or_fetch_many(source=SF, entity="invoice", ids=["inv1"], fetch=upstream.fetch)

    assert read.value == {"inv1": "invoice 1"}
    assert not read.hit
    assert read.stale_age_s == pytest.approx(ttl + 30)
    assert read.max_age_s == pytest.approx(ttl + 30)
    assert read.ttl_s == 0
    assert len(upstream.calls) == 2

    clock.advance(policy.stale_grace_s)  # now past ttl + grace
    with pytest.raises(error):
        await many(cache, upstream, ["inv1"], entity="invoice")


async def test_stale_query_value_served_while_the_source_is_down(backend: Cache) -> None:
    clock = ManualClock()
    policy = CachePolicy(stale_grace_s=60)
    cache = ReadCache(backend, policy, clock=clock)
    q = Query(["e1", "e2"])

    async def read() -> CacheRead[object]:
        return await cache.get_or_fetch(
            source="psa-na",
            query="time_entries",
            params={"engagement_id": "7"},
            fetch=q.fetch,
            entity="time_entry",
        )

    await read()
    clock.advance(45)  # time entries: 30 s
    q.error = SourceUnavailable("psa-na", "circuit open")
    stale = await read()
    assert stale.value == ["e1", "e2"]
    assert stale.stale_age_s == pytest.approx(45)

    clock.advance(60)
    with pytest.raises(SourceUnavailable):
        await read()


async def test_other_errors_are_not_masked_by_a_stale_value(backend: Cache) -> None:
    clock = ManualClock()
    cache = ReadCache(backend, CachePolicy(), clock=clock)
    upstream = Upstream({"a": client("a")})
    await many(cache, upstream, ["a"])
    clock.advance(3601)
    upstream.error = SourceRejected(SF, "invalid id")

    with pytest.raises(SourceRejected):
        await many(cache, upstream, ["a"])


async def test_an_expired_value_is_refreshed_when_the_source_is_up(backend: Cache) -> None:
    clock = ManualClock()
    cache = ReadCache(backend, CachePolicy(), clock=clock)
    upstream = Upstream({"a": client("a", "old")})
    await many(cache, upstream, ["a"])
    clock.advance(3601)
    upstream.data["a"] = client("a", "new")

    read = await cache.get_or_fetch_many(source=SF, entity="client", ids=["a"], fetch=upstream.fetch)
    assert read.value == {"a": client("a", "new")}
    assert read.stale_age_s is None
    assert read.max_age_s == pytest.approx(0)
    assert read.ttl_s == pytest.approx(3600)


async def test_a_never_cached_id_fails_alone_when_the_source_is_down(backend: Cache) -> None:
    """The stale id is served; an id with nothing cached carries its error; only such ids: it raises."""
    clock = ManualClock()
    cache = ReadCache(backend, CachePolicy(), clock=clock)
    upstream = Upstream({"a": client("a")})
    await many(cache, upstream, ["a"])
    clock.advance(3601)
    upstream.error = SourceUnavailable(SF, "down")

    read = await cache.get_or_fetch_many(source=SF, entity="client", ids=["a", "b"], fetch=upstream.fetch)
    assert upstream.calls[-1] == ["a", "b"]
    assert read.value == {"a": client("a")}
    assert read.stale_age_s == pytest.approx(3601)
    assert set(read.errors) == {"b"} and isinstance(read.errors["b"], SourceUnavailable)
    with pytest.raises(SourceUnavailable):
        await many(cache, upstream, ["b"])


async def test_read_reports_ages_and_remaining_freshness(backend: Cache) -> None:
    clock = ManualClock()
    cache = ReadCache(backend, CachePolicy(), clock=clock)
    upstream = Upstream({"a": client("a"), "b": client("b")})
    await many(cache, upstream, ["a"])
    clock.advance(100)
    await many(cache, upstream, ["b"])
    clock.advance(10)

    read = await cache.get_or_fetch_many(source=SF, entity="client", ids=["a", "b"], fetch=upstream.fetch)
    assert read.hit
    assert read.max_age_s == pytest.approx(110)
    assert read.ttl_s == pytest.approx(3600 - 110)


# ------------------------------------------------------------------ scope, policy switch, metrics


async def test_scopes_are_separate_entries(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy())
    finance = Upstream({"r1": "cost rate 120"})
    default = Upstream({"r1": "no cost rate"})

    assert await many(cache, finance, ["r1"], entity="resource", scope="finance") == {"r1": "cost rate 120"}
    assert await many(cache, default, ["r1"], entity="resource") == {"r1": "no cost rate"}
    assert await many(cache, finance, ["r1"], entity="resource", scope="finance") == {"r1": "cost rate 120"}
    assert await many(cache, default, ["r1"], entity="resource") == {"r1": "no cost rate"}
    assert (finance.calls, default.calls) == ([["r1"]], [["r1"]])


async def test_disabled_policy_passes_through(backend: Cache) -> None:
    cache = ReadCache(backend, CachePolicy(enabled=False))
    upstream = Upstream({"a": client("a")})
    q = Query([1])

    for _ in range(2):
        read = await cache.get_or_fetch_many(source=SF, entity="client", ids=["a", "x"], fetch=upstream.fetch)
        assert read.value == {"a": client("a"), "x": None}
        assert not read.hit and read.ttl_s == 0
        assert (
            await cache.get_or_fetch(source=SF, query="q", params={}, fetch=q.fetch, entity="x")
        ).value == [1]
    assert upstream.calls == [["a", "x"], ["a", "x"]]
    assert q.calls == 2
    assert await cache.invalidate(SF, "client", "a") == 0


async def test_metrics_count_exactly(backend: Cache) -> None:
    clock = ManualClock()
    cache = ReadCache(backend, CachePolicy(), clock=clock)
    upstream = Upstream({"a": "A", "b": "B", "c": "C"})
    h = Upstream({"t1": "T1"})

    await many(cache, upstream, ["a", "b"])  # 2 misses
    await many(cache, upstream, ["a", "b", "c"])  # 2 hits, 1 miss
    await cache.get_or_fetch_many(source="psa-na", entity="time_entry", ids=["t1"], fetch=h.fetch)  # 1 miss
    assert await cache.invalidate(SF, "client", "a") == 1  # 1 eviction
    clock.advance(3601)
    upstream.error = SourceUnavailable(SF, "down")
    # a: miss (source down, nothing cached: its error comes back alone); b, c: found expired
    # (2 evictions) and served stale
    read = await cache.get_or_fetch_many(
        source=SF, entity="client", ids=["a", "b", "c"], fetch=upstream.fetch
    )
    assert set(read.errors) == {"a"}
    await many(cache, upstream, ["b", "c"])  # 2 more expired observations, 2 more stale serves

    metrics = {(m.source, m.entity): m for m in cache.metrics()}
    crm = metrics[(SF, "client")]
    assert (crm.hits, crm.misses, crm.stale_serves, crm.evictions, crm.errors) == (2, 4, 4, 5, 0)
    psa = metrics[("psa-na", "time_entry")]
    assert (psa.hits, psa.misses, psa.stale_serves, psa.evictions, psa.errors) == (0, 1, 0, 0, 0)

    lines = cache.prometheus_lines()
    assert 'opsgraph_cache_hits_total{system="crm-emea",entity="client"} 2' in lines
    assert 'opsgraph_cache_misses_total{system="psa-na",entity="time_entry"} 1' in lines
    assert 'opsgraph_cache_stale_serves_total{system="crm-emea",entity="client"} 4' in lines
    assert 'opsgraph_cache_evictions_total{system="crm-emea",entity="client"} 5' in lines
    assert 'opsgraph_cache_errors_total{system="crm-emea",entity="client"} 0' in lines
    assert "# TYPE opsgraph_cache_hits_total counter" in lines


async def test_entity_wide_tag_is_the_star_tag() -> None:
    assert entity_tag(SF, "client") == tag(SF, "client", "*")
