"""Authentication at the gateway: API keys (by either header), 401 bodies, the open endpoints,
WebSocket (`connection_init` payload or handshake headers), the demo's credentials, and no secret
in any log line or error message."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from auth_support import WHOAMI, SigningKey, gateway, jwks_server, oidc_auth, token
from test_gateway_support import running_gateway, settings_for
from websockets.asyncio.client import ClientConnection

from opsgraph.auth import AuthSettings, hash_api_key
from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.clock import ManualClock
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

FINANCE_KEY = "og_test-finance-key-0123456789abcdefghijklmnop"
BI_KEY = "og_test-bi-key-0123456789abcdefghijklmnopqrstuv"
AUTH = AuthSettings.model_validate(
    {
        "api_keys": {
            "controller": {"hash": hash_api_key(FINANCE_KEY), "roles": ["finance"], "scopes": ["emea"]},
            "powerbi": {"hash": hash_api_key(BI_KEY), "roles": ["executive", "viewer"]},
        }
    }
)


@pytest.fixture
async def url(simulators: SimulatorGroup, world: World) -> AsyncIterator[str]:
    async with gateway(simulators, world, AUTH, ManualClock()) as base:
        yield base


async def whoami(url: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.post("/graphql", json={"query": WHOAMI}, headers=headers)


def reason(response: httpx.Response) -> str:
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    return str(error["extensions"]["reason"])


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": FINANCE_KEY},
        {"Authorization": f"Bearer {FINANCE_KEY}"},
        {"authorization": f"bearer {FINANCE_KEY}"},
    ],
)
async def test_an_api_key_by_either_header_is_its_caller(url: str, headers: dict[str, str]) -> None:
    response = await whoami(url, headers)
    assert response.status_code == 200
    assert response.json()["data"]["whoami"] == {
        "subject": "api-key:controller",
        "roles": ["finance"],
        "scopes": ["emea"],
        "method": "api_key",
    }


async def test_a_key_without_scopes_sees_all_and_keeps_its_roles(url: str) -> None:
    response = await whoami(url, {"X-API-Key": BI_KEY})
    assert response.json()["data"]["whoami"]["roles"] == ["executive", "viewer"]
    assert response.json()["data"]["whoami"]["scopes"] is None


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"X-API-Key": FINANCE_KEY + "x"}, "invalid_api_key"),
        ({"Authorization": "Bearer og_nope"}, "invalid_api_key"),
        ({"Authorization": f"Basic {FINANCE_KEY}"}, "malformed_authorization"),
        ({"Authorization": "Bearer"}, "malformed_authorization"),
        ({"X-API-Key": hash_api_key(FINANCE_KEY)}, "invalid_api_key"),  # the stored hash is no key
        ({"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}, "tokens_not_accepted"),
    ],
)
async def test_bad_credentials_are_a_401_with_a_graphql_error(
    url: str, headers: dict[str, str], why: str
) -> None:
    response = await whoami(url, headers)
    assert response.status_code == 401
    assert reason(response) == why
    assert response.headers["www-authenticate"] == 'Bearer realm="opsgraph", error="invalid_token"'
    assert response.headers["x-correlation-id"]


async def test_no_credentials_is_a_401_for_get_post_and_sse(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        responses = [
            await http.post("/graphql", json={"query": "{ __typename }"}),
            await http.get("/graphql", params={"query": "{ __typename }"}),
            await http.get(
                "/graphql", params={"query": "{ __typename }"}, headers={"Accept": "text/event-stream"}
            ),
            await http.get("/graphql", headers={"Accept": "text/html"}, params={"query": "{ __typename }"}),
        ]
    for response in responses:
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json"
        assert response.headers["www-authenticate"] == 'Bearer realm="opsgraph"'
        assert response.json() == {
            "errors": [
                {
                    "message": "Authentication required: send a bearer token or an API key",
                    "extensions": {"code": "UNAUTHENTICATED", "reason": "missing_credentials"},
                }
            ]
        }


async def test_health_metrics_and_the_graphiql_page_are_open(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        statuses = [(await http.get(path)).status_code for path in ("/healthz", "/readyz", "/metrics")]
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        asset = await http.get("/static/graphiql/graphiql.min.css")
    assert statuses == [200, 200, 200]
    assert page.status_code == 200 and "GraphiQL" in page.text
    assert asset.status_code == 200


async def test_open_paths_is_a_setting(simulators: SimulatorGroup, world: World) -> None:
    auth = AUTH.model_copy(update={"open_paths": ["/healthz"]})
    async with (
        gateway(simulators, world, auth, ManualClock()) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 401
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"X-API-Key": BI_KEY})).status_code == 200


# WebSocket (graphql-transport-ws)


async def ws_whoami(ws: ClientConnection, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack"
    await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": WHOAMI}}))
    message = json.loads(await ws.recv())
    assert message["type"] == "next", message
    return dict(message["payload"]["data"]["whoami"])


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/graphql"


def connect(url: str, headers: dict[str, str] | None = None) -> Any:
    return websockets.connect(ws_url(url), subprotocols=["graphql-transport-ws"], additional_headers=headers)  # type: ignore[list-item]


async def test_websocket_credentials_in_the_connection_init_payload(url: str) -> None:
    async with connect(url) as ws:
        assert (await ws_whoami(ws, {"Authorization": f"Bearer {FINANCE_KEY}"}))[
            "subject"
        ] == "api-key:controller"
    async with connect(url) as ws:
        assert (await ws_whoami(ws, {"X-API-Key": BI_KEY}))["subject"] == "api-key:powerbi"


async def test_websocket_credentials_in_the_handshake_headers(url: str) -> None:
    async with connect(url, {"X-API-Key": BI_KEY}) as ws:
        assert (await ws_whoami(ws))["subject"] == "api-key:powerbi"
    async with connect(url, {"X-API-Key": BI_KEY}) as ws:  # the payload's credentials win
        assert (await ws_whoami(ws, {"apiKey": FINANCE_KEY}))["subject"] == "api-key:controller"


@pytest.mark.parametrize(
    ("payload", "close_reason"),
    [
        ({}, "UNAUTHENTICATED: missing_credentials"),
        ({"Authorization": "Bearer og_wrong"}, "UNAUTHENTICATED: invalid_api_key"),
        ({"X-API-Key": "og_wrong"}, "UNAUTHENTICATED: invalid_api_key"),
    ],
)
async def test_websocket_without_valid_credentials_closes_before_the_ack(
    url: str, payload: dict[str, str], close_reason: str
) -> None:
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, close_reason)


async def test_websocket_bad_handshake_headers_are_a_401(url: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(url, {"X-API-Key": "og_wrong"}):
            pass
    response = refused.value.response
    assert response.status_code == 401
    assert json.loads(response.body or b"")["errors"][0]["extensions"] == {
        "code": "UNAUTHENTICATED",
        "reason": "invalid_api_key",
    }


# the demo's credentials and the production default


async def test_the_demo_lets_anonymous_in_as_viewer_and_has_a_key_per_role(
    simulators: SimulatorGroup, world: World
) -> None:
    settings = settings_for(simulators, world, auth={})  # the demo's own
    assert settings.auth.anonymous_role == "viewer"
    async with running_gateway(settings) as base, httpx.AsyncClient(base_url=base) as http:
        assert (await http.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
        for role, key in DEMO_API_KEYS.items():
            response = await http.post(
                "/graphql", json={"query": "{ __typename }"}, headers={"X-API-Key": key}
            )
            assert response.status_code == 200, role
        assert (
            await http.post(
                "/graphql", json={"query": "{ __typename }"}, headers={"X-API-Key": "og_demo_root"}
            )
        ).status_code == 401
        async with connect(base) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
    assert sorted(DEMO_API_KEYS) == ["admin", "delivery", "executive", "finance", "viewer"]


async def test_the_demo_anonymous_role_can_be_turned_off(
    simulators: SimulatorGroup, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSGRAPH_AUTH__ANONYMOUS_ROLE", "none")
    assert settings_for(simulators, world, auth={}).auth.anonymous_role is None


# secrets

CLIENT_LOGGERS = ("httpx", "httpcore", "websockets.client")
"""This test's own clients, which log what they send at DEBUG."""


