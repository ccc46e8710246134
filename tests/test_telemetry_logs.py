"""Structured logs (issue 13): one JSON line per request with the correlation id, trace id, operation,
status and upstream calls; every line parses; no secret is ever written.

The real gateway over a socket against the simulators (cache off), logging through the production
JSON formatter into a buffer. Upstream calls are checked against the simulators' own request counts.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from test_gateway_support import NS, running_gateway, settings_for

from opsgraph.telemetry.logs import REDACTED, JsonLogFormatter, redact, scrub
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytestmark = pytest.mark.asyncio(loop_scope="module")

QUERY = "query LogMe { engagements(first: 2) { nodes { code client { name } } } }"
LEAKY = "invalid_grant: Bearer eyJhbGciOi.LEAK.sig token=tok_LEAK_123 client_secret=cs_LEAK_456"


@pytest.fixture(scope="module")
def buffer() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


class Logged:
    def __init__(self, http: httpx.AsyncClient, simulators: SimulatorGroup, buffer: io.StringIO) -> None:
        self.http, self.simulators, self.buffer = http, simulators, buffer

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]

    def requests(self, cid: str) -> list[dict[str, Any]]:
        return [r for r in self.lines() if r["logger"] == "opsgraph.requests" and r["correlation_id"] == cid]

    async def upstream_counts(self) -> dict[str, int]:
        counts = {}
        for system, url in self.simulators.urls().items():
            counts[system] = (await self.http.get(f"{url}/_sim/stats")).json()["total"]
        return counts

    async def reset_counts(self) -> None:
        for url in self.simulators.urls().values():
            (await self.http.delete(f"{url}/_sim/stats")).raise_for_status()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def logged(buffer: io.StringIO, simulators: SimulatorGroup, world: World) -> AsyncIterator[Logged]:
    settings = settings_for(simulators, world, cache={"enabled": False})
    settings = settings.with_system(NS, max_retries=0, breaker_failure_threshold=1_000_000)
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        await http.post("/graphql", json={"query": "{ invoices(first: 1) { nodes { number } } }"})  # tokens
        yield Logged(http, simulators, buffer)


async def test_one_json_line_per_request_with_what_it_did(logged: Logged) -> None:
    await logged.reset_counts()
    response = await logged.http.post(
        "/graphql", json={"query": QUERY}, headers={"X-Correlation-ID": "log-test-1"}
    )
    assert response.status_code == 200 and "errors" not in response.json()
    counts = {system: n for system, n in (await logged.upstream_counts()).items() if n}
    (line,) = logged.requests("log-test-1")
    assert line["message"] == "request" and line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
    assert (line["operation"], line["operation_type"]) == ("LogMe", "query")
    assert line["upstream_calls"] == sum(counts.values()) >= 2
    assert line["upstream_failures"] == 0
    assert line["systems"] == sorted(counts)
    assert re.fullmatch(r"[0-9a-f]{32}", line["trace_id"])
    assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
    assert "time" in line


async def test_probes_are_not_logged_at_info(logged: Logged) -> None:
    response = await logged.http.get("/healthz", headers={"X-Correlation-ID": "log-test-probe"})
    assert response.status_code == 200
    assert logged.requests("log-test-probe") == []


async def test_a_failing_source_is_logged_with_the_correlation_id_and_no_secret(
    logged: Logged, simulators: SimulatorGroup
) -> None:
    url = simulators.urls()[NS]
    await logged.http.put(f"{url}/_sim/faults", json={"error_rate": 1.0, "error_text": LEAKY})
    try:
        response = await logged.http.post(
            "/graphql",
            json={"query": "query Bills { invoices(first: 1) { nodes { number } } }"},
            headers={"X-Correlation-ID": "log-test-2"},
        )
    finally:
        await logged.http.put(f"{url}/_sim/faults", json={"error_rate": 0.0, "error_text": None})
    assert response.json()["errors"][0]["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    (line,) = logged.requests("log-test-2")
    assert (line["operation"], line["status"]) == ("Bills", 200)
    assert line["upstream_failures"] == 1 and line["systems"] == [NS]
    warnings = [
        r for r in logged.lines() if r["logger"] == "opsgraph.errors" and r["correlation_id"] == "log-test-2"
    ]
    assert warnings and all(w["level"] == "WARNING" for w in warnings)
    assert any("invalid_grant: Bearer " + REDACTED in w["message"] for w in warnings), warnings


async def test_no_secret_in_any_line(logged: Logged, simulators: SimulatorGroup) -> None:
    text = logged.buffer.getvalue()
    assert text
    secrets = [
        str(value)
        for table in simulators.system_settings().values()
        for value in table.get("credentials", {}).values()
        if len(str(value)) >= 6
    ]
    for secret in [*secrets, "LEAK"]:
        assert secret not in text
    for line in logged.lines():  # every line is one JSON object with the standard fields
        assert {"time", "level", "logger", "message"} <= set(line)


async def test_redaction_rules() -> None:
    assert scrub("Authorization: Bearer abc.def-ghi") == f"Authorization: Bearer {REDACTED}"
    assert scrub('{"access_token": "xyz", "n": 1}') == f'{{"access_token": "{REDACTED}", "n": 1}}'
    assert scrub("client_secret=s3cr3t&grant_type=x") == f"client_secret={REDACTED}&grant_type=x"
    assert scrub("engagement ENG-0042 over budget") == "engagement ENG-0042 over budget"
    assert redact({"credentials": {"a": "b"}, "headers": {"Authorization": "x"}, "n": 3}) == {
        "credentials": REDACTED,
        "headers": {"Authorization": REDACTED},
        "n": 3,
    }
