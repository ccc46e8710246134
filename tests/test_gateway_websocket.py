"""`/graphql` over WebSocket with a real graphql-transport-ws client (gql): request errors arrive as
the protocol's `error` message with `extensions.code`, never a bare `complete` or a traceback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from graphql import DocumentNode
from test_gateway_support import running_gateway, settings_for

from simulators.simkit.serve import SimulatorGroup
from simulators.world import World


@pytest.fixture
async def ws_url(simulators: SimulatorGroup, world: World) -> AsyncIterator[str]:
    settings = settings_for(simulators, world, max_depth=3, max_tokens=60)
    async with running_gateway(settings) as url:
        yield url.replace("http://", "ws://") + "/graphql"


class RawRequest(GraphQLRequest):
    """Sent as written: gql would parse (and reprint) the document first, so a syntax error never
    reached the server. The server is what is under test."""

    def __init__(self, query: str, operation_name: str | None = None) -> None:
        super().__init__(DocumentNode(definitions=()), operation_name=operation_name)
        self.text = query

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": self.text}
        if self.operation_name is not None:
            payload["operationName"] = self.operation_name
        return payload


async def run(url: str, query: str, operation_name: str | None = None) -> dict[str, Any]:
    transport = WebsocketsTransport(url=url, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        result: dict[str, Any] = await session.execute(RawRequest(query, operation_name))
        return result


async def test_a_query_runs(ws_url: str) -> None:
    assert await run(ws_url, "{ clients(first: 2) { nodes { name } } }") == {
        "clients": {"nodes": [{"name": "Acme Group"}, {"name": "Acme Holdings"}]}
    }


@pytest.mark.parametrize(
    ("query", "operation_name", "code"),
    [
        ("{ clients(first: 1) { nodes { name }", None, "GRAPHQL_PARSE_FAILED"),
        ("{ clients(first: 1) { nodes { engagements { totalCount } } } }", None, "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ clients(first: 1) { nodes { client: name } } " + "a: __typename " * 30 + "}",
            None,
            "QUERY_TOO_COMPLEX",
        ),
        ("query A { __typename } query B { __typename }", None, "OPERATION_NAME_REQUIRED"),
        ("query A { __typename }", "C", "BAD_REQUEST"),
    ],
    ids=["syntax", "validation", "token-limit", "two-operations", "unknown-operation"],
)
async def test_request_errors_arrive_as_error_messages(
    ws_url: str, caplog: pytest.LogCaptureFixture, query: str, operation_name: str | None, code: str
) -> None:
    with caplog.at_level(logging.INFO), pytest.raises(TransportQueryError) as raised:
        await run(ws_url, query, operation_name)
    assert raised.value.errors is not None
    assert code in [error["extensions"]["code"] for error in raised.value.errors]
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
