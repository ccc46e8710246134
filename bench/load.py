"""A closed-loop load generator, run as its own process.

Usage: `python -m bench.load URL QUERY_FILE CONCURRENCY SECONDS`.

Prints one JSON line: requests per second, p50/p95 latency in ms, and the error count.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp


async def worker(
    session: aiohttp.ClientSession,
    url: str,
    payload: dict[str, str],
    deadline: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            async with session.post(url, json=payload) as resp:
                body = await resp.json()
                if resp.status != 200 or body.get("errors"):
                    errors.append(1)
        except aiohttp.ClientError:
            errors.append(1)
        latencies.append((time.perf_counter() - started) * 1000)


async def run(url: str, query: str, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[int] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(
            *(worker(session, url, {"query": query}, deadline, latencies, errors) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": ordered[len(ordered) // 2],
        "p95_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "errors": float(len(errors)),
        "requests": float(len(latencies)),
    }


def main() -> None:
    url, query_file, concurrency, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    result = asyncio.run(run(url, Path(query_file).read_text(), concurrency, seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
