"""`make bench`: the benchmark queries against the `large` world with 20 ms per upstream call.

Each vendor simulator runs in a process of its own (`bench.simulator`), each gateway too.

For each query in bench/queries/ it prints the upstream request count (from the
simulators' own /_sim/stats), the ideal critical path in upstream round trips (from the
query file's `# critical-path:` header), p50/p95 latency cold (no cache) and warm, and
the ratio of cold p50 to the critical path's injected latency, and the upstream busy time of each
cold run (the union of the simulators' request intervals: the critical path as run) with the cold
time's ratio to it. Then throughput with a warm cache at concurrency 1, 8 and 32, measured by a
separate load process, and the time a fresh gateway takes to answer a 30-fragment chain document
(`bench.reject`).

`python -m bench workflows` (also in `make bench`): 100 convertOpportunity workflows at once on SQLite
and PostgreSQL stores (`bench.workflows`).

`python -m bench memory` (`make bench-memory`): RSS of `serve --demo` under 32 clients for 60 s, then
KB per cached time entry (`python -m bench entries` alone, bench/entry_size.py).
`python -m bench events` (also run by `make bench`): live pushes (bench/events.py).
Short runs while developing: `--runs 2 --seconds 1`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.entry_size import entry_size
from bench.events import events
from bench.memory import memory
from bench.procs import Process, gateway_env, rss_mb, start_gateway, start_simulators, stop_all
from bench.reject import time_to_reject
from bench.workflows import workflows
from simulators.simkit.stacks import DEFAULT_STACK, STACKS
from simulators.world import DEFAULT_AS_OF

QUERIES = Path(__file__).parent / "queries"
LATENCY_MS = 20.0
AS_OF = DEFAULT_AS_OF.isoformat()


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


async def upstream_busy_ms(session: aiohttp.ClientSession, sims: list[str]) -> float:
    """How long at least one upstream request was in flight since the stats were reset, in ms: the
    union of every simulator's request intervals (arrival to end, injected latency included). The
    upstream critical path as the gateway ran it: no schedule of the same requests needs less."""
    intervals: list[tuple[float, float]] = []
    for url in sims:
        async with session.get(f"{url}/_sim/stats", params={"intervals": "1"}) as resp:
            intervals += [(a, b) for a, b in (await resp.json())["intervals"]]
    busy, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            busy += end - max(start, reach)
            reach = end
    return busy * 1000


async def reset_stats(session: aiohttp.ClientSession, sims: list[str]) -> None:
    for url in sims:
        async with session.delete(f"{url}/_sim/stats"):
            pass


async def run_query(session: aiohttp.ClientSession, url: str, query: str) -> float:
    return (await answer(session, url, query))[0]


async def answer(session: aiohttp.ClientSession, url: str, query: str) -> tuple[float, str]:
    """The time to answer `query` in ms, and the response's body."""
    elapsed, text, errors = await attempt(session, url, query)
    if errors:
        raise RuntimeError(f"query failed: {errors[:500]}")
    return elapsed, text


async def attempt(session: aiohttp.ClientSession, url: str, query: str) -> tuple[float, str, str | None]:
    """The time to answer `query` in ms, the response's body, and its errors (None: none)."""
    started = time.perf_counter()
    async with session.post(url, json={"query": query}) as resp:
        text = await resp.text()
    elapsed = (time.perf_counter() - started) * 1000
    errors = json.loads(text).get("errors")
    return elapsed, text, json.dumps(errors) if errors else None


async def warm_up(session: aiohttp.ClientSession, url: str, query: str, tries: int = 3) -> str | None:
    """Fill the warm gateway's cache; returns the answer's body (a cold read may fail: tried again;
    None when every try failed)."""
    for _ in range(tries):
        _, text, errors = await attempt(session, url, query)
        if not errors:
            return text
        print(f"  warm-up failed: {errors[:300]}", flush=True)
    return None


