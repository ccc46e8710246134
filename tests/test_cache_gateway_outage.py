"""The read cache through the real gateway when things break -- a source in outage (stale-on-failure within
the grace, then the normal partial-data error), the cache's own Redis dying mid-run -- and the HTTP caching
hints (`Cache-Control`/`Age`) that depend on what the cache served."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from redis_process import RedisProcess
from test_cache_gateway import CLIENTS, INVOICES, Sims, gql, ok, running
from test_gateway_support import NS, SF, settings_for

from opsgraph.clock import ManualClock
from opsgraph.model import record_key
from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")


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


# -- 5. stale-on-failure ------------------------------------------------------------------------

TTL = 1.0
GRACE = 3.0
STALE_SETTINGS: dict[str, Any] = {
    # every entity the two queries below touch
    "ttls": dict.fromkeys(("client", "customer", "customer_by_client", "customer_invoices", "invoice"), TTL),
    "stale_grace_s": GRACE,
}
INVOICE_LIST = "{ invoices(first: 5) { nodes { number client { name } } } }"


def manual_clock(world: World) -> ManualClock:
    """Midnight UTC of the world's as-of day, moving only when the test advances it."""
    day = world.as_of
    return ManualClock(datetime(day.year, day.month, day.day, tzinfo=UTC))


def balance_query(client_id: str) -> str:
    """CRM (name) and ERP (arBalance, nullable) fields of the client with this CRM id."""
    node_id = to_global_id("Client", record_key(SF, client_id))
    return f'{{ nodes(ids: ["{node_id}"]) {{ ... on Client {{ name arBalance {{ amount currency }} }} }} }}'


async def get(http: httpx.AsyncClient, query: str) -> tuple[dict[str, Any], str]:
    response = await http.get("/graphql", params={"query": query})
    assert response.status_code == 200, response.text
    return response.json(), response.headers.get("cache-control", "")


def stale_age(body: dict[str, Any]) -> float:
    warnings = body.get("extensions", {}).get("warnings")
    assert warnings is not None and len(warnings) == 1, body
    (warning,) = warnings
    assert (warning["code"], warning["source"], warning["system"]) == ("STALE_DATA", NS, NS), warning
    assert isinstance(warning["age"], int | float)
    return float(warning["age"])


def netsuite_unavailable(error: dict[str, Any]) -> bool:
    ext = error["extensions"]
    return (ext["code"], ext["source"]) == ("SOURCE_UNAVAILABLE", "netsuite")


async def test_a_source_outage_serves_stale_values_within_the_grace_then_errors(
    simulators: SimulatorGroup, world: World, redis_url: str, sims: Sims
) -> None:
    client = world.clients[0]
    balance = balance_query(client.sf_id)
    settings = settings_for(simulators, world, redis_url=redis_url, cache=STALE_SETTINGS)
    # the outage opens NetSuite's circuit: let it half-open soon after, for the recovery check at the end
    # no retries: their waits would advance the shared clock past the ages asserted below
    settings = settings.with_system("netsuite", breaker_reset_s=0.5, max_retries=0)
    clock = manual_clock(world)
    async with running(settings, clock) as http:
        fresh_balance, _ = await get(http, balance)
        fresh_list, _ = await get(http, INVOICE_LIST)
        assert ok(fresh_balance)["nodes"][0]["arBalance"] is not None
        assert len(ok(fresh_list)["invoices"]["nodes"]) == 5
        try:
            await sims.faults(NS, outage=True)
            clock.advance(TTL + 0.3)

            # past the TTL, within the grace: the cached NetSuite values, with a warning
            body, cache_control = await get(http, balance)
            assert body["data"] == fresh_balance["data"] and "errors" not in body
            assert stale_age(body) == TTL + 0.3
            assert cache_control == "no-store"

            body, cache_control = await get(http, INVOICE_LIST)
            assert body["data"] == fresh_list["data"] and "errors" not in body
            assert stale_age(body) == TTL + 0.3
            assert cache_control == "no-store"
            assert (await sims.stats())[NS]["statuses"].get("503", 0) > 0  # NetSuite was asked, and failed

            # past TTL + grace: the normal partial-data error for the NetSuite fields
            clock.advance(GRACE)
            body, cache_control = await get(http, balance)
            assert body["data"] == {"nodes": [{"name": client.name, "arBalance": None}]}
            (error,) = body["errors"]
            assert error["path"] == ["nodes", 0, "arBalance"]
            assert netsuite_unavailable(error), error
            assert "extensions" not in body  # no STALE_DATA warning any more
            assert cache_control == "no-store"

            body, cache_control = await get(http, INVOICE_LIST)
            assert body["data"] == {"invoices": None}  # only the failed root field is null
            assert body["errors"] and all(netsuite_unavailable(e) for e in body["errors"]), body
            assert cache_control == "no-store"
        finally:
            await sims.faults(NS, outage=False)

        # the source is back (once its circuit half-opens): fresh values, no warning
        clock.advance(0.5)  # the breaker's reset
        body, _ = await get(http, balance)
        assert body == fresh_balance


