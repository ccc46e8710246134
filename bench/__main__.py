"""`make bench`: the benchmark queries against the `large` world with 20 ms per upstream call.

For each query in bench/queries/ it prints the upstream request count (from the
simulators' own /_sim/stats), the ideal critical path in upstream round trips (from the
query file's `# critical-path:` header), p50/p95 latency cold (no cache) and warm, and
the ratio of cold p50 to the critical path's injected latency. Then throughput with a
warm cache at concurrency 1, 8 and 32, measured by a separate load process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import uvicorn

from opsgraph.gateway.app import create_app
from opsgraph.gateway.settings import demo_settings
from opsgraph.sources.simkit.serve import SimulatorGroup, SimulatorThread, bind
from opsgraph.sources.world import build_world

QUERIES = Path(__file__).parent / "queries"
LATENCY_MS = 20.0


class GatewayThread:
    """The gateway under uvicorn in a thread of its own, so the bench client does not share its loop."""

    def __init__(self, settings: Any) -> None:
        self.sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/graphql"
        config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), daemon=True
        )

    def __enter__(self) -> GatewayThread:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def critical_path(text: str) -> int:
    match = re.search(r"#\s*critical-path:\s*(\d+)", text)
    return int(match.group(1)) if match else 0


async def sim_requests(session: aiohttp.ClientSession, group: SimulatorGroup) -> tuple[int, float]:
    total, service = 0, 0.0
    for url in group.urls().values():
        async with session.get(f"{url}/_sim/stats") as resp:
            stats = await resp.json()
            total += stats["total"]
            service += stats["service_ms_total"]
    return total, service


async def reset_stats(session: aiohttp.ClientSession, group: SimulatorGroup) -> None:
    for url in group.urls().values():
        async with session.delete(f"{url}/_sim/stats"):
            pass


async def run_query(session: aiohttp.ClientSession, url: str, query: str) -> float:
    started = time.perf_counter()
    async with session.post(url, json={"query": query}) as resp:
        body = await resp.json()
    elapsed = (time.perf_counter() - started) * 1000
    if body.get("errors"):
        raise RuntimeError(f"query failed: {json.dumps(body['errors'])[:500]}")
    return elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(group: SimulatorGroup, cold_url: str, warm_url: str, runs: int) -> list[dict[str, Any]]:
    rows = []
    async with aiohttp.ClientSession() as session:
        for path in sorted(QUERIES.glob("*.graphql")):
            text = path.read_text()
            await reset_stats(session, group)
            first = await run_query(session, cold_url, text)
            upstream, service = await sim_requests(session, group)
            cold = [first] + [await run_query(session, cold_url, text) for _ in range(runs - 1)]
            await run_query(session, warm_url, text)  # warm the cache
            await reset_stats(session, group)
            warm = [await run_query(session, warm_url, text) for _ in range(runs)]
            warm_upstream, _ = await sim_requests(session, group)
            cp = critical_path(text)
            rows.append(
                {
                    "query": path.stem,
                    "upstream": upstream,
                    "service_ms": service,
                    "critical_path": cp,
                    "cold_p50": statistics.median(cold),
                    "cold_p95": pct(cold, 0.95),
                    "warm_p50": statistics.median(warm),
                    "warm_p95": pct(warm, 0.95),
                    "warm_upstream": warm_upstream / runs,
                    "ratio": statistics.median(cold) / (cp * LATENCY_MS) if cp else float("nan"),
                }
            )
    return rows


def throughput(url: str, query_file: Path, seconds: float) -> dict[int, dict[str, float]]:
    out = {}
    for concurrency in (1, 8, 32):
        proc = subprocess.run(
            [sys.executable, "-m", "bench.load", url, str(query_file), str(concurrency), str(seconds)],
            capture_output=True,
            text=True,
            check=True,
        )
        out[concurrency] = json.loads(proc.stdout)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="large")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    started = time.perf_counter()
    world = build_world(seed=7, profile=args.profile)
    print(f"world {args.profile}: {world.counts()} in {time.perf_counter() - started:.1f}s", flush=True)
    with SimulatorThread(world) as group:
        asyncio.run(_set_latency(group))
        creds = {s: sim.info.credentials for s, sim in group.running.items()}
        cold_settings = demo_settings(group.urls(), creds, today=world.as_of, cache={"enabled": False})
        warm_settings = demo_settings(group.urls(), creds, today=world.as_of, cache={"enabled": True})
        with GatewayThread(cold_settings) as cold, GatewayThread(warm_settings) as warm:
            rows = asyncio.run(measure(group, cold.url, warm.url, args.runs))
            print_table(rows)
            tput = throughput(warm.url, QUERIES / "invoice_ageing.graphql", args.seconds)
            print("\nthroughput, warm cache, invoice_ageing query (separate load process):")
            for conc, r in tput.items():
                print(
                    f"  concurrency {conc:>2}: {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms  "
                    f"p95 {r['p95_ms']:7.1f} ms  errors {int(r['errors'])}"
                )


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"\nupstream latency injected: {LATENCY_MS:.0f} ms per call; latencies in ms")
    head = (
        f"{'query':<16}{'upstream':>9}{'crit.path':>10}{'cold p50':>10}{'cold p95':>10}"
        f"{'ratio':>7}{'warm p50':>10}{'warm p95':>10}{'warm upstr':>11}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['query']:<16}{r['upstream']:>9}{r['critical_path']:>10}{r['cold_p50']:>10.1f}"
            f"{r['cold_p95']:>10.1f}{r['ratio']:>7.1f}{r['warm_p50']:>10.1f}{r['warm_p95']:>10.1f}"
            f"{r['warm_upstream']:>11.1f}"
        )


async def _set_latency(group: SimulatorGroup) -> None:
    async with aiohttp.ClientSession() as session:
        for url in group.urls().values():
            async with session.put(f"{url}/_sim/faults", json={"latency_ms": LATENCY_MS}) as resp:
                resp.raise_for_status()


if __name__ == "__main__":
    main()
