"""`python -m bench memory`: RSS of `opsgraph serve --demo` under a closed loop of concurrent clients.

The demo (gateway and simulators in one process, in-memory cache) is started, warmed with one
request, then loaded by `bench.load` for `--seconds` at `--clients`; its RSS is sampled every
few seconds. Memory that levels off shows garbage is collected as fast as it is made.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bench.procs import Process, free_port, rss_mb, wait_healthy

__all__ = ["memory"]


async def _warm(url: str, query: str) -> None:
    async with aiohttp.ClientSession() as session, session.post(url, json={"query": query}) as resp:
        body = await resp.json()
    if body.get("errors"):
        raise RuntimeError(f"warm-up query failed: {json.dumps(body['errors'])[:500]}")


def memory(query_file: Path, clients: int, seconds: float, sample_s: float = 5.0) -> None:
    port = free_port()
    demo = Process("opsgraph.cli", ["serve", "--demo", "--port", str(port), "--sim-base-port", "0"])
    demo.drain()
    try:
        asyncio.run(wait_healthy(f"http://127.0.0.1:{port}/healthz", demo))
        url = f"http://127.0.0.1:{port}/graphql"
        started_rss = rss_mb(demo.pid)
        asyncio.run(_warm(url, query_file.read_text()))
        print(f"serve --demo, {query_file.stem}, {clients} clients for {seconds:.0f} s", flush=True)
        print(f"  RSS after start-up {started_rss:7.0f} MB, after one request {rss_mb(demo.pid):7.0f} MB")
        load = subprocess.Popen(
            [sys.executable, "-m", "bench.load", url, str(query_file), str(clients), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        began = time.monotonic()
        samples: list[tuple[float, float]] = []
        while load.poll() is None:
            time.sleep(sample_s)
            samples.append((time.monotonic() - began, rss_mb(demo.pid)))
        out, _ = load.communicate()
        result = json.loads(out)
        print("  RSS under load: " + "  ".join(f"{t:3.0f}s {mb:.0f}" for t, mb in samples) + " (MB)")
        print(
            f"  RSS at the end {samples[-1][1]:.0f} MB, peak {max(mb for _, mb in samples):.0f} MB; "
            f"{result['rps']:.1f} req/s, p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
            f"errors {int(result['errors'])}"
        )
    finally:
        demo.stop()