async def test_a_stale_value_is_served_even_when_its_batch_has_a_key_never_cached(
    simulators: SimulatorGroup, world: World, redis_url: str, sims: Sims
) -> None:
    """Client 0's NetSuite values are cached (now stale), client 1's never were. In one request both
    land in one loader batch: client 0 must still get its stale value, only client 1 the error."""
    cached, uncached = world.clients[:2]
    ids = ", ".join(f'"{to_global_id("Client", record_key(SF, c.sf_id))}"' for c in (cached, uncached))
    both = f"{{ nodes(ids: [{ids}]) {{ ... on Client {{ name arBalance {{ amount currency }} }} }} }}"
    settings = settings_for(simulators, world, redis_url=redis_url, cache=STALE_SETTINGS)
    settings = settings.with_system("netsuite", max_retries=0)  # retry waits would age the value
    clock = manual_clock(world)
    async with running(settings, clock) as http:
        warm, _ = await get(http, balance_query(cached.sf_id))
        try:
            await sims.faults(NS, outage=True)
            clock.advance(TTL + 0.3)
            body, _ = await get(http, both)
        finally:
            await sims.faults(NS, outage=False)
    assert body["data"] == {"nodes": [*warm["data"]["nodes"], {"name": uncached.name, "arBalance": None}]}
    assert [e["path"] for e in body["errors"]] == [["nodes", 1, "arBalance"]]
    assert stale_age(body) == TTL + 0.3


# -- 6. the cache's Redis going away -------------------------------------------------------------


async def test_redis_dying_mid_run_falls_back_to_the_sources(
    simulators: SimulatorGroup,
    world: World,
    own_redis: RedisProcess,
    sims: Sims,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="opsgraph.cache")
    queries = (INVOICES, CLIENTS)
    clock = manual_clock(world)
    async with running(settings_for(simulators, world, redis_url=own_redis.url), clock) as http:
        warm = [ok(await gql(http, q)) for q in queries]
        await sims.reset_stats()
        assert [ok(await gql(http, q)) for q in queries] == warm
        assert await sims.total() == 0

        own_redis.stop()
        await sims.reset_stats()
        async with asyncio.timeout(10):  # a guard against hanging on the dead server, not a measurement
            for _ in range(3):
                assert [ok(await gql(http, q)) for q in queries] == warm
                clock.advance(0.4)  # past backend_retry_s: each round probes the dead server again
        upstream = await sims.stats()
        assert upstream[NS]["total"] > 0 and upstream[SF]["total"] > 0

        warnings = [r for r in caplog.records if r.name == "opsgraph.cache" and r.levelno >= logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert "unavailable" in warnings[0].getMessage()

        data = ok(await gql(http, "{ sources { system cache { entity errors } } }"))
        errors = {(s["system"], c["entity"]): c["errors"] for s in data["sources"] for c in s["cache"]}
        assert sum(errors.values()) > 0, errors


# -- 7. HTTP caching hints ---------------------------------------------------------------------

HINT_TTL = 30.0
HINT_TTLS = {"invoice": HINT_TTL, "customer": HINT_TTL, "client": HINT_TTL}


def max_age_of(response: httpx.Response) -> int | None:
    for directive in response.headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name == "max-age":
            return int(value)
    return None


async def test_get_on_a_warm_cache_carries_cache_control_and_age(
    simulators: SimulatorGroup, world: World, redis_url: str, sims: Sims
) -> None:
    settings = settings_for(simulators, world, redis_url=redis_url, cache={"ttls": HINT_TTLS})
    async with running(settings) as http:
        posted = await http.post("/graphql", json={"query": INVOICES})
        assert posted.status_code == 200
        assert "cache-control" not in posted.headers
        assert "age" not in posted.headers

        await sims.reset_stats()
        got = await http.get("/graphql", params={"query": INVOICES})
        assert await sims.total() == 0  # all from the cache
        assert got.status_code == 200
        assert got.json() == posted.json()
        assert got.headers["cache-control"].startswith("private, ")
        max_age = max_age_of(got)
        assert max_age is not None and 0 < max_age <= HINT_TTL
        assert int(got.headers["age"]) >= 0

        errored = await http.get("/graphql", params={"query": '{ nodes(ids: ["bogus"]) { id } }'})
        assert errored.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert errored.headers["cache-control"] == "no-store"
        assert "age" not in errored.headers


async def test_max_age_and_age_together_give_the_remaining_freshness(
    simulators: SimulatorGroup, world: World, redis_url: str
) -> None:
    """RFC 9111 4.2: a downstream cache keeps a response fresh while its current age (starting from the
    `Age` header) is below `max-age`; so `max-age - Age` must be what is left of the values' TTL."""
    settings = settings_for(simulators, world, redis_url=redis_url, cache={"ttls": HINT_TTLS})
    clock = manual_clock(world)
    async with running(settings, clock) as http:
        await http.post("/graphql", json={"query": INVOICES})
        clock.advance(3.2)
        got = await http.get("/graphql", params={"query": INVOICES})
        max_age, age = max_age_of(got), int(got.headers["age"])
        # fresh for 30 - 3.2 = 26.8 s more: whole seconds, rounded down, never overstated
        assert (max_age, age) == (29, 3)
