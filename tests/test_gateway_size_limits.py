"""Request size limits over a real socket (413 REQUEST_TOO_LARGE), and the parse cache bounded by bytes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import strawberry
from strawberry.extensions.validation_cache import DEFAULT_MAXSIZE, _get_validate_cache
from test_gateway_support import running_gateway, settings_for

from opsgraph.gateway.documents import ParsedDocuments, document_cache_extensions
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

BODY_LIMIT = 64 * 1024
HEADER_LIMIT = 4 * 1024
SMALL = {"query": "{ __typename }"}


@pytest.fixture
async def gateway(simulators: SimulatorGroup, world: World) -> AsyncIterator[str]:
    settings = settings_for(simulators, world, max_body_bytes=BODY_LIMIT, max_header_bytes=HEADER_LIMIT)
    async with running_gateway(settings) as url:
        yield url


def assert_too_large(status: int, body: bytes, limit: str) -> None:
    assert status == 413
    (error,) = json.loads(body)["errors"]
    assert error["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert error["extensions"]["limit"] == limit


async def raw_exchange(url: str, head: str, body_chunks: list[bytes]) -> tuple[int, bytes]:
    """Send a request head and some body, never the rest; read the response that comes back."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(head.encode())
        for chunk in body_chunks:
            writer.write(chunk)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout=30)  # the server closes after a 413
    finally:
        writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def test_within_the_limits_a_query_runs(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        response = await http.post("/graphql", json=SMALL, headers={"X-Note": "x" * 1000})
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(gateway: str) -> None:
    head = (
        "POST /graphql HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        "Content-Length: 20000000\r\n\r\n"
    )
    status, body = await raw_exchange(gateway, head, [])  # not one byte of the 20 MB
    assert_too_large(status, body, "body")
    assert json.loads(body)["errors"][0]["extensions"]["maximum"] == BODY_LIMIT


async def test_a_chunked_body_is_cut_off_where_it_crosses_the_limit(gateway: str) -> None:
    head = (
        "POST /graphql HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 16 * 1024
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 5  # 80 KiB, and the body never ends
    status, body = await raw_exchange(gateway, head, chunks)
    assert_too_large(status, body, "body")


async def test_oversized_headers_are_refused(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        response = await http.post("/graphql", json=SMALL, headers={"X-Padding": "x" * HEADER_LIMIT})
        long_url = await http.get("/graphql", params={"query": "{ __typename }", "pad": "y" * HEADER_LIMIT})
    assert_too_large(response.status_code, response.content, "headers")
    assert_too_large(long_url.status_code, long_url.content, "headers")
    assert response.headers["x-correlation-id"]


# -- the parse cache ----------------------------------------------------------------------------


def test_parsed_documents_are_bounded_by_bytes() -> None:
    documents = ParsedDocuments(max_bytes=100, max_document_bytes=40)
    small = [f"{{ a{i} }}" for i in range(30)]  # 6-7 bytes each
    for text in small:
        documents.parse(text)
    assert documents.bytes <= 100
    assert 14 <= len(documents) <= 16
    assert documents.parse(small[-1]) is documents.parse(small[-1])  # recent ones hit
    big = "{ " + " ".join(f"f{i}" for i in range(20)) + " }"
    assert documents.parse(big) is not documents.parse(big)  # over 40 bytes: never kept
    assert all(big not in key for key in documents._entries)


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"


async def test_large_documents_skip_both_caches() -> None:
    extensions = document_cache_extensions(max_bytes=1024, max_document_bytes=64)
    schema = strawberry.Schema(Query, extensions=extensions)
    documents: ParsedDocuments = extensions[0].documents  # type: ignore[attr-defined]
    for _ in range(3):
        assert (await schema.execute("{ hello }")).data == {"hello": "hi"}
    assert (documents.hits, documents.misses, len(documents)) == (2, 1, 1)
    validations: Any = _get_validate_cache(DEFAULT_MAXSIZE)
    before = validations.cache_info()
    large = "{ " + "hello " * 20 + "}"
    assert (await schema.execute(large)).data == {"hello": "hi"}
    assert len(documents) == 1
    assert validations.cache_info() == before  # not a key of the validation cache either
    bad = await schema.execute("{ nope }")
    assert bad.errors is not None and "nope" in bad.errors[0].message
