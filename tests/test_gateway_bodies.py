"""Bodies strawberry alone would answer with a 500 and a traceback: each is a 400 with a code, and
nothing is logged. Several operations without `operationName` are a 400 too (GraphQL-over-HTTP)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from test_gateway_support import running_gateway, settings_for

from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def client(simulators: SimulatorGroup, world: World) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(simulators, world)
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"null", "must be a JSON object"),
        (b'"{ clients { totalCount } }"', "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b'{"query": "{ clients \xff\xfe { totalCount } }"}', "not valid UTF-8"),
        (b"\xff\xfe\xfd", "not valid UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"query": "{ __typename }", "variables": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001, "nested"),
    ],
    ids=["null", "string", "number", "non-utf8-in-json", "non-utf8", "deep-array", "deep-variables"],
)
@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_bad_bodies_are_400_without_a_traceback(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, body: bytes, message: str, accept: str
) -> None:
    with caplog.at_level(logging.INFO):
        response = await client.post("/graphql", content=body, headers={**JSON, "Accept": accept})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert message in error["message"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []


async def test_a_superscript_digit_in_an_id_is_bad_user_input(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await client.post("/graphql", json={"query": '{ node(id: "\u00b9") { id } }'})
    assert response.status_code == 200  # a field error: `data` is there (GraphQL-over-HTTP)
    body = response.json()
    assert body["data"] == {"node": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []


TWO_OPERATIONS = "query A { clients(first: 1) { totalCount } } query B { __typename }"


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_several_operations_need_an_operation_name(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.post("/graphql", json={"query": TWO_OPERATIONS}, headers={"Accept": accept})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "OPERATION_NAME_REQUIRED"}
    assert "2 operations" in error["message"]
    assert "data" not in response.json()


async def test_a_named_operation_of_several_runs(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": TWO_OPERATIONS, "operationName": "B"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    one = await client.get("/graphql", params={"query": "query Only { __typename }"})
    assert one.json() == {"data": {"__typename": "Query"}}