async def cold_runs(
    session: aiohttp.ClientSession, url: str, query: str, runs: int, sims: list[str]
) -> tuple[list[float], list[float], int]:
    """`runs` cold answers' times, the upstream busy time of each (`upstream_busy_ms`), and how many
    failed (a cold forecast may pass its deadline: it is counted, not fatal, so the table still shows
    the other queries). The simulators' stats are reset before each run."""
    times, busy, failed = [], [], 0
    for _ in range(runs):
        await reset_stats(session, sims)
        elapsed, _, errors = await attempt(session, url, query)
        times.append(elapsed)
        busy.append(await upstream_busy_ms(session, sims))
        if errors:
            failed += 1
            print(f"  cold run failed: {errors[:300]}", flush=True)
    return times, busy, failed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(sims: list[str], cold_url: str, warm_url: str, runs: int) -> list[dict[str, Any]]:
    rows = []
    async with aiohttp.ClientSession() as session:
        for path in sorted(QUERIES.glob("*.graphql")):
            text = path.read_text()
            first, busy, cold_failed = await cold_runs(session, cold_url, text, 1, sims)
            upstream, service = await sim_requests(session, sims)
            rest, more_busy, failed = await cold_runs(session, cold_url, text, runs - 1, sims)
            cold, busy, cold_failed = first + rest, busy + more_busy, cold_failed + failed
            body = await warm_up(session, warm_url, text)
            await reset_stats(session, sims)
            warm = [await run_query(session, warm_url, text) for _ in range(runs)] if body else [float("nan")]
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
                    "cold_failed": cold_failed,
                    "warm_p50": statistics.median(warm),
                    "warm_p95": pct(warm, 0.95),
                    "warm_upstream": warm_upstream / runs,
                    "ratio": statistics.median(cold) / (cp * LATENCY_MS) if cp else float("nan"),
                    "busy_p50": statistics.median(busy),
                    "busy_ratio": statistics.median(c / b for c, b in zip(cold, busy, strict=True) if b),
                    "text": text,
                    "body": body,
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
    parser.add_argument(
        "mode", nargs="?", choices=["table", "memory", "entries", "events", "workflows"], default="table"
    )
    parser.add_argument("--profile", default="large")
    parser.add_argument("--stack", choices=list(STACKS), default=DEFAULT_STACK, help="table: the demo stack")
    parser.add_argument("--runs", type=int, default=10, help="table: requests per query, cold and warm")
    parser.add_argument("--seconds", type=float, default=None, help="throughput 5 s / memory 60 s per run")
    parser.add_argument("--clients", type=int, default=32, help="memory: concurrent clients")
    parser.add_argument("--query", default="portfolio", help="memory: a query in bench/queries/")
    parser.add_argument("--sse", type=int, default=1000, help="events: SSE subscribers held")
    parser.add_argument("--ws", type=int, default=1000, help="events: WebSocket subscribers held")
    parser.add_argument("--count", type=int, default=100, help="workflows: started at once")
    parser.add_argument("--sequential", type=int, default=5, help="workflows: run one by one")
    args = parser.parse_args()
    if args.mode == "events":
        events(args.sse, args.ws, rounds=args.runs if args.runs != 10 else 5)
        return
    if args.mode == "memory":
        memory(QUERIES / f"{args.query}.graphql", args.clients, args.seconds or 60.0)
        entry_size()
        return
    if args.mode == "entries":
        entry_size()
        return
    if args.mode == "workflows":
        workflows(args.profile, args.count, args.sequential)
        return
    table(args.profile, args.runs, args.seconds or 5.0, args.stack)


