"""`/graphql` over a real socket: GraphQL-over-HTTP shapes, status codes, error codes, limits, correlation."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from test_gateway_support import SF, running_gateway, settings_for

from opsgraph.gateway.http import negotiate
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

GQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
CLIENTS = "{ clients(first: 2) { totalCount nodes { id name } } }"
HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
async def client(simulators: SimulatorGroup, world: World) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(simulators, world, max_depth=4, max_aliases=3, max_tokens=120)
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


async def post(
    http: httpx.AsyncClient, body: Any, accept: str | None = None, **kwargs: Any
) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return await http.post("/graphql", json=body, headers=headers, **kwargs)


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


# -- queries over POST and GET ------------------------------------------------------------------


async def test_post_query(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": CLIENTS})
    assert response.status_code == 200
    assert media_type(response) == JSON
    assert "charset=utf-8" in response.headers["content-type"]
    body = response.json()
    assert "errors" not in body
    clients = body["data"]["clients"]
    assert len(clients["nodes"]) == 2
    assert clients["totalCount"] > 2
    assert all(node["id"] and node["name"] for node in clients["nodes"])


async def test_get_query_with_variables_matches_post(client: httpx.AsyncClient) -> None:
    query = "query Few($n: Int) { clients(first: $n) { nodes { name } } }"
    got = await client.get("/graphql", params={"query": query, "variables": json.dumps({"n": 2})})
    posted = await post(client, {"query": query, "variables": {"n": 2}, "operationName": "Few"})
    assert got.status_code == 200
    assert got.json() == posted.json()
    assert len(got.json()["data"]["clients"]["nodes"]) == 2


# -- content negotiation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        (JSON, JSON),
        (GQL_RESPONSE, GQL_RESPONSE),
        (f"{GQL_RESPONSE}, {JSON};q=0.9", GQL_RESPONSE),
        (f"{JSON}, {GQL_RESPONSE}", GQL_RESPONSE),
        (f"{JSON}, {GQL_RESPONSE};q=0.5", JSON),
        (f"{GQL_RESPONSE};q=0, {JSON}", JSON),
        ("text/plain", JSON),
    ],
)
def test_negotiate(accept: str | None, expected: str) -> None:
    assert negotiate(accept) == expected


async def test_graphql_response_json_when_accepted(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": CLIENTS}, accept=f"{GQL_RESPONSE}, {JSON};q=0.9")
    assert response.status_code == 200
    assert media_type(response) == GQL_RESPONSE
    assert len(response.json()["data"]["clients"]["nodes"]) == 2


# -- request errors: codes and status per media type -------------------------------------------

REQUEST_ERRORS = [
    ({"query": "{ clients(first: 2) { nodes { name } }"}, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{ clients(first: 2) { nodes { nope } } }"}, "GRAPHQL_VALIDATION_FAILED"),
    (
        {"query": "query($n: Int) { clients(first: $n) { totalCount } }", "variables": {"n": "two"}},
        "BAD_USER_INPUT",
    ),
    ({"query": "query($n: Int!) { clients(first: $n) { totalCount } }"}, "BAD_USER_INPUT"),
]


@pytest.mark.parametrize(("body", "code"), REQUEST_ERRORS)
@pytest.mark.parametrize(("accept", "status"), [(None, 200), (JSON, 200), (GQL_RESPONSE, 400)])
async def test_request_errors(
    client: httpx.AsyncClient, body: dict[str, Any], code: str, accept: str | None, status: int
) -> None:
    response = await post(client, body, accept=accept)
    assert response.status_code == status
    assert media_type(response) == (accept or JSON)
    payload = response.json()
    assert "data" not in payload  # errors before execution: no data entry
    error = only_error(payload)
    assert error["extensions"]["code"] == code
    assert "path" not in error
    assert error["message"]


async def test_field_error_keeps_data_and_a_200_under_graphql_response_json(
    client: httpx.AsyncClient,
) -> None:
    query = "{ clients(first: 1000) { totalCount } }"
    response = await post(client, {"query": query}, accept=GQL_RESPONSE)
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] == {"clients": None}  # only the failed root field is null
    error = only_error(payload)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["clients"]


# -- query limits (this app: depth 4, aliases 3, tokens 120) -----------------------------------

DEEP = "{ clients { nodes { engagements { client { engagements { code } } } } } }"
ALIASES = "{ " + " ".join(f"{a}: clients {{ totalCount }}" for a in "abcd") + " }"
TOKENS = "{ " + "clients { totalCount } " * 30 + "}"


@pytest.mark.parametrize(("query", "limit"), [(DEEP, "depth"), (ALIASES, "aliases"), (TOKENS, "tokens")])
@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GQL_RESPONSE, 400)])
async def test_query_limits(
    client: httpx.AsyncClient, query: str, limit: str, accept: str, status: int
) -> None:
    response = await post(client, {"query": query}, accept=accept)
    assert response.status_code == status
    payload = response.json()
    assert "data" not in payload
    error = only_error(payload)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == limit
    assert error["extensions"]["maximum"] == {"depth": 4, "aliases": 3, "tokens": 120}[limit]


async def test_within_limits_runs(client: httpx.AsyncClient) -> None:
    query = "{ a: clients(first: 1) { totalCount } b: clients(first: 1) { nodes { engagements { code } } } }"
    response = await post(client, {"query": query}, accept=GQL_RESPONSE)
    assert response.status_code == 200
    payload = response.json()
    assert "errors" not in payload
    assert payload["data"]["a"]["totalCount"] > 0
    (node,) = payload["data"]["b"]["nodes"]
    assert all(isinstance(e["code"], str) for e in node["engagements"])


# -- transport errors ---------------------------------------------------------------------------


async def test_mutation_over_get_is_405(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "mutation { anything }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"  # RFC 9110: the resource's methods
    error = only_error(response.json())
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "mutations are not allowed" in error["message"]


async def test_other_methods_are_405(client: httpx.AsyncClient) -> None:
    response = await client.put("/graphql", json={"query": CLIENTS})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert only_error(response.json())["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("accept", [JSON, GQL_RESPONSE])
async def test_malformed_json_is_400(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": "{ clients', headers={"Content-Type": JSON, "Accept": accept}
    )
    assert response.status_code == 400
    assert media_type(response) == accept
    assert response.json() == {
        "errors": [{"message": "Unable to parse request body as JSON", "extensions": {"code": "BAD_REQUEST"}}]
    }


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        (
            {"content": b"{ clients { totalCount } }", "headers": {"Content-Type": "text/plain"}},
            415,
            "Unsupported",
        ),
        ({"json": {"query": 42}}, 400, "must be a string"),
        ({"json": {"variables": {}}}, 400, "No GraphQL query"),
        ({"json": [{"query": CLIENTS}]}, 400, "Batching is not enabled"),
        (
            {"json": {"query": "query A { clients { totalCount } }", "operationName": "B"}},
            400,
            "Unknown operation",
        ),
    ],
)
async def test_bad_requests(
    client: httpx.AsyncClient, kwargs: dict[str, Any], status: int, message: str
) -> None:
    response = await client.post("/graphql", **kwargs)
    assert response.status_code == status
    error = only_error(response.json())
    assert message in error["message"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}


async def test_get_without_query_for_an_api_client_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "*/*"})
    assert response.status_code == 400
    assert "No GraphQL query" in only_error(response.json())["message"]


# -- correlation ids ----------------------------------------------------------------------------


async def test_correlation_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": CLIENTS}, headers={"X-Correlation-ID": "req-42.a_B"}
    )
    assert response.headers["x-correlation-id"] == "req-42.a_B"


@pytest.mark.parametrize("sent", [None, "", "has space", "semi;colon", "x" * 129, "ünïcode"])
async def test_correlation_id_is_generated_when_missing_or_unsafe(
    client: httpx.AsyncClient, sent: str | None
) -> None:
    headers = {} if sent is None else {b"X-Correlation-ID": sent.encode()}
    response = await client.get("/healthz", headers=headers)
    assert HEX_ID.fullmatch(response.headers["x-correlation-id"])


async def test_every_response_carries_a_correlation_id(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/no-such-route"),
        await client.post("/graphql", content=b"{", headers={"Content-Type": JSON}),
        await client.get("/graphql", headers={"Accept": "text/html"}),
        await client.get("/readyz"),
    ):
        assert HEX_ID.fullmatch(response.headers["x-correlation-id"]), response.url


async def test_source_error_carries_the_request_correlation_id(
    client: httpx.AsyncClient, simulators: SimulatorGroup
) -> None:
    faults = f"{simulators.urls()[SF]}/_sim/faults"
    async with httpx.AsyncClient(timeout=10) as admin:
        await admin.put(faults, json={"outage": True})
        try:
            response = await client.post(
                "/graphql", json={"query": CLIENTS}, headers={"X-Correlation-ID": "trace-outage-1"}
            )
        finally:
            await admin.put(faults, json={"outage": False})
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    ext = error["extensions"]
    assert (ext["source"], ext["system"], ext["role"], ext["vendor"]) == (SF, SF, "CRM", SF)
    assert ext["correlationId"] == "trace-outage-1"
    assert response.headers["x-correlation-id"] == "trace-outage-1"
