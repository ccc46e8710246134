"""Introspection for `admin` only outside the demo, GraphiQL off by default, CORS allowlist, security
headers on every response, no `server` banner."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from test_gateway_support import serving, settings_for

from opsgraph.auth import AuthSettings, hash_api_key
from opsgraph.gateway.app import create_app
from opsgraph.gateway.demo import gateway_server
from opsgraph.gateway.security_headers import API_CSP, SECURITY_HEADERS
from opsgraph.gateway.settings import Settings, load_settings
from simulators.simkit.serve import SimulatorGroup, bind
from simulators.world import World

VIEWER, ADMIN = (
    "og_test-viewer-0123456789abcdefghijklmnopqrstuv",
    "og_test-admin-0123456789abcdefghijklmnopqrstuv",
)
AUTH = AuthSettings.model_validate(
    {
        "api_keys": {
            "viewer": {"hash": hash_api_key(VIEWER), "roles": ["viewer"]},
            "admin": {"hash": hash_api_key(ADMIN), "roles": ["admin"]},
        }
    }
)
INTROSPECT = "{ __schema { queryType { name } } }"
ORIGIN = "https://portal.firm.example"


def production(simulators: SimulatorGroup, world: World, **overrides: Any) -> Settings:
    """The demo's systems with production's defaults for GraphiQL, introspection and credentials."""
    base = load_settings(require_sources=False)
    settings = settings_for(simulators, world, **overrides)
    defaults = {"graphiql": base.graphiql, "introspection": base.introspection, "auth": AUTH}
    return settings.model_copy(update={k: v for k, v in defaults.items() if k not in overrides})


@pytest.fixture
async def http(simulators: SimulatorGroup, world: World) -> AsyncIterator[httpx.AsyncClient]:
    settings = production(simulators, world, cors_origins=[ORIGIN])
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def ask(http: httpx.AsyncClient, query: str, key: str | None) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return await http.post("/graphql", json={"query": query}, headers=headers)


async def test_introspection_is_for_admin_only_and_the_validation_cache_keeps_them_apart(
    http: httpx.AsyncClient,
) -> None:
    for _ in range(2):  # the second round is answered from the validation cache
        denied = await ask(http, INTROSPECT, VIEWER)
        assert denied.status_code == 200
        (error,) = denied.json()["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN"}
        assert "data" not in denied.json()
        allowed = await ask(http, INTROSPECT, ADMIN)
        assert allowed.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    typename = await ask(http, '{ __typename t: __type(name: "Query") { name } }', VIEWER)
    assert typename.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await ask(http, "{ __typename }", VIEWER)).json() == {"data": {"__typename": "Query"}}


async def test_the_demo_has_graphiql_and_introspection_for_everyone(
    simulators: SimulatorGroup, world: World
) -> None:
    settings = settings_for(simulators, world)
    assert (settings.graphiql, settings.introspection) == (True, True)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        anonymous = await client.post("/graphql", json={"query": INTROSPECT})
    assert anonymous.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_graphiql_is_off_in_production(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html", "X-API-Key": ADMIN})
    assert "GraphiQL" not in page.text
    assert (await http.get("/static/graphiql/graphiql.min.js")).status_code == 401


def assert_security_headers(response: httpx.Response, csp: str | None = API_CSP) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    if csp is not None:
        assert response.headers["content-security-policy"] == csp
    assert "server" not in response.headers


async def test_security_headers_on_every_response(http: httpx.AsyncClient) -> None:
    responses = [
        await http.get("/healthz"),
        await http.get("/metrics"),
        await ask(http, "{ __typename }", VIEWER),
        await ask(http, "{ __typename }", None),  # 401
        await ask(http, "{ nope }", VIEWER),  # validation error
        await http.post("/graphql", content=b"x" * (2 * 1024 * 1024), headers={"X-API-Key": VIEWER}),  # 413
        await http.get("/nowhere", headers={"X-API-Key": VIEWER}),  # 404
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 401, 200, 413, 404]
    for response in responses:
        assert_security_headers(response)


async def test_the_graphiql_page_may_run_only_its_own_scripts(
    simulators: SimulatorGroup, world: World
) -> None:
    async with (
        serving(create_app(settings_for(simulators, world))) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    csp = page.headers["content-security-policy"]
    assert_security_headers(page, csp=None)
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'; ", csp)
    assert "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp


async def test_cors_allows_listed_origins_only(http: httpx.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = await http.options("/graphql", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    other = await http.options("/graphql", headers={"Origin": "https://evil.example", **preflight})
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    refused = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": ORIGIN})
    assert refused.status_code == 401  # the browser may read why
    assert refused.headers["access-control-allow-origin"] == ORIGIN


def test_bad_cors_origins_are_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from opsgraph.gateway.settings import ConfigError

    monkeypatch.setenv("OPSGRAPH_CORS_ORIGINS", '["https://ok.example", "*", "https://x.example/path"]')
    with pytest.raises(ConfigError) as error:
        load_settings(require_sources=False)
    assert error.value.problems == [
        "cors_origins: Value error, not an origin (scheme://host[:port]): *, https://x.example/path"
    ]


async def test_the_server_names_no_server(simulators: SimulatorGroup, world: World) -> None:
    settings = production(simulators, world)
    server = gateway_server(create_app(settings), settings)
    sock = bind("127.0.0.1", 0)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = sock.getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.get("/healthz")
    finally:
        server.should_exit = True
        await task
        sock.close()
    assert response.status_code == 200
    assert "server" not in response.headers
