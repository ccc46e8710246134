"""`/healthz`, `/readyz` (with a source in outage), the GraphiQL page, and masking of unexpected errors."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from redis_process import RedisProcess
from test_gateway_support import CLASSIC, HV, running_gateway, serving, settings_for

from opsgraph.clock import ManualClock
from opsgraph.gateway.app import create_app
from opsgraph.resolvers.sources import PROBE_TTL_S
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

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


async def sim_totals(simulators: SimulatorGroup) -> dict[str, int]:
    async with httpx.AsyncClient() as admin:
        return {
            source: (await admin.get(f"{url}/_sim/stats")).json()["total"]
            for source, url in simulators.urls().items()
        }


async def test_readyz_is_ready_without_calling_any_vendor(
    client: httpx.AsyncClient, simulators: SimulatorGroup
) -> None:
    before = await sim_totals(simulators)
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"sources": "ok", "cache": "ok"}}
    assert await sim_totals(simulators) == before


async def test_a_vendor_down_leaves_readyz_ready_and_sources_shows_it(
    client: httpx.AsyncClient, simulators: SimulatorGroup
) -> None:
    """Every replica shares the vendors: 503 for one vendor down would pull every replica at once."""
    faults = f"{simulators.urls()[HV]}/_sim/faults"
    query = "{ sources { system role vendor reachable lastErrorCode } }"
    async with httpx.AsyncClient(timeout=10) as admin:
        assert (await admin.put(faults, json={"outage": True})).status_code == 200
        try:
            response = await client.get("/readyz")
            sources = (await client.post("/graphql", json={"query": query})).json()["data"]["sources"]
        finally:
            await admin.put(faults, json={"outage": False})
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert {(s["system"], s["role"], s["vendor"]): s["reachable"] for s in sources} == {
        ("salesforce", "CRM", "salesforce"): True,
        ("harvest", "PSA", "harvest"): False,
        ("bamboohr", "HR", "bamboohr"): True,
        ("netsuite", "ERP", "netsuite"): True,
    }
    assert next(s for s in sources if s["system"] == HV)["lastErrorCode"] == "SOURCE_UNAVAILABLE"


@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_readyz_reports_a_redis_outage_as_a_degraded_cache(
    simulators: SimulatorGroup, world: World, own_redis: RedisProcess
) -> None:
    """Reads go through to the sources while Redis is down: degraded, still ready."""
    settings = settings_for(simulators, world, redis_url=own_redis.url)
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url) as http:
        own_redis.stop()
        body = (await http.post("/graphql", json={"query": "{ clients(first: 1) { totalCount } }"})).json()
        assert body["data"]["clients"]["totalCount"] > 0
        response = await http.get("/readyz")
        own_redis.start()
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"sources": "ok", "cache": "degraded"}}


async def test_aliases_of_sources_share_one_probe_per_system(
    simulators: SimulatorGroup, world: World
) -> None:
    """30 aliases of `sources` made 120 vendor calls. Probes are shared, and kept PROBE_TTL_S."""
    clock = ManualClock()
    aliases = " ".join(f"s{i}: sources {{ system reachable }}" for i in range(30))
    async with (
        serving(create_app(settings_for(simulators, world), clock=clock)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):

        async def calls() -> dict[str, int]:
            before = await sim_totals(simulators)
            body = (await http.post("/graphql", json={"query": f"{{ {aliases} }}"})).json()
            assert "errors" not in body and len(body["data"]) == 30
            assert all(s["reachable"] for answer in body["data"].values() for s in answer)
            after = await sim_totals(simulators)
            return {source: after[source] - before[source] for source in CLASSIC}

        await calls()  # warm: OAuth tokens and NetSuite's currencies
        clock.advance(PROBE_TTL_S)
        assert await calls() == dict.fromkeys(CLASSIC, 1)  # 4 probes for 30 aliases
        clock.advance(PROBE_TTL_S - 0.1)
        assert await calls() == dict.fromkeys(CLASSIC, 0)  # within the TTL: the same answers
        clock.advance(0.2)
        assert await calls() == dict.fromkeys(CLASSIC, 1)  # past it: 4 more


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
