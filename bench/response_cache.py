"""`python -m bench.response_cache` (in `make bench`): the whole-response cache and the Redis path on
`invoice_ageing`, against the `large` world with 20 ms per upstream call, every figure from one run.

- Response-cache hits next to their floor, `bench.floor`'s plain Starlette endpoint returning the same
  pre-serialised bytes (uvicorn on uvloop with httptools, like the gateway), in a process of its own:
  p50 at concurrency 1 and requests/s at concurrency 1, 8 and 32 (`bench.load`, a raw keep-alive
  client in a separate process; its own CPU per request is printed, so it is seen not to be the cap).
  Targets (issue 12): a hit at most 2x the floor's time per request, at least 2,000 requests/s at 8.
- Redis against memory: the read cache warm with the response cache off, on a private `redis-server`
  and in memory. Target: Redis at most 1.5x. Then response-cache hits over Redis.

Each gateway runs alone (started, measured, stopped), so no two hold the large world at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bench.procs import Process, free_port, gateway_env, start_gateway, start_simulators, stop_all
from simulators.world import DEFAULT_AS_OF

QUERY = Path(__file__).parent / "queries" / "invoice_ageing.graphql"
LATENCY_MS = 20.0
CONCURRENCY = (1, 8, 32)
AS_OF = DEFAULT_AS_OF.isoformat()


# -- measuring -----------------------------------------------------------------------------------


def load(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    """`bench.load` in a process of its own."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.load", url, str(QUERY), str(concurrency), str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout)
    if result["errors"]:
        raise RuntimeError(f"{url}: {int(result['errors'])} errors under load")
    return result


async def fetch(url: str, runs: int) -> tuple[bytes, str]:
    """The response bytes and what the response cache did on the last of `runs` requests."""
    body, cached = b"", ""
    async with aiohttp.ClientSession() as session:
        for _ in range(runs):
            async with session.post(url, json={"query": QUERY.read_text()}) as resp:
                body = await resp.read()
                cached = resp.headers.get("x-response-cache", "-")
            if b'"errors"' in body:
                raise RuntimeError(f"{url}: {body[:500]!r}")
    return body, cached


async def set_latency(sims: list[str]) -> None:
    async with aiohttp.ClientSession() as session:
        for url in sims:
            async with session.put(f"{url}/_sim/faults", json={"latency_ms": LATENCY_MS}) as resp:
                resp.raise_for_status()


@contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server (no persistence) on a free port."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


UNLIMITED = {"OPSGRAPH_RATE_LIMIT__BURST": "1000000", "OPSGRAPH_RATE_LIMIT__PER_SECOND": "1000000"}
"""The load comes from one caller: the rate limiter still runs, but never refuses it."""


@contextmanager
def gateway(env: dict[str, str]) -> Iterator[str]:
    process, url = start_gateway({**env, **UNLIMITED})
    try:
        yield url
    finally:
        process.stop()


def warm_figures(url: str, seconds: float) -> dict[str, Any]:
    """Warm the caches, then load at each concurrency (the p50 at 1 is the sequential latency)."""
    _, cached = asyncio.run(fetch(url, 3))
    return {"cached": cached, **{c: load(url, seconds, c) for c in CONCURRENCY}}


@contextmanager
def bytes_floor(body: bytes) -> Iterator[str]:
    """`bench.floor` serving `body` as the pre-serialised answer to the query; yields its URL."""
    answers = {QUERY.stem: {"data": json.loads(body)["data"], "body": body.decode()}}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as saved:
        json.dump(answers, saved)
        saved.flush()
        floor = Process("bench.floor", [saved.name])
        try:
            (match,) = floor.wait_for(r"^ready (http://\S+)")
            yield f"{match.group(1)}/bytes/{QUERY.stem}"
        finally:
            floor.stop()


# -- the run -------------------------------------------------------------------------------------


def run(profile: str, seconds: float) -> dict[str, dict[Any, Any]]:
    processes, urls = start_simulators(profile)
    figures: dict[str, dict[Any, Any]] = {}
    try:
        asyncio.run(set_latency(list(urls.values())))
        with gateway(gateway_env(urls, AS_OF, True, response_cache=True)) as url:
            body, _ = asyncio.run(fetch(url, 1))
            figures["hit (memory)"] = warm_figures(url, seconds)
        with bytes_floor(body) as url:
            figures["bytes floor"] = warm_figures(url, seconds)
        with gateway(gateway_env(urls, AS_OF, True)) as url:
            figures["warm (memory)"] = warm_figures(url, seconds)
        with redis_server() as redis_url:
            with gateway(gateway_env(urls, AS_OF, True, redis_url=redis_url)) as url:
                figures["warm (redis)"] = warm_figures(url, seconds)
            with gateway(gateway_env(urls, AS_OF, True, response_cache=True, redis_url=redis_url)) as url:
                figures["hit (redis)"] = warm_figures(url, seconds)
        figures["response"] = {"bytes": len(body)}
    finally:
        stop_all(processes)
    return figures


def report(figures: dict[str, dict[Any, Any]], profile: str) -> None:
    size = figures.pop("response")["bytes"]
    print(
        f"\nresponse cache, {QUERY.stem} ({size} bytes), {profile} world, {LATENCY_MS:.0f} ms per upstream "
        "call; load from a separate process (raw keep-alive connections)"
    )
    head = (
        f"{'':<14}{'p50 c=1 ms':>11}"
        + "".join(f"{f'req/s c={c}':>12}" for c in CONCURRENCY)
        + f"{'ms/req c=8':>11}{'p95 c=8 ms':>11}{'load cpu us':>12}  served"
    )
    print(head)
    print("-" * len(head))
    for name, f in figures.items():
        loads = [f[c] for c in CONCURRENCY]
        cpu_us = 1e6 * sum(r["cpu_s"] for r in loads) / max(1.0, sum(r["requests"] for r in loads))
        print(
            f"{name:<14}{f[1]['p50_ms']:>11.2f}"
            + "".join(f"{r['rps']:>12.0f}" for r in loads)
            + f"{1000 / f[8]['rps']:>11.3f}{f[8]['p95_ms']:>11.2f}{cpu_us:>12.0f}  {f['cached']}"
        )
    hit, floor = figures["hit (memory)"], figures["bytes floor"]
    mem, red = figures["warm (memory)"], figures["warm (redis)"]
    checks = [
        ("hit / bytes floor, p50 at c=1", hit[1]["p50_ms"] / floor[1]["p50_ms"], "<= 2.0"),
        ("hit / bytes floor, time per request at c=8", floor[8]["rps"] / hit[8]["rps"], "<= 2.0"),
        ("hit requests/s at c=8", hit[8]["rps"], ">= 2000"),
        ("redis warm / memory warm, p50 at c=1", red[1]["p50_ms"] / mem[1]["p50_ms"], "<= 1.5"),
        ("redis warm / memory warm, time per request at c=8", mem[8]["rps"] / red[8]["rps"], "<= 1.5"),
    ]
    print("  load cpu us: the load generator's own CPU per request (it shares the 2 cores)")
    print()
    for name, value, target in checks:
        print(f"  {name:<52}{value:>9.2f}  (target {target})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="large")
    parser.add_argument("--seconds", type=float, default=5.0, help="each load run")
    args = parser.parse_args()
    report(run(args.profile, args.seconds), args.profile)


if __name__ == "__main__":
    main()
