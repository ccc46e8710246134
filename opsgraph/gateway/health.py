"""`/healthz` (the process is up) and `/readyz` (every source answers a cheap authenticated read)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from opsgraph.model import SourceName
from opsgraph.resolvers.sources import Sources

__all__ = ["check_source", "health_routes", "readiness"]


async def check_source(sources: Sources, source: SourceName, timeout_s: float) -> dict[str, Any]:
    """One source's readiness: ok, latency, circuit state, and the error when it is not ok."""
    started = time.perf_counter()
    error = await sources.probe(source, timeout_s)
    status: dict[str, Any] = (
        {"ok": True} if error is None else {"ok": False, "code": error.code, "error": error.public_message}
    )
    status["latencyMs"] = round((time.perf_counter() - started) * 1000, 1)
    status["circuit"] = str(sources.get(source).breaker.state)
    return status


async def readiness(sources: Sources, timeout_s: float) -> tuple[bool, dict[str, Any]]:
    results = await asyncio.gather(*(check_source(sources, source, timeout_s) for source in SourceName))
    checks = dict(zip((source.value for source in SourceName), results, strict=True))
    ready = all(check["ok"] for check in results)
    return ready, {"status": "ready" if ready else "unavailable", "sources": checks}


def health_routes(get_sources: Callable[[], Sources], timeout_s: float) -> list[Route]:
    """`get_sources()` returns the running `Sources` (they exist only once the lifespan has run)."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        ready, body = await readiness(get_sources(), timeout_s)
        return JSONResponse(body, status_code=200 if ready else 503)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
