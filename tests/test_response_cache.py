"""The whole-response cache through the real gateway: uvicorn over real sockets, the real simulators
upstream (their `/_sim/stats` count what reached them), on the in-memory backend and on a private Redis.
What the cache did is read from `/metrics` (`opsgraph_response_cache_total`) and `X-Response-Cache`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from metrics_support import sample
from test_cache_gateway import Sims, nodes_query, ok, stat_of
from test_cache_gateway_outage import balance_query, manual_clock
from test_gateway_support import NS, SF, serving, settings_for

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.cache import ReadCache
from opsgraph.cache.responses import RESULTS
from opsgraph.clock import Clock
from opsgraph.gateway.app import create_app
from opsgraph.gateway.http import GatewayState
from opsgraph.gateway.settings import Settings
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")

RESOURCES = "{ resources(first: 5) { nodes { name } } }"
CLIENT_PAGE = (
    "query Page($first: Int, $after: String) { clients(first: $first, after: $after) { nodes { name } } }"
)


@pytest.fixture(params=["memory", "redis"])
async def redis_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """The cache backend: in memory, or a private Redis (flushed around the test)."""
    if request.param == "memory":
        yield None
        return
    url: str = request.getfixturevalue("redis_server")
    admin = aioredis.from_url(url)
    await admin.flushdb()
    try:
        yield url
    finally:
        await admin.flushdb()
        await admin.aclose()


@pytest.fixture
async def sims(simulators: SimulatorGroup) -> AsyncIterator[Sims]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Sims(http, simulators)


class Gateway:
    def __init__(self, http: httpx.AsyncClient, state: GatewayState) -> None:
        self.http = http
        self.state = state

    @property
    def cache(self) -> ReadCache:
        assert self.state.cache is not None
        return self.state.cache

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], str]:
        """The body and what the response cache did (`X-Response-Cache`)."""
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        response = await self.http.post("/graphql", json=payload, headers=headers)
        assert response.status_code == 200, response.text
        return response.json(), response.headers["x-response-cache"]

    async def counts(self) -> dict[str, int]:
        text = (await self.http.get("/metrics")).text
        return {r: int(sample(text, "opsgraph_response_cache_total", result=r)) for r in RESULTS}


@asynccontextmanager
async def gateway(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Gateway]:
    app = create_app(settings, clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Gateway(http, app.state.gateway)


def key(role: str) -> dict[str, str]:
    return {"X-API-Key": DEMO_API_KEYS[role]}


# -- a repeated query ----------------------------------------------------------------------------


async def test_a_repeated_query_is_served_from_the_response_cache_with_no_upstream_call(
    simulators: SimulatorGroup, world: World, redis_url: str | None, sims: Sims
) -> None:
    query = nodes_query([c.sf_id for c in world.clients[:3]])
    async with gateway(settings_for(simulators, world, redis_url=redis_url)) as gw:
        await sims.reset_stats()
        first, result = await gw.post(query)
        assert result == "miss"
        assert await sims.total() > 0
        read_cache = stat_of(gw.cache, SF, "client")

        await sims.reset_stats()
        raw = [await gw.http.post("/graphql", json={"query": query}) for _ in range(3)]

        assert await sims.total() == 0
        assert [r.headers["x-response-cache"] for r in raw] == ["hit"] * 3
        assert all(r.json() == first for r in raw)
        assert [n["name"] for n in ok(first)["nodes"]] == [c.name for c in world.clients[:3]]
        assert stat_of(gw.cache, SF, "client") == read_cache  # the read cache was not even asked
        assert await gw.counts() == {"hit": 3, "miss": 1, "bypass": 0}


async def test_a_persisted_query_hash_is_served_from_the_response_cache(
    simulators: SimulatorGroup, world: World, sims: Sims
) -> None:
    query = nodes_query([world.clients[0].sf_id])
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}
    async with gateway(settings_for(simulators, world)) as gw:
        registered = await gw.http.post("/graphql", json={"query": query, "extensions": persisted})
        await sims.reset_stats()
        by_hash = await gw.http.get("/graphql", params={"extensions": json.dumps(persisted)})

        assert await sims.total() == 0
        assert by_hash.headers["x-response-cache"] == "hit"
        assert by_hash.json() == registered.json()
        assert by_hash.headers["cache-control"].startswith("private, max-age=")


# -- invalidation --------------------------------------------------------------------------------


async def test_an_event_touching_one_client_drops_exactly_the_responses_that_hold_it(
    simulators: SimulatorGroup, world: World, redis_url: str | None, sims: Sims
) -> None:
    one, other = world.clients[0], world.clients[1]
    queries = {"one": nodes_query([one.sf_id]), "other": nodes_query([other.sf_id]), "hr": RESOURCES}
    async with gateway(settings_for(simulators, world, redis_url=redis_url)) as gw:
        assert gw.state.events is not None
        try:
            await gw.state.events.poll_once()  # marks and baseline
            for q in queries.values():
                assert (await gw.post(q))[1] == "miss"
            assert [(await gw.post(q))[1] for q in queries.values()] == ["hit"] * 3

            await sims.http.post(
                f"{sims.urls[SF]}/_sim/events",
                json={"type": "update_account", "id": one.sf_id, "fields": {"Name": "Renamed Ltd"}},
            )
            await gw.state.events.poll_once([SF])
            await sims.reset_stats()
            after = {name: await gw.post(q) for name, q in queries.items()}

            assert {name: result for name, (_, result) in after.items()} == {
                "one": "miss",
                "other": "hit",
                "hr": "hit",
            }
            assert ok(after["one"][0])["nodes"] == [{"name": "Renamed Ltd"}]
            # at most the changed client was read again (the event's own effects may have read it)
            assert await sims.total() == sum((await sims.routes(SF)).values()) <= 1
        finally:
            await sims.http.post(f"{sims.urls[SF]}/_sim/reset")


async def test_a_write_invalidating_one_client_drops_exactly_the_responses_that_hold_it(
    simulators: SimulatorGroup, world: World, redis_url: str | None
) -> None:
    """What a workflow step does after its write: `invalidate` the records it wrote."""
    one, other = world.clients[0], world.clients[1]
    queries = {"one": nodes_query([one.sf_id]), "both": nodes_query([one.sf_id, other.sf_id])}
    queries["other"] = nodes_query([other.sf_id])
    async with gateway(settings_for(simulators, world, redis_url=redis_url)) as gw:
        for q in queries.values():
            assert (await gw.post(q))[1] == "miss"
        # the client's own entry, and the two responses holding it
        assert await gw.cache.invalidate(SF, "client", one.sf_id) == 3
        results = {name: (await gw.post(q))[1] for name, q in queries.items()}
        assert results == {"one": "miss", "both": "miss", "other": "hit"}


# -- what the key covers -------------------------------------------------------------------------


async def test_two_scopes_never_share_a_response(simulators: SimulatorGroup, world: World) -> None:
    query = "{ resources(first: 3) { nodes { name costRate { amount } } } }"
    async with gateway(settings_for(simulators, world)) as gw:
        finance, result = await gw.post(query, headers=key("finance"))
        assert result == "miss" and "errors" not in finance
        # the same document for other scopes: the executive key, anonymous (also executive), a viewer
        assert (await gw.post(query, headers=key("executive")))[1] == "miss"
        assert (await gw.post(query))[1] == "miss"
        viewer, result = await gw.post(query, headers=key("viewer"))
        assert result == "miss"
        assert {e["extensions"]["code"] for e in viewer["errors"]} == {"FORBIDDEN"}
        assert all(n["costRate"] is None for n in viewer["data"]["resources"]["nodes"])

        assert (await gw.post(query, headers=key("viewer")))[1] == "miss"  # an answer with errors is not kept
        assert (await gw.post(query, headers=key("finance")))[0] == finance
        assert await gw.counts() == {"hit": 1, "miss": 5, "bypass": 0}


async def test_the_key_covers_every_variable_and_the_operation(
    simulators: SimulatorGroup, world: World
) -> None:
    async with gateway(settings_for(simulators, world)) as gw:
        two, result = await gw.post(CLIENT_PAGE, {"first": 2})
        assert result == "miss"
        three, result = await gw.post(CLIENT_PAGE, {"first": 3})
        assert result == "miss"
        assert len(ok(two)["clients"]["nodes"]) == 2 and len(ok(three)["clients"]["nodes"]) == 3
        assert (await gw.post(CLIENT_PAGE, {"first": 2, "after": None}))[1] == "miss"
        assert (await gw.post(CLIENT_PAGE, {"first": 2}))[1] == "hit"
        assert (await gw.post(CLIENT_PAGE, {"after": None, "first": 2}))[1] == "hit"  # order: same key
        renamed = CLIENT_PAGE.replace("query Page", "query Other")
        assert (await gw.post(renamed, {"first": 2}))[1] == "miss"


# -- what is never served from it ----------------------------------------------------------------


async def test_cache_control_no_cache_bypasses_it(
    simulators: SimulatorGroup, world: World, sims: Sims
) -> None:
    query = nodes_query([world.clients[0].sf_id])
    async with gateway(settings_for(simulators, world)) as gw:
        first, _ = await gw.post(query)
        before = stat_of(gw.cache, SF, "client")
        await sims.reset_stats()
        again, result = await gw.post(query, headers={"Cache-Control": "no-cache"})

        assert result == "bypass" and again == first
        assert stat_of(gw.cache, SF, "client")[0] == before[0] + 1  # it ran: the read cache served it
        assert await sims.total() == 0
        assert await gw.counts() == {"hit": 0, "miss": 1, "bypass": 1}
        assert (await gw.post(query))[1] == "hit"


async def test_mutations_are_never_served_from_it(simulators: SimulatorGroup, world: World) -> None:
    mutation = (
        'mutation { postApprovedTime(input: {idempotencyKey: " ", engagementId: "x", '
        'from: "2026-10-01", to: "2026-10-31"}) { userErrors { code } } }'
    )
    async with gateway(settings_for(simulators, world)) as gw:
        answers = [await gw.post(mutation, headers=key("finance")) for _ in range(2)]
        assert [result for _, result in answers] == ["miss", "miss"]
        assert {e["code"] for e in ok(answers[0][0])["postApprovedTime"]["userErrors"]} == {"BAD_USER_INPUT"}
        assert await gw.counts() == {"hit": 0, "miss": 2, "bypass": 0}


async def test_live_state_is_never_stored(simulators: SimulatorGroup, world: World) -> None:
    query = "{ sources { system reachable } resources(first: 1) { nodes { name } } }"
    async with gateway(settings_for(simulators, world)) as gw:
        assert [(await gw.post(query))[1] for _ in range(2)] == ["miss", "miss"]


async def test_it_can_be_turned_off(simulators: SimulatorGroup, world: World, sims: Sims) -> None:
    settings = settings_for(simulators, world, response_cache={"enabled": False})
    async with gateway(settings) as gw:
        for _ in range(2):
            response = await gw.http.post("/graphql", json={"query": RESOURCES})
            assert "x-response-cache" not in response.headers
        assert gw.state.responses is None


# -- stale-on-failure ----------------------------------------------------------------------------


async def test_stale_on_failure_still_works_with_the_response_cache_on(
    simulators: SimulatorGroup, world: World, sims: Sims
) -> None:
    ttl = 5.0
    cache = {"ttls": dict.fromkeys(("client", "customer", "customer_by_client"), ttl), "stale_grace_s": 60.0}
    settings = settings_for(simulators, world, cache=cache).with_system("netsuite", max_retries=0)
    clock = manual_clock(world)
    query = balance_query(world.clients[0].sf_id)
    async with gateway(settings, clock) as gw:
        fresh, result = await gw.post(query)
        assert result == "miss" and "extensions" not in fresh
        assert (await gw.post(query))[1] == "hit"
        clock.advance(ttl + 1)  # the response and its values are past their TTL
        await sims.faults(NS, outage=True)
        try:
            stale, result = await gw.post(query)
            again, result_again = await gw.post(query)
        finally:
            await sims.faults(NS, outage=False)

        assert (result, result_again) == ("miss", "miss")  # a stale answer is never stored
        assert stale["data"] == fresh["data"] and again["data"] == fresh["data"]
        assert [w["code"] for w in stale["extensions"]["warnings"]] == ["STALE_DATA"]
        assert stale["extensions"]["warnings"][0]["system"] == NS
        assert await gw.counts() == {"hit": 1, "miss": 3, "bypass": 0}
