"""`python -m bench.demand [--redis-url URL]`: what demand control costs per request.

- the cost estimate of each query in bench/queries/ (and of a 30-alias abusive one): a request
  hashes its document and evaluates the cached plan (`CostPlans.estimate`); the first request of a
  document also compiles the plan;
- the rate limiter's take: in memory, and in Redis (one Lua script round trip) when a URL is given.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from graphql import parse

from opsgraph.clock import SystemClock
from opsgraph.gateway.cost_limit import CostPlans
from opsgraph.gateway.demand_settings import CostSettings
from opsgraph.gateway.rate_limit import MemoryBuckets, RedisBuckets
from opsgraph.schema import build_schema

QUERIES = Path(__file__).parent / "queries"
ABUSE = (
    "query Abuse { "
    + " ".join(
        f'r{i}: resources(first: 500) {{ nodes {{ id name timeEntries(from: "2026-01-01", to: "2026-11-20") '
        "{ id date hours engagement { code } } } }"
        for i in range(30)
    )
    + " }"
)


def per_call_us(call: Callable[[], object], seconds: float = 0.5) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(100):
            call()
        count += 100
    return (time.perf_counter() - started) / count * 1e6


async def per_await_us(call: Callable[[], Awaitable[object]], seconds: float = 0.5) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(50):
            await call()
        count += 50
    return (time.perf_counter() - started) / count * 1e6


def estimator() -> None:
    schema = build_schema()._schema
    settings = CostSettings()
    documents = {path.stem: path.read_text() for path in sorted(QUERIES.glob("*.graphql"))}
    documents["abuse (30 aliases)"] = ABUSE
    print(f"{'query':<22} {'bytes':>6} {'estimate':>10} {'compile us':>11} {'per request us':>15}")
    for name, query in documents.items():
        document = parse(query)
        started = time.perf_counter()
        for _ in range(20):
            CostPlans(settings.model()).estimate(schema, query, document, None, {})
        compile_us = (time.perf_counter() - started) / 20 * 1e6
        plans = CostPlans(settings.model())
        estimate = plans.estimate(schema, query, document, None, {})
        warm_us = per_call_us(lambda q=query, d=document, p=plans: p.estimate(schema, q, d, None, {}))
        print(f"{name:<22} {len(query):>6} {estimate:>10} {compile_us:>11.1f} {warm_us:>15.2f}")


async def limiter(redis_url: str | None) -> None:
    clock = SystemClock()
    memory = MemoryBuckets(10**9, 1e9, clock)
    keys = [f"caller-{i}" for i in range(1000)]
    index = 0

    def next_key() -> str:
        nonlocal index
        index = (index + 1) % len(keys)
        return keys[index]

    print(f"rate limit take, memory: {await per_await_us(lambda: memory.take(next_key())):.2f} us")
    if redis_url:
        redis = RedisBuckets.from_url(redis_url, 10**9, 1e9, clock)
        try:
            await redis.take("warm-up")
            took = await per_await_us(lambda: redis.take(next_key()), seconds=1.0)
            print(f"rate limit take, redis: {took:.1f} us (failures {redis.failures})")
        finally:
            await redis.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--redis-url", default=None, help="also time the Redis bucket (e.g. redis://127.0.0.1:6379/0)"
    )
    args = parser.parse_args()
    estimator()
    asyncio.run(limiter(args.redis_url))


if __name__ == "__main__":
    main()