async def test_no_credential_ever_reaches_a_log_line_or_an_error(
    simulators: SimulatorGroup, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    signing = SigningKey.rsa("key-log")
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    async with jwks_server([signing]) as jwks:
        auth = oidc_auth(jwks).model_copy(update={"api_keys": AUTH.api_keys})
        secrets = [
            token(signing, clock),
            token(signing, clock, exp=int(clock.time()) - 3600),
            token(SigningKey.rsa("key-log"), clock),
            token(signing, clock, aud="nope"),
            FINANCE_KEY,
            FINANCE_KEY[:-1] + "Z",
            "og_a-guess-at-a-key",
        ]
        async with gateway(simulators, world, auth, clock) as base:
            for secret in secrets:
                for headers in ({"Authorization": f"Bearer {secret}"}, {"X-API-Key": secret}):
                    bodies.append((await whoami(base, headers)).text)
                async with connect(base) as ws:
                    await ws.send(
                        json.dumps(
                            {"type": "connection_init", "payload": {"Authorization": f"Bearer {secret}"}}
                        )
                    )
                    try:
                        bodies.append(str(await ws.recv()))
                    except websockets.ConnectionClosed as closed:
                        bodies.append(str(closed))
    server_side = [record for record in caplog.records if not record.name.startswith(CLIENT_LOGGERS)]
    leaks = {record.name for record in server_side for secret in secrets if secret in record.getMessage()}
    assert not leaks
    logged = "\n".join(record.getMessage() + repr(record.args) for record in server_side)
    assert "unauthenticated http request: token_expired" in logged
    for secret in secrets:
        for fragment in (secret, secret.split(".")[-1]):
            assert fragment not in logged
            assert all(fragment not in body for body in bodies)
