"""The read cache through the real gateway: uvicorn over real sockets, the real simulators upstream, and a
private Redis (FLUSHDB around every test). Upstream traffic is measured with each simulator's `/_sim/stats`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from metrics_support import sample
from starlette.applications import Starlette
from test_gateway_support import CLASSIC, SF, serving, settings_for

from opsgraph.cache import ReadCache, create_backend, entity_key
from opsgraph.cache.local_copy import CLIENT_SIDE_PREFIX
from opsgraph.clock import Clock, PinnedClock
from opsgraph.gateway.app import create_app
from opsgraph.gateway.http import GatewayState
from opsgraph.model import record_key
from opsgraph.resolvers.context import RequestContext
from opsgraph.resolvers.sources import Sources
from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")

SF_TOKEN = "POST /services/oauth2/token"
SF_QUERY = "GET /services/data/v60.0/query"
SF_COMPOSITE = "POST /services/data/v60.0/composite/sobjects/{sobject}"

INVOICES = "{ invoices(first: 50) { nodes { number client { name } } } }"
TIME_ENTRIES = (
    '{ timeEntries(filter: {from: "2026-10-01", to: "2026-10-07"}, first: 50) '
    "{ nodes { hours resource { name } } } }"
)
CLIENTS = "{ clients(first: 10) { nodes { name } } }"
READ_CACHE_ONLY = {"enabled": False}
"""These tests count the read cache's own work: no whole-response cache in front of it
(`test_response_cache.py` tests that one)."""


def nodes_query(client_ids: list[str]) -> str:
    """`nodes` of the CRM clients with these local ids."""
    ids = ", ".join(f'"{to_global_id("Client", record_key(SF, i))}"' for i in client_ids)
    return f"{{ nodes(ids: [{ids}]) {{ ... on Client {{ name }} }} }}"


# -- harness ------------------------------------------------------------------------------------


def state_of(app: Starlette) -> GatewayState:
    """The app's `GatewayState`: its `cache` is the ReadCache."""
    state: GatewayState = app.state.gateway
    return state


def cache_of(app: Starlette) -> ReadCache:
    cache = state_of(app).cache
    assert cache is not None, "lifespan not running"
    return cache


class Sims:
    """The four simulators' admin routes."""

    def __init__(self, http: httpx.AsyncClient, simulators: SimulatorGroup) -> None:
        self.http = http
        self.urls = simulators.urls()

    async def reset_stats(self) -> None:
        for url in self.urls.values():
            (await self.http.delete(f"{url}/_sim/stats")).raise_for_status()

    async def stats(self) -> dict[str, dict[str, Any]]:
        return {s: (await self.http.get(f"{url}/_sim/stats")).json() for s, url in self.urls.items()}

    async def routes(self, source: str) -> dict[str, int]:
        stats = (await self.http.get(f"{self.urls[source]}/_sim/stats")).json()
        return {k: v["count"] for k, v in stats["routes"].items()}

    async def total(self) -> int:
        return sum(s["total"] for s in (await self.stats()).values())

    async def faults(self, source: str, **faults: Any) -> None:
        (await self.http.put(f"{self.urls[source]}/_sim/faults", json=faults)).raise_for_status()


@pytest.fixture
async def redis_url(redis_server: str) -> AsyncIterator[str]:
    admin = aioredis.from_url(redis_server)
    await admin.flushdb()
    try:
        yield redis_server
    finally:
        await admin.flushdb()
        await admin.aclose()


@pytest.fixture
async def sims(simulators: SimulatorGroup) -> AsyncIterator[Sims]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Sims(http, simulators)


async def gql(http: httpx.AsyncClient, query: str) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body and "extensions" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def stat_of(cache: ReadCache, source: str, entity: str) -> tuple[int, int, int, int, int]:
    for m in cache.metrics():
        if (m.source, m.entity) == (source, entity):
            return m.hits, m.misses, m.stale_serves, m.evictions, m.errors
    return 0, 0, 0, 0, 0


