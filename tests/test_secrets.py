"""No secret anywhere: a session of queries with an API key and a JWT (answered, refused for cost,
rate limited, by persisted hash, failing upstream, bad credentials), then every server log record,
every response (body and headers), every span and `/metrics` are searched for the API key, the
tokens (and their signatures) and the vendors' credentials."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from auth_support import SigningKey, jwks_server, oidc_auth, token
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_gateway_cost import ABUSE
from test_gateway_persisted import hashed
from test_gateway_support import NS, serving, settings_for

from opsgraph.auth import hash_api_key
from opsgraph.clock import ManualClock
from opsgraph.gateway.app import create_app
from opsgraph.telemetry import install_tracer_provider
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

API_KEY = "og_secret-test-key-0123456789abcdefghijklmnopq"
CLIENT_LOGGERS = ("httpx", "httpcore")
ERP_QUERY = "{ invoices(first: 2) { nodes { number } } }"
QUERY = "{ clients(first: 2) { nodes { name arBalance { amount } } } }"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    install_tracer_provider().add_span_processor(processor)
    yield exporter
    processor.shutdown()


async def test_no_secret_in_logs_errors_traces_or_metrics(
    simulators: SimulatorGroup,
    world: World,
    caplog: pytest.LogCaptureFixture,
    spans: InMemorySpanExporter,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = ManualClock()
    signing = SigningKey.rsa("key-secrets")
    seen: list[str] = []
    ns = simulators.urls()[NS]
    async with jwks_server([signing]) as jwks, httpx.AsyncClient(timeout=30) as http:
        api_keys = {"bi": {"hash": hash_api_key(API_KEY), "roles": ["finance"]}}
        auth = oidc_auth(jwks, api_keys=api_keys)
        jwt = token(signing, clock, roles=["viewer"])
        expired = token(signing, clock, exp=int(clock.time()) - 3600)
        settings = settings_for(simulators, world, rate_limit={"burst": 4, "per_second": 1.0})
        settings = settings.model_copy(update={"auth": auth})
        async with serving(create_app(settings, clock=clock)) as url:

            async def post(body: dict[str, object], headers: dict[str, str]) -> None:
                response = await http.post(f"{url}/graphql", json=body, headers=headers)
                seen.append(response.text + repr(dict(response.headers)))

            by_key, by_jwt = {"X-API-Key": API_KEY}, {"Authorization": f"Bearer {jwt}"}
            await post({"query": QUERY}, by_key)
            await post(hashed(QUERY, with_text=True), by_jwt)
            await post(hashed(QUERY), by_jwt)
            await post({"query": ABUSE}, by_jwt)  # over the viewer's budget
            await post({"query": QUERY}, by_jwt)
            await post({"query": QUERY}, by_jwt)  # the fifth: rate limited
            await post({"query": QUERY}, {"Authorization": f"Bearer {expired}"})
            await post({"query": QUERY}, {"X-API-Key": API_KEY[:-1] + "Z"})
            await http.put(f"{ns}/_sim/faults", json={"outage": True})
            try:
                await post({"query": ERP_QUERY}, by_key)  # the ERP down: its fields fail
            finally:
                await http.put(f"{ns}/_sim/faults", json={"outage": False})
            metrics = await http.get(f"{url}/metrics")
    assert all('"nodes":[{"name"' in text for text in seen[:3])  # by key, by token, by persisted hash
    codes = " ".join(seen)
    for code in ("RATE_LIMITED", "QUERY_TOO_COMPLEX", "UNAUTHENTICATED", "SOURCE_UNAVAILABLE"):
        assert code in codes, code
    credentials = [
        str(value)
        for table in simulators.system_settings().values()
        for value in table.get("credentials", {}).values()
        if len(str(value)) >= 6
    ]
    secrets = [
        API_KEY,
        API_KEY[:-1] + "Z",
        jwt,
        jwt.split(".")[-1],
        expired,
        expired.split(".")[-1],
        *credentials,
    ]
    assert credentials
    logs = [r.getMessage() + repr(r.args) for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]
    traces = [span.name + repr(dict(span.attributes or {})) for span in spans.get_finished_spans()]
    traces += [repr(dict(e.attributes or {})) for span in spans.get_finished_spans() for e in span.events]
    assert logs and traces and metrics.status_code == 200
    for where, texts in {
        "logs": logs,
        "responses": seen,
        "traces": traces,
        "metrics": [metrics.text],
    }.items():
        for secret in secrets:
            assert not [text for text in texts if secret in text], (where, secret[:8])
