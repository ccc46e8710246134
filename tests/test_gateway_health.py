"""`/healthz`, `/readyz` (with a source in outage), the GraphiQL page, and masking of unexpected errors."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from test_gateway_support import running_gateway, settings_for

from opsgraph.gateway.app import create_app
from opsgraph.model import SourceName
from opsgraph.sources.simkit.serve import SimulatorGroup
from opsgraph.sources.world import World

_REF = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


@pytest.fixture
async def client(simulators: SimulatorGroup, world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running_gateway(settings_for(simulators, world)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield http


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_every_source_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["sources"]) == {s.value for s in SourceName}
    for check in body["sources"].values():
        assert check["ok"] is True
        assert check["circuit"] == "CLOSED"
        assert check["latencyMs"] >= 0
        assert "error" not in check


async def test_readyz_is_503_with_a_source_in_outage(
    client: httpx.AsyncClient, simulators: SimulatorGroup
) -> None:
    faults = f"{simulators.urls()[SourceName.HARVEST]}/_sim/faults"
    async with httpx.AsyncClient(timeout=10) as admin:
        assert (await admin.put(faults, json={"outage": True})).status_code == 200
        try:
            response = await client.get("/readyz", timeout=30)
        finally:
            await admin.put(faults, json={"outage": False})
        assert (await admin.get(faults)).json()["outage"] is False
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    harvest = body["sources"]["harvest"]
    assert harvest["ok"] is False
    assert harvest["code"] == "SOURCE_UNAVAILABLE"
    assert harvest["error"]
    assert [name for name, check in body["sources"].items() if check["ok"]] == [
        "salesforce",
        "bamboohr",
        "netsuite",
    ]


async def test_graphiql_page_for_a_browser(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<title>opsgraph \u00b7 GraphiQL</title>" in page
    refs = _REF.findall(page)
    assert "/static/graphiql/graphiql.min.js" in refs
    assert all(ref.startswith("/static/graphiql/") for ref in refs), refs
    assert "http://" not in page and "https://" not in page
    for ref in refs:
        asset = await client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 1000


async def test_graphiql_can_be_turned_off(simulators: SimulatorGroup, world: World) -> None:
    async with (
        running_gateway(settings_for(simulators, world, graphiql=False)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        response = await http.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert (await http.get("/static/graphiql/graphiql.min.js")).status_code == 404


async def test_unexpected_error_is_masked_with_a_correlation_id(
    simulators: SimulatorGroup, world: World
) -> None:
    """Without its lifespan the app has no sources, so /graphql fails unexpectedly: a masked 500."""
    app = create_app(settings_for(simulators, world))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        response = await http.post("/graphql", json={"query": "{ clients { totalCount } }"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    cid = response.headers["x-correlation-id"]
    assert response.json() == {
        "errors": [
            {"message": "Internal server error", "extensions": {"code": "INTERNAL", "correlationId": cid}}
        ]
    }
    assert "Traceback" not in response.text
