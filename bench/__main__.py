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
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

from opsgraph.model import SourceName
from opsgraph.sources.simkit.serve import simulator_info
from opsgraph.sources.world import DEFAULT_AS_OF

QUERIES = Path(__file__).parent / "queries"
LATENCY_MS = 20.0
AS_OF = DEFAULT_AS_OF.isoformat()


class Process:
    """A child process of the bench: the simulators or one gateway, each with its own interpreter."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opsgraph.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def wait_for(self, pattern: str, count: int = 1, timeout_s: float = 120) -> list[re.Match[str]]:
        """Read the child's output until `pattern` matched `count` lines."""
        found: list[re.Match[str]] = []
        deadline = time.monotonic() + timeout_s
        assert self.proc.stdout is not None
        while len(found) < count and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.proc.args} exited with {self.proc.wait()}")
            if match := re.search(pattern, line):
                found.append(match)
        self.drain()
        return found

    def drain(self) -> None:
        """Keep reading the child's output in the background so a full pipe never blocks it."""
        stream = self.proc.stdout
        if stream is not None:
            threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gateway_env(urls: dict[SourceName, str], today: str, cache_enabled: bool) -> dict[str, str]:
    env = {
        "OPSGRAPH_TODAY": today,
        "OPSGRAPH_CACHE__ENABLED": str(cache_enabled).lower(),
        "OPSGRAPH_LOG_LEVEL": "warning",
    }
    for source, url in urls.items():
        info = simulator_info(source)
        prefix = f"OPSGRAPH_{source.value.upper()}__"
        env[prefix + "BASE_URL"] = info.connector_base_url(url)
        env[prefix + "CREDENTIALS"] = json.dumps(dict(info.credentials))
    return env


def start_gateway(env: dict[str, str]) -> tuple[Process, str]:
    port = free_port()
    gateway = Process(["serve", "--host", "127.0.0.1", "--port", str(port)], env)
    gateway.drain()
    asyncio.run(_wait_healthy(f"http://127.0.0.1:{port}/healthz", gateway))
    return gateway, f"http://127.0.0.1:{port}/graphql"


async def _wait_healthy(url: str, process: Process, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {process.proc.returncode}")
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"gateway at {url} not healthy within {timeout_s}s")


def critical_path(text: str) -> int:
    match = re.search(r"#\s*critical-path:\s*(\d+)", text)
    return int(match.group(1)) if match else 0


async def sim_requests(session: aiohttp.ClientSession, sims: list[str]) -> tuple[int, float]:
    total, service = 0, 0.0
    for url in sims:
        async with session.get(f"{url}/_sim/stats") as resp:
            stats = await resp.json()
            total += stats["total"]
            service += stats["service_ms_total"]
    return total, service


async def reset_stats(session: aiohttp.ClientSession, sims: list[str]) -> None:
    for url in sims:
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


async def measure(sims: list[str], cold_url: str, warm_url: str, runs: int) -> list[dict[str, Any]]:
    rows = []
    async with aiohttp.ClientSession() as session:
        for path in sorted(QUERIES.glob("*.graphql")):
            text = path.read_text()
            await reset_stats(session, sims)
            first = await run_query(session, cold_url, text)
            upstream, service = await sim_requests(session, sims)
            cold = [first] + [await run_query(session, cold_url, text) for _ in range(runs - 1)]
            await run_query(session, warm_url, text)  # warm the cache
            await reset_stats(session, sims)
            warm = [await run_query(session, warm_url, text) for _ in range(runs)]
            warm_upstream, _ = await sim_requests(session, sims)
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
    sims = Process(["simulate", "--profile", args.profile, "--base-port", str(free_port())])
    found = sims.wait_for(
        r"^\s+(salesforce|harvest|bamboohr|netsuite)\s+(http://\S+)", count=4, timeout_s=300
    )
    urls = {SourceName(m.group(1)): m.group(2) for m in found}
    print(f"simulators ({args.profile} world) up in {time.perf_counter() - started:.1f}s", flush=True)
    gateways: list[Process] = []
    try:
        asyncio.run(_set_latency(list(urls.values())))
        cold, cold_url = start_gateway(gateway_env(urls, AS_OF, cache_enabled=False))
        warm, warm_url = start_gateway(gateway_env(urls, AS_OF, cache_enabled=True))
        gateways += [cold, warm]
        rows = asyncio.run(measure(list(urls.values()), cold_url, warm_url, args.runs))
        print_table(rows)
        query = QUERIES / "invoice_ageing.graphql"
        tput = throughput(warm_url, query, args.seconds)
        print(f"\nthroughput, warm cache, {query.stem} (separate load process, gateway in its own process):")
        for conc, r in tput.items():
            print(
                f"  concurrency {conc:>2}: {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms  "
                f"p95 {r['p95_ms']:7.1f} ms  errors {int(r['errors'])}"
            )
    finally:
        for p in [*gateways, sims]:
            p.stop()


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


async def _set_latency(sims: list[str]) -> None:
    async with aiohttp.ClientSession() as session:
        for url in sims:
            async with session.put(f"{url}/_sim/faults", json={"latency_ms": LATENCY_MS}) as resp:
                resp.raise_for_status()


if __name__ == "__main__":
    main()
