"""Traces (issue 13): the span tree of one query, from the HTTP server span down to each upstream
call, with the W3C trace context and the correlation id sent upstream and no secret in any attribute.

The real gateway over a socket against the simulators (cache off, so every read goes upstream); the
spans go to the OpenTelemetry SDK's in-memory exporter on the process's SDK tracer provider.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio
from capture_proxy import CaptureProxy, capture_proxy
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from test_gateway_support import CLASSIC, HV, running_gateway, serving, settings_for

from opsgraph.events.readiness_event import ReadinessChanged
from opsgraph.gateway.app import create_app
from opsgraph.model import Money
from opsgraph.resolvers.views.readiness import Readiness
from opsgraph.telemetry import install_tracer_provider
from opsgraph.telemetry.settings import TelemetrySettings
from opsgraph.telemetry.tracing import otlp_traces_endpoint
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytestmark = pytest.mark.asyncio(loop_scope="module")

QUERY = """query TraceMe { engagements(first: 3) { nodes { code client { name } } } }"""
ROLES = {"salesforce": "crm", "harvest": "psa", "bamboohr": "hr", "netsuite": "erp"}


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    install_tracer_provider().add_span_processor(processor)
    yield exporter
    processor.shutdown()


class Traced:
    def __init__(self, response: httpx.Response, spans: list[ReadableSpan], proxy: CaptureProxy) -> None:
        self.response, self.proxy = response, proxy
        self.cid = response.headers["X-Correlation-ID"]
        server = [s for s in spans if s.kind is SpanKind.SERVER and "opsgraph.correlation_id" in s.attributes]
        assert len(server) == 1, [s.name for s in server]
        self.server = server[0]
        self.trace_id = self.server.context.trace_id
        self.spans = [s for s in spans if s.context.trace_id == self.trace_id]
        self.by_id = {s.context.span_id: s for s in self.spans}

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name.startswith(prefix)]

    def parent(self, span: ReadableSpan) -> ReadableSpan | None:
        return self.by_id.get(span.parent.span_id) if span.parent is not None else None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def traced(
    exporter: InMemorySpanExporter, simulators: SimulatorGroup, world: World
) -> AsyncIterator[Traced]:
    settings = settings_for(simulators, world, cache={"enabled": False})
    async with capture_proxy(settings.systems[HV].base_url) as proxy:
        settings = settings.with_system(HV, base_url=proxy.base_url)
        async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            exporter.clear()
            response = await http.post("/graphql", json={"query": QUERY, "operationName": "TraceMe"})
        yield Traced(response, list(exporter.get_finished_spans()), proxy)


async def test_the_query_is_answered(traced: Traced, world: World) -> None:
    body = traced.response.json()
    assert "errors" not in body
    codes = [n["code"] for n in body["data"]["engagements"]["nodes"]]
    assert codes == [e.code for e in world.engagements[:3]]


async def test_the_http_server_span_is_the_root_and_carries_the_correlation_id(traced: Traced) -> None:
    assert traced.server.parent is None
    assert traced.server.name == "POST /graphql"
    assert traced.server.attributes["opsgraph.correlation_id"] == traced.cid


async def test_one_operation_span_under_the_http_span_never_one_per_field(traced: Traced) -> None:
    (operation,) = traced.named("query ")
    assert operation.name == "query TraceMe"
    assert traced.parent(operation) is traced.server
    assert operation.attributes["graphql.operation.name"] == "TraceMe"
    assert operation.attributes["graphql.operation.type"] == "query"
    assert operation.attributes["graphql.document.hash"] == hashlib.sha256(QUERY.encode()).hexdigest()
    assert operation.attributes["opsgraph.correlation_id"] == traced.cid
    assert operation.attributes["graphql.errors"] == 0
    # no resolver spans: HTTP (with the ASGI send/receive spans), operation, loaders, upstream calls only
    kinds = {s.name.split(" ")[0] for s in traced.spans if s is not traced.server}
    assert kinds <= {"POST", "query", "load", "list", *CLASSIC}, kinds


async def test_loader_spans_hang_from_the_operation(traced: Traced) -> None:
    (operation,) = traced.named("query ")
    loaders = traced.named("load ") + traced.named("list ")
    systems = {s.attributes["opsgraph.system"] for s in loaders}
    assert {HV, "salesforce"} <= systems
    for span in loaders:
        assert traced.parent(span) is operation, span.name
        assert span.name.split(" ")[1].startswith(f"{span.attributes['opsgraph.system']}.")
    batch = [s for s in traced.named("load ") if s.attributes["opsgraph.system"] == "salesforce"]
    assert batch and all(s.attributes["opsgraph.keys"] >= 1 for s in batch)


async def test_upstream_spans_hang_from_a_loader_with_system_role_vendor_route_status(traced: Traced) -> None:
    upstream = [s for s in traced.spans if s.kind is SpanKind.CLIENT]
    assert {s.attributes["opsgraph.system"] for s in upstream} >= {HV, "salesforce"}
    for span in upstream:
        system = span.attributes["opsgraph.system"]
        assert span.name == f"{system} {span.attributes['http.request.method']}"
        assert span.attributes["opsgraph.vendor"] == system  # the demo names systems after vendors
        assert span.attributes["opsgraph.role"] == ROLES[system]
        assert span.attributes["opsgraph.correlation_id"] == traced.cid
        assert span.attributes["http.response.status_code"] == 200
        assert span.attributes["opsgraph.retries"] == 0
        route = str(span.attributes["url.path"])
        assert route.startswith("/") and "?" not in route
        parent = traced.parent(span)
        assert parent is not None
        # a token exchange runs inside the call that needed it; every call is under a loader
        while parent.kind is SpanKind.CLIENT:
            parent = traced.parent(parent)
            assert parent is not None
        assert parent.name.startswith(("load ", "list ")), parent.name


async def test_upstream_calls_carry_the_w3c_trace_context_and_the_correlation_id(traced: Traced) -> None:
    calls = [s for s in traced.spans if s.kind is SpanKind.CLIENT and s.attributes["opsgraph.system"] == HV]
    assert len(traced.proxy.seen) == len(calls) >= 1
    span_ids = {format(s.context.span_id, "016x") for s in calls}
    for headers in traced.proxy.seen:
        version, trace_id, parent_id, flags = headers["traceparent"].split("-")
        assert (version, trace_id) == ("00", format(traced.trace_id, "032x"))
        assert int(flags, 16) & 1 == 1  # sampled
        assert parent_id in span_ids
        assert headers["x-correlation-id"] == traced.cid


async def test_no_secret_in_any_span(traced: Traced, simulators: SimulatorGroup) -> None:
    secrets = {
        str(value)
        for table in simulators.system_settings().values()
        for value in table.get("credentials", {}).values()
        if len(str(value)) >= 6
    }
    assert secrets
    tokens = [h["authorization"].split(" ", 1)[-1] for h in traced.proxy.seen if "authorization" in h]
    texts = [s.name for s in traced.spans]
    for span in traced.spans:
        texts += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
        texts += [f"{k}={v}" for event in span.events for k, v in (event.attributes or {}).items()]
    for text in texts:
        for secret in [*secrets, *tokens]:
            assert secret not in text, text
        assert "authorization" not in text.lower()


async def test_otlp_export_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert otlp_traces_endpoint(TelemetrySettings()) is None
    configured = TelemetrySettings(otlp_endpoint="http://collector:4318/")
    assert otlp_traces_endpoint(configured) == "http://collector:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318")
    assert otlp_traces_endpoint(TelemetrySettings()) == "http://otel:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://otel:4318/custom")
    assert otlp_traces_endpoint(TelemetrySettings()) == "http://otel:4318/custom"


async def test_cache_spans_sit_between_the_loader_and_the_upstream_call(
    exporter: InMemorySpanExporter, simulators: SimulatorGroup, world: World
) -> None:
    """With the cache on: `cache <system>.<entity>` under each read, counting hits and misses; a miss's
    upstream call is its child, a hit calls nothing."""
    query = "query Cached { clients(first: 2) { nodes { name } } }"
    settings = settings_for(simulators, world, response_cache={"enabled": False})  # the read cache's spans
    async with (
        running_gateway(settings) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        rounds = []
        for _ in range(2):
            exporter.clear()
            assert "errors" not in (await http.post("/graphql", json={"query": query})).json()
            rounds.append(list(exporter.get_finished_spans()))
    for n, spans in enumerate(rounds):
        by_id = {s.context.span_id: s for s in spans}
        caches = [s for s in spans if s.name.startswith("cache salesforce.")]
        assert caches, [s.name for s in spans]
        for span in caches:
            parent = by_id[span.parent.span_id] if span.parent else None
            assert parent is not None and parent.name.startswith(("load ", "list "))
            hits, misses = span.attributes["opsgraph.cache.hits"], span.attributes["opsgraph.cache.misses"]
            assert (hits, misses) == (
                (0, span.attributes["opsgraph.cache.keys"])
                if n == 0
                else (span.attributes["opsgraph.cache.keys"], 0)
            )
        upstream = [
            s for s in spans if s.kind is SpanKind.CLIENT and s.attributes["opsgraph.system"] == "salesforce"
        ]
        if n == 0:
            assert upstream and all(by_id[s.parent.span_id] in caches for s in upstream if s.parent)
        else:
            assert upstream == []


async def test_a_poll_and_its_fan_out_are_spans(
    exporter: InMemorySpanExporter, simulators: SimulatorGroup, world: World
) -> None:
    """`events poll <system>` per system polled (changes, failures, events published), and
    `events fan-out` per event handed to the subscribers (how many)."""
    app = create_app(settings_for(simulators, world))
    async with serving(app):
        events = app.state.gateway.events
        exporter.clear()
        await events.poll_once()
        polls = {s.name: s for s in exporter.get_finished_spans() if s.name.startswith("events poll ")}
        assert set(polls) == {f"events poll {name}" for name in simulators.system_settings()}
        for span in polls.values():
            assert span.parent is None  # a background round: a trace of its own
            assert span.attributes["opsgraph.events.failed"] == 0
        feed = events.bus.subscribe()
        try:
            exporter.clear()
            engagement = next(iter((await events.effects.context().loaders.engagement_by_code()).values()))
            readiness = Readiness(
                engagement_code=engagement.code,
                ready=True,
                approved_unbilled_hours=1.0,
                amount=Money(amount=Decimal(100), currency="USD"),
                blockers=(),
                as_of=datetime(2026, 11, 20, tzinfo=UTC),
                period_start=date(2026, 10, 1),
                period_end=date(2026, 10, 31),
            )
            at = datetime(2026, 11, 20, tzinfo=UTC)
            events.bus.deliver(ReadinessChanged(engagement, readiness, False, None, "TIME_APPROVED", at))
            (fan_out,) = [s for s in exporter.get_finished_spans() if s.name == "events fan-out"]
            assert fan_out.attributes["opsgraph.subscribers"] == 1
        finally:
            await feed.aclose()
