"""Time to reject a 30-fragment chain: fragment i spreads fragment i+1 twice, the last one is too deep.

A validator that walks a fragment again for every spread does 2**30 walks here; a linear one
answers with `QUERY_TOO_COMPLEX` at once. Each attempt has a client timeout, and the gateway
is a process of its own, killed afterwards, so a frozen one never outlives the figure.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp

from bench.procs import start_gateway

__all__ = ["chain_document", "time_to_reject"]

TOO_DEEP = "clients(first: 1) { nodes {" + " engagements { client {" * 7 + " name" + " } }" * 7 + " } }"


def chain_document(fragments: int = 30) -> str:
    """`{ ...F0 }`, F_i = `{ ...F_{i+1} ...F_{i+1} }`, and the last fragment selects past the depth limit."""
    lines = ["query Chain { ...F0 }"]
    for i in range(fragments - 1):
        lines.append(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}")
    lines.append(f"fragment F{fragments - 1} on Query {{ {TOO_DEEP} }}")
    return "\n".join(lines)


async def _attempts(url: str, document: str, runs: int, timeout_s: float) -> tuple[list[float], str]:
    times: list[float] = []
    outcome = ""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(runs):
            started = time.perf_counter()
            try:
                async with session.post(url, json={"query": document}) as resp:
                    body = await resp.json(content_type=None)
            except TimeoutError:
                return times, "timeout"
            times.append((time.perf_counter() - started) * 1000)
            codes = sorted({(e.get("extensions") or {}).get("code", "?") for e in body.get("errors") or []})
            outcome = f"HTTP {resp.status} {','.join(codes) or 'no errors'}"
    return times, outcome


def time_to_reject(
    env: dict[str, str], fragments: int = 30, runs: int = 5, timeout_s: float = 30
) -> tuple[float | None, str, int]:
    """Median ms to answer the chain document (None on timeout), what it answered, and its size in bytes."""
    document = chain_document(fragments)
    gateway, url = start_gateway(env)
    times: list[float] = []
    outcome = "timeout"
    try:
        times, outcome = asyncio.run(_attempts(url, document, runs, timeout_s))
    finally:
        # a gateway still walking fragments never sees SIGINT: kill it at once
        gateway.stop(grace_s=15 if outcome != "timeout" else 0)
    if outcome == "timeout":
        return None, f"timeout (> {timeout_s:.0f} s)", len(document.encode())
    return statistics.median(times), outcome, len(document.encode())
