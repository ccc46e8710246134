"""OTLP export (issue 13): with `telemetry.otlp_endpoint` set, the spans of one query reach an OTLP/HTTP
receiver (a small server in the test decoding the protobuf with `opentelemetry-proto`), with correct
parents, the correlation id and no secret. Spans are flushed when the app stops (its lifespan)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from test_gateway_support import running_gateway, settings_for

from simulators.simkit.serve import SimulatorGroup, bind
from simulators.world import World

QUERY = "query Exported { clients(first: 2) { nodes { name } } }"


@asynccontextmanager
async def otlp_receiver() -> AsyncIterator[tuple[str, list[Span], list[str]]]:
    """An OTLP/HTTP traces endpoint: yields (its base URL, the spans received, their service names)."""
    spans: list[Span] = []
    services: list[str] = []

    async def traces(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        export = ExportTraceServiceRequest.FromString(await request.read())
        for resource_spans in export.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                spans.extend(scope_spans.spans)
                services.extend(attrs.get("service.name", "") for _ in scope_spans.spans)
        body = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=body, content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = bind("127.0.0.1", 0)
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", spans, services
    finally:
        await runner.cleanup()
        sock.close()


def _attrs(span: Span) -> dict[str, object]:
    out: dict[str, object] = {}
    for a in span.attributes:
        value = a.value
        out[a.key] = getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None
    return out


@pytest.mark.asyncio
async def test_the_spans_of_one_query_reach_an_otlp_receiver(
    simulators: SimulatorGroup, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    async with otlp_receiver() as (endpoint, spans, services):
        settings = settings_for(
            simulators, world, cache={"enabled": False}, telemetry={"otlp_endpoint": endpoint}
        )
        async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            response = await http.post("/graphql", json={"query": QUERY})
            assert "errors" not in response.json()
        cid = response.headers["X-Correlation-ID"]
    (server,) = [
        s
        for s in spans
        if _attrs(s).get("opsgraph.correlation_id") == cid and s.kind == Span.SPAN_KIND_SERVER
    ]
    mine = [s for s in spans if s.trace_id == server.trace_id]
    by_id = {s.span_id: s for s in mine}
    assert set(services[spans.index(s)] for s in mine) == {"opsgraph"}
    (operation,) = [s for s in mine if s.name == "query Exported"]
    assert operation.parent_span_id == server.span_id
    assert _attrs(operation)["opsgraph.correlation_id"] == cid
    upstream = [s for s in mine if s.kind == Span.SPAN_KIND_CLIENT]
    assert upstream and {_attrs(s)["opsgraph.role"] for s in upstream} == {"crm"}
    for span in upstream:
        parent = by_id[span.parent_span_id]
        while parent.kind == Span.SPAN_KIND_CLIENT:  # a token exchange inside the call that needed it
            parent = by_id[parent.parent_span_id]
        assert parent.name.startswith(("load ", "list ")) and by_id[parent.parent_span_id] is operation
    secrets = [
        str(v) for t in simulators.system_settings().values() for v in t.get("credentials", {}).values()
    ]
    exported = b"".join(s.SerializeToString() for s in mine)
    for secret in secrets:
        if len(secret) >= 6:
            assert secret.encode() not in exported
