"""OTLP export (issue 13): with `telemetry.otlp_endpoint` set, the spans of one query reach an OTLP/HTTP
receiver (a small server in the test decoding the protobuf with `opentelemetry-proto`), with correct
parents, the correlation id and no secret; and the spans of one workflow. Spans are flushed when the
app stops (its lifespan)."""

from __future__ import annotations

import uuid
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
from workflows_sim import TEST_TUNING, SimAdmin

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup, bind
from simulators.world import World

pytest_plugins = ("workflows_support",)

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


POST = """mutation Post($input: PostApprovedTimeInput!) {
  postApprovedTime(input: $input) { workflow { id status } userErrors { code } }
}"""


@pytest.mark.asyncio
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_spans_of_one_workflow_reach_an_otlp_receiver(
    simulators: SimulatorGroup,
    world: World,
    database_url: str,
    erp_sim: SimAdmin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A mutation's workflow: `workflow <kind>` under the operation, each `workflow step` under it, each
    step's upstream writes under the step (handed to the queued step), the correlation id throughout."""
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    async with otlp_receiver() as (endpoint, spans, _):
        settings = settings_for(
            simulators,
            world,
            telemetry={"otlp_endpoint": endpoint},
            workflows={"database_url": database_url, "poll_interval_s": 0.02},
        )
        for name in settings.systems:
            settings = settings.with_system(name, **TEST_TUNING)
        async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            variables = {
                "input": {
                    "idempotencyKey": uuid.uuid4().hex,
                    "engagementId": to_global_id("Engagement", "ENG-0001"),
                    "from": "2026-10-01",
                    "to": "2026-10-31",
                }
            }
            response = await http.post(
                "/graphql",
                json={"query": POST, "variables": variables},
                headers={"X-API-Key": DEMO_API_KEYS["finance"]},
            )
            body = response.json()
            assert body["data"]["postApprovedTime"]["workflow"]["status"] == "COMPLETED", body
        cid = response.headers["X-Correlation-ID"]
    (server,) = [
        s
        for s in spans
        if _attrs(s).get("opsgraph.correlation_id") == cid and s.kind == Span.SPAN_KIND_SERVER
    ]
    mine = [s for s in spans if s.trace_id == server.trace_id]
    by_id = {s.span_id: s for s in mine}
    (operation,) = [s for s in mine if s.name == "mutation Post"]
    assert operation.parent_span_id == server.span_id
    (workflow,) = [s for s in mine if s.name == "workflow postApprovedTime"]
    assert workflow.parent_span_id == operation.span_id
    wf = _attrs(workflow)
    assert wf["opsgraph.correlation_id"] == cid
    global_id = body["data"]["postApprovedTime"]["workflow"]["id"]
    assert to_global_id("Workflow", str(wf["opsgraph.workflow.id"])) == global_id
    steps = sorted(
        (s for s in mine if s.name.startswith("workflow step ")), key=lambda s: s.start_time_unix_nano
    )
    assert [s.name for s in steps] == ["workflow step post-time-1", "workflow step post-time-2"]
    assert all(s.parent_span_id == workflow.span_id for s in steps)
    assert {_attrs(s)["opsgraph.system"] for s in steps} == {"netsuite"}
    writes = [
        s for s in mine if s.kind == Span.SPAN_KIND_CLIENT and _attrs(s)["http.request.method"] == "PUT"
    ]
    assert writes and all(by_id[s.parent_span_id] in steps for s in writes)
    assert all(_attrs(s)["opsgraph.correlation_id"] == cid for s in writes)
    secrets = [
        str(v) for t in simulators.system_settings().values() for v in t.get("credentials", {}).values()
    ]
    exported = b"".join(s.SerializeToString() for s in mine)
    for secret in [*secrets, DEMO_API_KEYS["finance"]]:
        if len(secret) >= 6:
            assert secret.encode() not in exported
