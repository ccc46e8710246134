"""`python -m bench.response_cache` (in `make bench`): the whole-response cache and the Redis path on
`invoice_ageing`, against the `large` world with 20 ms per upstream call, every figure from one run.

- Response-cache hits: requests/s at concurrency 8 (a separate load process, `bench.load`), next to a
  plain Starlette endpoint (uvicorn on uvloop with httptools, like the gateway) returning the same
  pre-serialised bytes, in a process of its own; the ratio of their times per request (1 / throughput).
  Targets (issue 12): at most 2x the endpoint's time, at least 2,000 requests/s.
- Redis against memory: the read cache warm with the response cache off (p50 of sequential requests,
  and requests/s at concurrency 8), on a private `redis-server` and in memory. Target: Redis at most 1.5x.
  Then response-cache hits over Redis.

Each gateway runs alone (started, measured, stopped), so no two hold the large world at once.
`python -m bench.response_cache bytes FILE PORT` is the plain endpoint (used by the run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bench.procs import Process, free_port, gateway_env, start_gateway, start_simulators, stop_all
from simulators.simkit.serve import bind
from simulators.world import DEFAULT_AS_OF

QUERY = Path(__file__).parent / "queries" / "invoice_ageing.graphql"
LATENCY_MS = 20.0
CONCURRENCY = 8
AS_OF = DEFAULT_AS_OF.isoformat()


# -- the plain endpoint --------------------------------------------------------------------------


def serve_bytes(path: Path, port: int) -> None:
    """POST (or GET) anything: the bytes of `path`, as JSON. The request body is read, as the gateway must."""
    import uvicorn
    import uvloop
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = path.read_bytes()

    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/graphql", endpoint, methods=["GET", "POST"])])
    config = uvicorn.Config(app, log_level="warning", access_log=False, http="httptools", lifespan="off")
    sock = bind("127.0.0.1", port)
    sock.listen(2048)  # connections queue from now on
    print(f"ready http://127.0.0.1:{port}/graphql", flush=True)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(uvicorn.Server(config).serve(sockets=[sock]))


# -- measuring -----------------------------------------------------------------------------------


def load(url: str, seconds: float, concurrency: int = CONCURRENCY) -> dict[str, float]:
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


async def fetch(url: str, runs: int) -> tuple[bytes, str, list[float]]:
    """The response bytes, what the response cache did on the last request, and the time of each (ms)."""
    times: list[float] = []
    body, cached = b"", ""
    async with aiohttp.ClientSession() as session:
        for _ in range(runs):
            started = time.perf_counter()
            async with session.post(url, json={"query": QUERY.read_text()}) as resp:
                body = await resp.read()
                cached = resp.headers.get("x-response-cache", "-")
            times.append((time.perf_counter() - started) * 1000)
            if b'"errors"' in body:
                raise RuntimeError(f"{url}: {body[:500]!r}")
    return body, cached, times


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


def warm_figures(url: str, runs: int, seconds: float) -> dict[str, Any]:
    """Warm the caches, then: p50 of `runs` sequential requests, and requests/s at concurrency 8."""
    asyncio.run(fetch(url, 2))
    _, cached, times = asyncio.run(fetch(url, runs))
    return {"p50_ms": statistics.median(times), "cached": cached, **load(url, seconds)}


# -- the run -------------------------------------------------------------------------------------


def run(profile: str, runs: int, seconds: float) -> dict[str, dict[str, Any]]:
    processes, urls = start_simulators(profile)
    figures: dict[str, dict[str, Any]] = {}
    try:
        asyncio.run(set_latency(list(urls.values())))
        with gateway(gateway_env(urls, AS_OF, True, response_cache=True)) as url:
            body, _, _ = asyncio.run(fetch(url, 1))
            figures["hit (memory)"] = warm_figures(url, runs, seconds)
        with tempfile.NamedTemporaryFile(suffix=".json") as saved:
            Path(saved.name).write_bytes(body)
            port = free_port()
            plain = Process("bench.response_cache", ["bytes", saved.name, str(port)])
            plain.wait_for(r"^ready ")
            plain.drain()
            try:
                figures["plain endpoint"] = warm_figures(f"http://127.0.0.1:{port}/graphql", runs, seconds)
            finally:
                plain.stop()
        with gateway(gateway_env(urls, AS_OF, True)) as url:
            figures["warm (memory)"] = warm_figures(url, runs, seconds)
        with redis_server() as redis_url:
            with gateway(gateway_env(urls, AS_OF, True, redis_url=redis_url)) as url:
                figures["warm (redis)"] = warm_figures(url, runs, seconds)
            with gateway(gateway_env(urls, AS_OF, True, response_cache=True, redis_url=redis_url)) as url:
                figures["hit (redis)"] = warm_figures(url, runs, seconds)
        figures["response"] = {"bytes": len(body)}
    finally:
        stop_all(processes)
    return figures


def report(figures: dict[str, dict[str, Any]], profile: str) -> None:
    size = figures.pop("response")["bytes"]
    print(
        f"\nresponse cache, {QUERY.stem} ({size} bytes), {profile} world, {LATENCY_MS:.0f} ms per upstream "
        f"call; load at concurrency {CONCURRENCY} from a separate process"
    )
    head = f"{'':<16}{'p50 c=1 ms':>11}{'req/s c=8':>11}{'ms/req c=8':>11}{'p95 c=8 ms':>11}  served"
    print(head)
    print("-" * len(head))
    for name, f in figures.items():
        print(
            f"{name:<16}{f['p50_ms']:>11.2f}{f['rps']:>11.0f}{1000 / f['rps']:>11.3f}{f['p95_ms']:>11.2f}"
            f"  {f['cached']}"
        )
    hit, plain = figures["hit (memory)"], figures["plain endpoint"]
    mem, red = figures["warm (memory)"], figures["warm (redis)"]
    checks = [
        ("hit / plain endpoint, time per request at c=8", plain["rps"] / hit["rps"], "<= 2.0"),
        ("hit requests/s at c=8", hit["rps"], ">= 2000"),
        ("redis warm / memory warm, p50 at c=1", red["p50_ms"] / mem["p50_ms"], "<= 1.5"),
        ("redis warm / memory warm, time per request at c=8", mem["rps"] / red["rps"], "<= 1.5"),
    ]
    print()
    for name, value, target in checks:
        print(f"  {name:<52}{value:>9.2f}  (target {target})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", nargs="?", choices=["run", "bytes"], default="run")
    parser.add_argument("args", nargs="*", help="bytes: FILE PORT")
    parser.add_argument("--profile", default="large")
    parser.add_argument("--runs", type=int, default=50, help="sequential requests for the c=1 p50")
    parser.add_argument("--seconds", type=float, default=5.0, help="each load run")
    args = parser.parse_args()
    if args.mode == "bytes":
        serve_bytes(Path(args.args[0]), int(args.args[1]))
        return
    report(run(args.profile, args.runs, args.seconds), args.profile)


if __name__ == "__main__":
    main()
