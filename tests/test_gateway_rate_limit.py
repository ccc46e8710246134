"""Rate limits per caller: the N+1th request in a window is a 429 with Retry-After and RATE_LIMITED,
in memory and in Redis shared by two gateways; time moves only on the injected clock."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
import pytest
from redis.asyncio import Redis
from test_gateway_support import serving, settings_for

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.clock import ManualClock
from opsgraph.gateway.app import create_app
from opsgraph.gateway.rate_limit import KEY_PREFIX, MemoryBuckets, RedisBuckets
from opsgraph.gateway.settings import ConfigError, load_settings
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

CHEAP = {"query": "{ __typename }"}
LIMIT = {"burst": 3, "per_second": 0.5}  # 3 at once, then one every 2 s


async def post(http: httpx.AsyncClient, url: str, role: str | None = None) -> httpx.Response:
    headers = {"X-API-Key": DEMO_API_KEYS[role]} if role else {}
    return await http.post(f"{url}/graphql", json=CHEAP, headers=headers)


def assert_limited(response: httpx.Response, retry_after: str, wait: float) -> None:
    assert response.status_code == 429
    assert response.headers["retry-after"] == retry_after
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": wait}
    assert "data" not in response.json()


async def test_the_request_past_the_burst_is_refused_until_a_token_refills(
    simulators: SimulatorGroup, world: World
) -> None:
    clock = ManualClock()
    app = create_app(settings_for(simulators, world, rate_limit=LIMIT), clock=clock)
    async with serving(app) as url, httpx.AsyncClient(timeout=30) as http:
        first = [await post(http, url) for _ in range(3)]
        refused = await post(http, url)
        other_caller = await post(http, url, "finance")  # a bucket of its own
        clock.advance(1.0)
        still = await post(http, url)
        clock.advance(1.0)
        refilled = await post(http, url)
        after = await post(http, url)
        health = await http.get(f"{url}/healthz")  # not metered
    assert [r.status_code for r in first] == [200, 200, 200]
    assert all(r.json() == {"data": {"__typename": "Query"}} for r in first)
    assert_limited(refused, "2", 2.0)
    assert other_caller.status_code == 200
    assert_limited(still, "1", 1.0)
    assert refilled.status_code == 200
    assert_limited(after, "2", 2.0)
    assert health.status_code == 200


async def test_a_graphql_response_client_gets_its_media_type(
    simulators: SimulatorGroup, world: World
) -> None:
    app = create_app(settings_for(simulators, world, rate_limit={"burst": 1}), clock=ManualClock())
    async with serving(app) as url, httpx.AsyncClient(timeout=30) as http:
        headers = {"Accept": "application/graphql-response+json"}
        await http.post(f"{url}/graphql", json=CHEAP, headers=headers)
        refused = await http.post(f"{url}/graphql", json=CHEAP, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/graphql-response+json")


async def test_memory_buckets_forget_full_ones() -> None:
    clock = ManualClock()
    buckets = MemoryBuckets(2, 1.0, clock)
    assert (await buckets.take("a")).allowed and (await buckets.take("a")).allowed
    decision = await buckets.take("a")
    assert not decision.allowed and decision.retry_after_s == pytest.approx(1.0)
    clock.advance(10)
    buckets._forget_full(clock.monotonic())
    assert buckets._buckets == {}
    assert (await buckets.take("a")).allowed


async def test_replicas_share_the_buckets_in_redis(
    simulators: SimulatorGroup, world: World, redis_server: str
) -> None:
    redis = Redis.from_url(redis_server)
    for key in await redis.keys(KEY_PREFIX + "*"):
        await redis.delete(key)
    clock = ManualClock()
    settings = settings_for(simulators, world, redis_url=redis_server, rate_limit={**LIMIT, "store": "redis"})
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        one = await stack.enter_async_context(serving(create_app(settings, clock=clock)))
        two = await stack.enter_async_context(serving(create_app(settings, clock=clock)))
        codes = [(await post(http, url, "delivery")).status_code for url in (one, two, one)]
        refused = await post(http, two, "delivery")
        clock.advance(2.0)
        refilled = await post(http, two, "delivery")
        again = await post(http, one, "delivery")
    stored = await redis.hgetall(KEY_PREFIX + "api_key:api-key:demo-delivery")
    ttl_ms = await redis.pttl(KEY_PREFIX + "api_key:api-key:demo-delivery")
    await redis.aclose()
    assert codes == [200, 200, 200]
    assert_limited(refused, "2", 2.0)
    assert refilled.status_code == 200
    assert_limited(again, "2", 2.0)
    assert float(stored[b"tokens"]) == 0.0
    assert 0 < ttl_ms <= 7000  # gone once it would be full again (6 s) plus a second


async def test_redis_down_lets_requests_through() -> None:
    buckets = RedisBuckets.from_url("redis://127.0.0.1:1/0", 1, 1.0, ManualClock())
    decisions = [await buckets.take("x") for _ in range(3)]
    await buckets.close()
    assert all(d.allowed for d in decisions) and buckets.failures == 3


def test_redis_buckets_need_a_redis_url() -> None:
    with pytest.raises(ConfigError, match=r"rate_limit\.store = redis needs redis_url"):
        load_settings(require_sources=False, rate_limit={"store": "redis"})
