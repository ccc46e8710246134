"""One log line per HTTP request (logger `opsgraph.requests`), written when the response is done.

Fields: `correlation_id`, `trace_id`, `method`, `path`, `status`, `duration_ms`, `operation`
(its name) and `operation_type`, `upstream_calls`, `upstream_failures` and `systems` (the systems
called). Probes and scrapes (`/healthz`, `/readyz`, `/metrics`) are logged at DEBUG only. Runs
inside the correlation middleware, so the id is known, and inside the HTTP server span, which it
tags with the correlation id.
"""

from __future__ import annotations

import logging
import time

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgraph.context import current_correlation_id
from opsgraph.telemetry.metrics import Metrics
from opsgraph.telemetry.record import RequestRecord, request_record

__all__ = ["QUIET_PATHS", "RequestLogMiddleware", "request_done"]

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
log = logging.getLogger("opsgraph.requests")


class RequestLogMiddleware:
    """Logs each request; with `metrics`, times each GraphQL request by operation (`/graphql` over HTTP)."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(current_correlation_id())
        trace.get_current_span().set_attribute("opsgraph.correlation_id", record.correlation_id)
        token = request_record.set(record)
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            request_record.reset(token)
            request_done(scope, record, status, started, self.metrics)


def request_done(
    scope: Scope, record: RequestRecord, status: int, started: float, metrics: Metrics | None
) -> None:
    """Time the request by operation (GraphQL requests, with `metrics`) and write its log line
    (`started`: its `perf_counter()`). The response cache's door calls it for the hits it serves."""
    if metrics is not None and record.operation_type is not None:
        metrics.request(record.operation_name, record.operation_type, time.perf_counter() - started)
    level = logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO
    if log.isEnabledFor(level):
        log.log(level, "request", extra=_fields(scope, record, status, started))


def _fields(scope: Scope, record: RequestRecord, status: int, started: float) -> dict[str, object]:
    return {
        "method": scope.get("method"),
        "path": scope["path"],
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "operation": record.operation_name,
        "operation_type": record.operation_type,
        "upstream_calls": record.upstream_calls,
        "upstream_failures": record.upstream_failures,
        "systems": sorted(record.systems),
    }
