"""Response-cache hits served by the door (`gateway/door.py`), ahead of the middleware stack, with every
guarantee the stack gave them: the caller's scope in the key, the rate limit, the security headers, the
correlation id and CORS, the counter, the request metric and the log line. The real gateway over a
socket, the simulators upstream (their `/_sim/stats` count what reached them); spans in memory."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from metrics_support import sample
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from test_cache_gateway import Sims, nodes_query
from test_gateway_support import TEST_ANONYMOUS_ROLE, settings_for
from test_response_cache import gateway, key

from opsgraph.auth import hash_api_key
from opsgraph.clock import ManualClock
from opsgraph.gateway.security_headers import API_CSP, SECURITY_HEADERS
from opsgraph.telemetry import install_tracer_provider
from opsgraph.telemetry.logs import JsonLogFormatter
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")

EMEA_KEY = "og_test-door-emea-0123456789abcdefghijklmnopq"
AMER_KEY = "og_test-door-amer-0123456789abcdefghijklmnopq"
SCOPED_AUTH = {
    "anonymous_role": TEST_ANONYMOUS_ROLE,
    "api_keys": {
        "emea": {"hash": hash_api_key(EMEA_KEY), "roles": ["finance"], "scopes": ["emea"]},
        "amer": {"hash": hash_api_key(AMER_KEY), "roles": ["finance"], "scopes": ["amer"]},
    },
}
CLIENTS = "query Regions { clients(first: 500) { totalCount nodes { id region } } }"
ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    install_tracer_provider().add_span_processor(processor)
    yield exporter
    processor.shutdown()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The request log (`opsgraph.requests`) as the production JSON formatter writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("opsgraph.requests")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def server_spans(exporter: InMemorySpanExporter) -> int:
    return sum(1 for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER)


def requests_timed(text: str, operation: str) -> float:
    """How many requests `opsgraph_request_duration_seconds` counted for `operation`."""
    name = "opsgraph_request_duration_seconds_count"
    return sample(text, name, operation=operation, operation_type="query")


async def test_a_hit_is_served_ahead_of_the_stack_and_still_counted_timed_and_logged(
    simulators: SimulatorGroup, world: World, spans: InMemorySpanExporter, log_lines: io.StringIO
) -> None:
    query = "query DoorHit " + nodes_query([c.sf_id for c in world.clients[:2]])
    async with (
        gateway(settings_for(simulators, world)) as gw,
        httpx.AsyncClient(timeout=30) as sims_http,
    ):
        sims = Sims(sims_http, simulators)
        first, result = await gw.post(query)
        assert result == "miss"
        await sims.reset_stats()
        spans.clear()
        hits = [
            await gw.http.post("/graphql", json={"query": query}, headers={"X-Correlation-ID": f"door-{n}"})
            for n in range(3)
        ]
        assert await sims.total() == 0
        assert [r.headers["x-response-cache"] for r in hits] == ["hit"] * 3
        assert all(r.json() == first for r in hits)
        assert server_spans(spans) == 0  # nothing below the door ran (the stack traces every request)
        assert await gw.counts() == {"hit": 3, "miss": 1, "bypass": 0}
        assert requests_timed((await gw.http.get("/metrics")).text, "DoorHit") == 4

        assert (await gw.post(query, headers={"Cache-Control": "no-cache"}))[1] == "bypass"
        assert server_spans(spans) >= 1  # a bypass runs the stack

    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    logged = {line["correlation_id"]: line for line in lines if line["correlation_id"].startswith("door-")}
    assert sorted(logged) == ["door-0", "door-1", "door-2"]
    for line in logged.values():
        assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
        assert (line["operation"], line["operation_type"], line["upstream_calls"]) == ("DoorHit", "query", 0)


async def test_scoped_callers_never_share_a_response(simulators: SimulatorGroup, world: World) -> None:
    async with gateway(settings_for(simulators, world, auth=SCOPED_AUTH)) as gw:
        answers: dict[str, list[tuple[dict[str, Any], str]]] = {}
        for name, headers in (("emea", {"X-API-Key": EMEA_KEY}), ("amer", {"X-API-Key": AMER_KEY})):
            answers[name] = [await gw.post(CLIENTS, headers=headers) for _ in range(2)]
        everyone = [await gw.post(CLIENTS) for _ in range(2)]

    for name, region in (("emea", "EMEA"), ("amer", "AMER")):
        (body, first), (again, second) = answers[name]
        assert (first, second) == ("miss", "hit")
        assert again == body
        assert {n["region"] for n in body["data"]["clients"]["nodes"]} == {region}
    assert [result for _, result in everyone] == ["miss", "hit"]
    assert {n["region"] for n in everyone[0][0]["data"]["clients"]["nodes"]} >= {"EMEA", "AMER"}


async def test_a_hit_carries_the_security_headers_the_correlation_id_and_cors(
    simulators: SimulatorGroup, world: World
) -> None:
    settings = settings_for(simulators, world, cors_origins=[ORIGIN])
    query = nodes_query([world.clients[0].sf_id])
    async with gateway(settings) as gw:
        sent = {"Origin": ORIGIN, "X-Correlation-ID": "door-headers-1"}
        miss = await gw.http.post("/graphql", json={"query": query}, headers=sent)
        hit = await gw.http.post("/graphql", json={"query": query}, headers=sent)
        fresh = await gw.http.post("/graphql", json={"query": query})
        foreign = await gw.http.post(
            "/graphql", json={"query": query}, headers={"Origin": "https://evil.test"}
        )

    assert [r.headers["x-response-cache"] for r in (miss, hit, fresh, foreign)] == [
        "miss",
        "hit",
        "hit",
        "hit",
    ]
    for name, value in {**SECURITY_HEADERS, "Content-Security-Policy": API_CSP}.items():
        assert hit.headers[name] == value == miss.headers[name], name
    assert hit.headers["x-correlation-id"] == "door-headers-1"
    assert (
        len(fresh.headers["x-correlation-id"]) == 32 and fresh.headers["x-correlation-id"] != "door-headers-1"
    )
    for name in ("access-control-allow-origin", "access-control-expose-headers", "vary"):
        assert hit.headers[name] == miss.headers[name], name
    assert hit.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in foreign.headers
    assert hit.headers["content-type"] == miss.headers["content-type"]
    assert set(miss.headers) - set(hit.headers) <= {"cache-control", "age"}  # POST: neither on a hit


async def test_a_rate_limited_caller_is_still_limited_on_hits(
    simulators: SimulatorGroup, world: World
) -> None:
    clock = ManualClock()  # no refill unless advanced
    settings = settings_for(simulators, world, rate_limit={"burst": 2, "per_second": 0.5})
    query = nodes_query([world.clients[0].sf_id])
    async with gateway(settings, clock) as gw:
        served = [
            await gw.http.post("/graphql", json={"query": query}, headers=key("finance")) for _ in range(2)
        ]
        refused = await gw.http.post(
            "/graphql", json={"query": query}, headers={**key("finance"), "X-Correlation-ID": "door-429"}
        )
        other = await gw.http.post("/graphql", json={"query": query}, headers=key("executive"))
        again = await gw.http.post("/graphql", json={"query": query}, headers=key("executive"))
        clock.advance(2.0)
        refilled = await gw.http.post("/graphql", json={"query": query}, headers=key("finance"))
        counts = await gw.counts()

    assert [r.headers["x-response-cache"] for r in served] == ["miss", "hit"]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    [error] = refused.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 2.0}
    assert refused.headers["x-correlation-id"] == "door-429"
    assert refused.headers["x-frame-options"] == SECURITY_HEADERS["X-Frame-Options"]
    assert "x-response-cache" not in refused.headers
    # the executive's scope is its own: a miss, then a hit from its own bucket
    assert [r.headers["x-response-cache"] for r in (other, again)] == ["miss", "hit"]
    assert refilled.status_code == 200 and refilled.headers["x-response-cache"] == "hit"
    assert counts == {"hit": 3, "miss": 2, "bypass": 0}  # the refused request was not served


async def test_what_the_stack_refuses_is_refused_as_before(simulators: SimulatorGroup, world: World) -> None:
    """Bad credentials, an oversized body, a body that is not JSON: the door passes them on untouched."""
    settings = settings_for(simulators, world, max_body_bytes=2048)
    query = nodes_query([world.clients[0].sf_id])
    async with gateway(settings) as gw:
        assert (await gw.post(query))[1] == "miss"
        bad_key = await gw.http.post("/graphql", json={"query": query}, headers={"X-API-Key": "og_nope"})
        padded = {"query": query, "variables": {"pad": "x" * 4096}}
        too_large = await gw.http.post("/graphql", json=padded)
        not_json = await gw.http.post(
            "/graphql", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        counts = await gw.counts()

    assert bad_key.status_code == 401
    assert bad_key.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert too_large.status_code == 413
    assert too_large.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert not_json.status_code == 400 and not_json.headers["x-response-cache"] == "bypass"
    assert all("x-correlation-id" in r.headers for r in (bad_key, too_large, not_json))
    assert counts == {"hit": 0, "miss": 1, "bypass": 1}