def table(profile: str, runs: int, seconds: float, stack: str = DEFAULT_STACK) -> None:
    started = time.perf_counter()
    processes, urls = start_simulators(profile, stack=stack)
    print(
        f"simulators ({stack} stack, {profile} world), one process each, "
        f"up in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    try:
        asyncio.run(_set_latency(list(urls.values())))
        cold, cold_url = start_gateway(gateway_env(urls, AS_OF, cache_enabled=False, stack=stack))
        processes.append(cold)
        warm, warm_url = start_gateway(gateway_env(urls, AS_OF, cache_enabled=True, stack=stack))
        processes.append(warm)
        rows = asyncio.run(measure(list(urls.values()), cold_url, warm_url, runs))
        floor_process = add_floors(rows, runs)
        processes.append(floor_process)
        print_table(rows)
        print(f"\nwarm gateway RSS after the table: {rss_mb(warm.pid):.0f} MB (target <= 250 MB)")
        query = QUERIES / "invoice_ageing.graphql"
        tput = throughput(warm_url, query, seconds)
        print(f"\nthroughput, warm cache, {query.stem} (separate load process, gateway in its own process):")
        for conc, r in tput.items():
            print(
                f"  concurrency {conc:>2}: {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms  "
                f"p95 {r['p95_ms']:7.1f} ms  errors {int(r['errors'])}"
            )
        median_ms, outcome, size = time_to_reject(gateway_env(urls, AS_OF, cache_enabled=True, stack=stack))
        figure = f"{median_ms:.1f} ms (median of 5)" if median_ms is not None else "-"
        print(
            f"\n30-fragment chain ({size} bytes, each fragment spreads the next twice): {figure}, {outcome}"
        )
    finally:
        stop_all(processes)


def add_floors(rows: list[dict[str, Any]], runs: int) -> Process:
    """Measure each query's floors (`bench.floor`, its own process) over the warm gateway's answers:
    strawberry over plain dataclasses, and the pre-serialised bytes. Checks the floor answers alike."""
    answers = {
        r["query"]: {"data": json.loads(r["body"])["data"], "body": r["body"]} for r in rows if r["body"]
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(answers, f)
    floor = Process("bench.floor", [f.name])
    (match,) = floor.wait_for(r"^ready (http://\S+)")
    base = match.group(1)

    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            for r in rows:
                if r["query"] not in answers:
                    continue
                _, body = await answer(session, f"{base}/graphql", r["text"])
                if json.loads(body)["data"] != answers[r["query"]]["data"]:
                    raise RuntimeError(f"the floor answers {r['query']} differently from the gateway")
                graphql = [await run_query(session, f"{base}/graphql", r["text"]) for _ in range(runs)]
                raw = [await run_query(session, f"{base}/bytes/{r['query']}", r["text"]) for _ in range(runs)]
                r["floor_p50"] = statistics.median(graphql)
                r["bytes_p50"] = statistics.median(raw)

    asyncio.run(run())
    Path(f.name).unlink()
    return floor


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"\nupstream latency injected: {LATENCY_MS:.0f} ms per call; latencies in ms")
    print(
        "ratio: cold p50 / critical path's injected latency (target <= 1.5); busy: upstream busy time "
        "of a cold run (some upstream request in flight, as run); c/busy: cold / busy, per run (p50);\n"
        "floor: strawberry over plain dataclasses; bytes: pre-serialised response; "
        "w/floor: warm p50 / floor p50 (target <= 2)"
    )
    head = (
        f"{'query':<16}{'upstream':>9}{'crit.path':>10}{'cold p50':>10}{'cold p95':>10}"
        f"{'ratio':>7}{'busy p50':>10}{'c/busy':>8}{'warm p50':>10}{'warm p95':>10}{'warm upstr':>11}"
        f"{'floor p50':>10}{'bytes p50':>10}{'w/floor':>8}{'cold fail':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        floor = r.get("floor_p50", float("nan"))
        print(
            f"{r['query']:<16}{r['upstream']:>9}{r['critical_path']:>10}{r['cold_p50']:>10.1f}"
            f"{r['cold_p95']:>10.1f}{r['ratio']:>7.1f}{r['busy_p50']:>10.1f}{r['busy_ratio']:>8.2f}"
            f"{r['warm_p50']:>10.1f}{r['warm_p95']:>10.1f}"
            f"{r['warm_upstream']:>11.1f}{floor:>10.1f}{r.get('bytes_p50', float('nan')):>10.1f}"
            f"{r['warm_p50'] / floor:>8.1f}{r['cold_failed']:>10}"
        )


async def _set_latency(sims: list[str]) -> None:
    async with aiohttp.ClientSession() as session:
        for url in sims:
            async with session.put(f"{url}/_sim/faults", json={"latency_ms": LATENCY_MS}) as resp:
                resp.raise_for_status()


if __name__ == "__main__":
    main()