@asynccontextmanager
async def running(settings: Any, clock: Clock | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


# -- 1. warm reads make no upstream requests -------------------------------------------------


async def test_a_warm_query_makes_no_upstream_request(
    simulators: SimulatorGroup, world: World, redis_url: str, sims: Sims
) -> None:
    app = create_app(settings_for(simulators, world, redis_url=redis_url, response_cache=READ_CACHE_ONLY))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        await sims.reset_stats()
        cold = [ok(await gql(http, q)) for q in (INVOICES, TIME_ENTRIES)]
        cold_stats = await sims.stats()
        await sims.reset_stats()
        warm = [ok(await gql(http, q)) for q in (INVOICES, TIME_ENTRIES)]

        assert await sims.total() == 0
        assert warm == cold
    # the cold run did read every source the two queries touch
    assert all(cold_stats[s]["total"] > 0 for s in CLASSIC), cold_stats
    assert len(cold[0]["invoices"]["nodes"]) == 50
    assert all(n["client"]["name"] for n in cold[0]["invoices"]["nodes"])
    assert cold[1]["timeEntries"]["nodes"] and all(n["resource"] for n in cold[1]["timeEntries"]["nodes"])


# -- 2. invalidation drops the right entries, and only those -----------------------------------


async def test_invalidating_one_client_refetches_exactly_that_client(
    simulators: SimulatorGroup, world: World, redis_url: str, sims: Sims, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (c.sf_id for c in world.clients[:2])
    query = nodes_query([first, second])
    app = create_app(settings_for(simulators, world, redis_url=redis_url, response_cache=READ_CACHE_ONLY))
    admin = aioredis.from_url(redis_url)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        cache = cache_of(app)
        crm = state_of(app).require_sources().system(SF).client
        retrieved: list[list[str]] = []
        real_retrieve = crm._retrieve  # type: ignore[attr-defined]

        async def spy(spec: Any, ids: Any) -> list[Any]:
            retrieved.append(list(ids))
            return await real_retrieve(spec, ids)  # type: ignore[no-any-return]

        monkeypatch.setattr(crm, "_retrieve", spy)
        warmed = ok(await gql(http, query))
        assert [n["name"] for n in warmed["nodes"]] == [c.name for c in world.clients[:2]]
        assert retrieved == [[first, second]]
        keys = [CLIENT_SIDE_PREFIX + entity_key("default", SF, "client", i) for i in (first, second)]
        assert [await admin.exists(k) for k in keys] == [1, 1]

        assert await cache.invalidate(SF, "client", first) == 1
        assert [await admin.exists(k) for k in keys] == [0, 1]

        before = stat_of(cache, SF, "client")
        await sims.reset_stats()
        again = ok(await gql(http, query))
        after = stat_of(cache, SF, "client")

        assert again == warmed
        assert await sims.routes(SF) == {SF_COMPOSITE: 1}
        assert await sims.total() == 1
        assert retrieved[1:] == [[first]]
        assert (after[0] - before[0], after[1] - before[1]) == (1, 1)  # second from cache, first upstream
    await admin.aclose()


# -- 3. replicas sharing one Redis share the cache ---------------------------------------------


async def test_two_gateways_on_one_redis_share_the_cache(
    simulators: SimulatorGroup, world: World, redis_url: str, sims: Sims
) -> None:
    settings = settings_for(simulators, world, redis_url=redis_url, response_cache=READ_CACHE_ONLY)
    app_a, app_b = create_app(settings), create_app(settings)
    async with (
        serving(app_a) as url_a,
        serving(app_b) as url_b,
        httpx.AsyncClient(base_url=url_a, timeout=30) as a,
        httpx.AsyncClient(base_url=url_b, timeout=30) as b,
    ):
        on_a = [ok(await gql(a, q)) for q in (INVOICES, TIME_ENTRIES)]
        await sims.reset_stats()
        on_b = [ok(await gql(b, q)) for q in (INVOICES, TIME_ENTRIES)]
        assert await sims.total() == 0
        assert on_b == on_a
        assert stat_of(cache_of(app_b), SF, "client")[:2] == (
            len({n["client"]["name"] for n in on_a[0]["invoices"]["nodes"]}),
            0,
        )


# -- 4. stampede: concurrent cold misses make one upstream call per key -----------------------


async def test_fifty_concurrent_cold_queries_make_one_upstream_call(
    simulators: SimulatorGroup, world: World, redis_url: str, sims: Sims
) -> None:
    ids = [c.sf_id for c in world.clients[:3]]
    app = create_app(settings_for(simulators, world, redis_url=redis_url, response_cache=READ_CACHE_ONLY))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        await sims.reset_stats()
        bodies = await asyncio.gather(*(gql(http, CLIENTS) for _ in range(50)))
        assert all(ok(b) == ok(bodies[0]) for b in bodies)
        assert len(ok(bodies[0])["clients"]["nodes"]) == 10
        assert await sims.routes(SF) == {SF_TOKEN: 1, SF_QUERY: 1}
        assert await sims.total() == 2

        # the listing is cached under entity "client" too: one lookup per request
        assert sum(stat_of(cache_of(app), SF, "client")[:2]) == 50

        await sims.reset_stats()
        bodies = await asyncio.gather(*(gql(http, nodes_query(ids)) for _ in range(50)))
        assert all(ok(b) == ok(bodies[0]) for b in bodies)
        assert [n["name"] for n in ok(bodies[0])["nodes"]] == [c.name for c in world.clients[:3]]
        assert await sims.routes(SF) == {SF_COMPOSITE: 1}
        assert await sims.total() == 1
        assert sum(stat_of(cache_of(app), SF, "client")[:2]) == 50 + 50 * len(ids)


async def test_concurrent_cold_queries_on_two_replicas_make_one_upstream_call(
    simulators: SimulatorGroup, world: World, redis_url: str, sims: Sims
) -> None:
    """Across replicas the Redis stampede lock makes the second replica wait for the first's values."""
    settings = settings_for(simulators, world, redis_url=redis_url, response_cache=READ_CACHE_ONLY)
    app_a, app_b = create_app(settings), create_app(settings)
    async with (
        serving(app_a) as url_a,
        serving(app_b) as url_b,
        httpx.AsyncClient(base_url=url_a, timeout=60) as a,
        httpx.AsyncClient(base_url=url_b, timeout=60) as b,
    ):
        await sims.reset_stats()
        bodies = await asyncio.gather(*(gql(http, CLIENTS) for _ in range(25) for http in (a, b)))
        assert all(ok(body) == ok(bodies[0]) for body in bodies)
        # the replica that lost the lock never went upstream at all, not even for a token
        assert await sims.routes(SF) == {SF_TOKEN: 1, SF_QUERY: 1}
        lookups = [stat_of(cache_of(app), SF, "client") for app in (app_a, app_b)]
        assert [hits + misses for hits, misses, *_ in lookups] == [25, 25]


# -- 8. counters in `sources` and `/metrics` -----------------------------------------------------


async def test_cache_counters_in_sources_and_metrics(
    simulators: SimulatorGroup, world: World, redis_url: str
) -> None:
    async with running(
        settings_for(simulators, world, redis_url=redis_url, response_cache=READ_CACHE_ONLY)
    ) as http:
        for _ in range(3):
            ok(await gql(http, CLIENTS))
        data = ok(
            await gql(http, "{ sources { system cache { entity hits misses staleServes evictions } } }")
        )
        by_system = {s["system"]: s["cache"] for s in data["sources"]}
        assert by_system[SF] == [
            {"entity": "client", "hits": 2, "misses": 1, "staleServes": 0, "evictions": 0}
        ]
        assert by_system["netsuite"] == []

        metrics = (await http.get("/metrics")).text
        assert sample(metrics, "opsgraph_cache_hits_total", system="salesforce", entity="client") == 2
        assert sample(metrics, "opsgraph_cache_misses_total", system="salesforce", entity="client") == 1
        assert "# TYPE opsgraph_cache_hits_total counter" in metrics.splitlines()


# -- 9. authorization scopes never share entries -----------------------------------------------


async def test_request_contexts_of_different_scopes_do_not_share_entries(
    simulators: SimulatorGroup, world: World, redis_url: str, sims: Sims
) -> None:
    settings = settings_for(simulators, world, redis_url=redis_url, response_cache=READ_CACHE_ONLY)
    sources = Sources.from_specs(settings.system_specs())
    backend = create_backend(redis_url)
    cache = ReadCache(backend, settings.cache)
    client = record_key(SF, world.clients[0].sf_id)

    async def read(scope: str) -> tuple[list[str], str | None]:
        clock = PinnedClock(world.as_of)
        ctx = RequestContext.create(sources, correlation_id="t", clock=clock, cache=cache, scope=scope)
        listed = [c.name for c in await ctx.loaders.clients()]
        one = await ctx.loaders.client.load(client)
        by_id = await RequestContext.create(
            sources, correlation_id="t", clock=PinnedClock(world.as_of), cache=cache, scope=scope
        ).loaders.client.load(client)
        assert one == by_id
        return listed, by_id.name if by_id else None

    async def upstream(scope: str) -> int:
        await sims.reset_stats()
        got = await read(scope)
        assert got[1] == world.clients[0].name
        routes = await sims.routes(SF)
        routes.pop(SF_TOKEN, None)
        return sum(routes.values())

    try:
        assert await upstream("finance") == 2  # the listing, then the record by id
        assert await upstream("default") == 2  # nothing shared with "finance"
        assert await upstream("finance") == 0
        assert await upstream("default") == 0
        # one invalidation drops the record for every scope
        assert await cache.invalidate(SF, "client", world.clients[0].sf_id) == 4
        assert await upstream("finance") == 2
        assert await upstream("default") == 2
    finally:
        await sources.close()
        await backend.close()
