"""`/healthz` (the process is up) and `/readyz` (this replica can serve).

Ready means able to answer queries: the connectors and the read cache exist (the lifespan has run).
A vendor being down does not make a replica unready: every replica shares the vendors, so pulling
them all from a load balancer helps no one, and they still answer from cache and with partial data.
Per-system health is in the `sources` query and `/metrics`. A Redis outage is reported as a
degraded cache, not unready: the cache is optional (reads go through to the sources meanwhile).
/readyz makes no upstream call.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from opsgraph.gateway.http import GatewayState

__all__ = ["health_routes", "readiness"]


def readiness(state: GatewayState) -> tuple[bool, dict[str, Any]]:
    cache = state.cache
    cache_status = (
        "starting"
        if cache is None
        else "off"
        if not cache.policy.enabled
        else "degraded"
        if cache.backend_down
        else "ok"
    )
    checks = {"sources": "ok" if state.sources is not None else "starting", "cache": cache_status}
    ready = state.sources is not None and cache is not None
    return ready, {"status": "ready" if ready else "starting", "checks": checks}


def health_routes(state: GatewayState) -> list[Route]:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        ready, body = readiness(state)
        return JSONResponse(body, status_code=200 if ready else 503)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
