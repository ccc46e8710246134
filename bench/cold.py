"""`python -m bench.cold`: each bench query cold (read cache off), upstream requests per route.

A quicker look than `make bench` at where a cold query spends its upstream requests: one answer to
fetch the gateway's tokens, then one counted answer (every simulator route it called, from
`/_sim/stats`), then `--runs` more for the cold p50 against the critical path's injected latency.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from typing import Any

import aiohttp

from bench.__main__ import AS_OF, LATENCY_MS, QUERIES, _set_latency, attempt, critical_path, reset_stats
from bench.procs import gateway_env, start_gateway, start_simulators, stop_all


async def _routes(session: aiohttp.ClientSession, urls: dict[str, str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, url in urls.items():
        async with session.get(f"{url}/_sim/stats") as resp:
            stats: dict[str, Any] = await resp.json()
        out[name] = {route: r["count"] for route, r in stats["routes"].items()}
    return out


async def _measure(urls: dict[str, str], gateway: str, runs: int, only: str | None) -> None:
    sims = list(urls.values())
    async with aiohttp.ClientSession() as session:
        for path in sorted(QUERIES.glob("*.graphql")):
            if only and path.stem != only:
                continue
            text = path.read_text()
            await attempt(session, gateway, text)  # tokens and the ERP's currencies
            await reset_stats(session, sims)
            _, _, errors = await attempt(session, gateway, text)
            routes = await _routes(session, urls)
            times = [(await attempt(session, gateway, text))[0] for _ in range(runs)]
            cp = critical_path(text)
            total = sum(sum(r.values()) for r in routes.values())
            p50 = statistics.median(times)
            ratio = p50 / (cp * LATENCY_MS) if cp else float("nan")
            print(
                f"\n{path.stem}: {total} upstream requests; cold p50 {p50:.0f} ms, critical path {cp}"
                f" ({ratio:.1f}x){'; ERRORS ' + str(errors)[:300] if errors else ''}"
            )
            for system, counted in routes.items():
                for route, count in counted.items():
                    print(f"  {count:>4}  {system:<10} {route}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="large")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--query", default=None, help="one query of bench/queries/ (default: all)")
    args = parser.parse_args()
    processes, urls = start_simulators(args.profile)
    try:
        asyncio.run(_set_latency(list(urls.values())))
        gateway, url = start_gateway(gateway_env(urls, AS_OF, cache_enabled=False))
        processes.append(gateway)
        print(f"{args.profile} world, {LATENCY_MS:.0f} ms injected per upstream call")
        asyncio.run(_measure(urls, url, args.runs, args.query))
    finally:
        stop_all(processes)


if __name__ == "__main__":
    main()
