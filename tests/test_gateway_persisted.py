"""Persisted queries over a real socket: the APQ round trip (GET and POST, shared through Redis by
two gateways), Apollo's errors, and trusted-only mode with a manifest."""

from __future__ import annotations

import hashlib
import json
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_gateway_support import serving, settings_for

from opsgraph.gateway.app import create_app
from opsgraph.gateway.settings import ConfigError
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

QUERY = "query Two { clients(first: 2) { nodes { name } } }"
OTHER = "query Three { clients(first: 3) { nodes { name } } }"


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def hashed(query: str, *, with_text: bool = False, version: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": version, "sha256Hash": sha(query)}}}
    if with_text:
        body["query"] = query
    return body


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_apq_round_trip(simulators: SimulatorGroup, world: World) -> None:
    async with (
        serving(create_app(settings_for(simulators, world))) as url,
        httpx.AsyncClient(timeout=30) as http,
    ):
        miss = await http.post(f"{url}/graphql", json=hashed(QUERY))
        registered = await http.post(f"{url}/graphql", json=hashed(QUERY, with_text=True))
        by_hash = await http.post(f"{url}/graphql", json=hashed(QUERY))
        params = {"extensions": json.dumps(hashed(QUERY)["extensions"])}
        by_get = await http.get(f"{url}/graphql", params=params)
        other_miss = await http.get(
            f"{url}/graphql", params={"extensions": json.dumps(hashed(OTHER)["extensions"])}
        )
    assert miss.status_code == 200
    assert miss.json() == {
        "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
    }
    assert miss.headers["cache-control"] == "private, no-cache, must-revalidate"
    names = registered.json()["data"]["clients"]["nodes"]
    assert len(names) == 2
    assert by_hash.json() == {"data": {"clients": {"nodes": names}}}
    assert by_get.json() == {"data": {"clients": {"nodes": names}}}
    assert code(other_miss) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**hashed(OTHER), "query": QUERY}, "provided sha does not match query"),
        (hashed(QUERY, with_text=True, version=2), "Unsupported persisted query version"),
        ({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}, "must be 64 hex digits"),
        ({"extensions": {"persistedQuery": "x"}}, "must be an object"),
    ],
)
async def test_bad_persisted_query_requests_are_400(
    simulators: SimulatorGroup, world: World, body: dict[str, Any], message: str
) -> None:
    async with (
        serving(create_app(settings_for(simulators, world))) as url,
        httpx.AsyncClient(timeout=30) as http,
    ):
        response = await http.post(f"{url}/graphql", json=body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert message in error["message"] and error["extensions"]["code"] == "BAD_REQUEST"


async def test_apq_off_is_not_supported(simulators: SimulatorGroup, world: World) -> None:
    settings = settings_for(simulators, world, persisted_queries={"apq": False})
    async with serving(create_app(settings)) as url, httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{url}/graphql", json=hashed(QUERY, with_text=True))
        response = await http.post(f"{url}/graphql", json=hashed(QUERY))
    assert code(response) == "PERSISTED_QUERY_NOT_SUPPORTED"


async def test_replicas_share_registered_queries_through_redis(
    simulators: SimulatorGroup, world: World, redis_server: str
) -> None:
    settings = settings_for(simulators, world, redis_url=redis_server)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        one = await stack.enter_async_context(serving(create_app(settings)))
        two = await stack.enter_async_context(serving(create_app(settings)))
        unique = QUERY.replace("Two", f"Two{id(stack)}")  # not registered by an earlier run
        assert code(await http.post(f"{two}/graphql", json=hashed(unique))) == "PERSISTED_QUERY_NOT_FOUND"
        first = await http.post(f"{one}/graphql", json=hashed(unique, with_text=True))
        second = await http.post(f"{two}/graphql", json=hashed(unique))
    assert second.json() == first.json() and "data" in first.json()


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "persisted-query-manifest.json"
    operations = [{"id": sha(QUERY), "name": "Two", "type": "query", "body": QUERY}]
    path.write_text(
        json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations})
    )
    return path


async def test_trusted_only_runs_the_manifest_and_nothing_else(
    simulators: SimulatorGroup, world: World, manifest: Path
) -> None:
    pq = {"trusted_documents": str(manifest), "trusted_only": True}
    settings = settings_for(simulators, world, persisted_queries=pq)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(timeout=30) as http:
        trusted = await http.post(f"{url}/graphql", json=hashed(QUERY))
        as_text = await http.post(f"{url}/graphql", json={"query": QUERY})
        unknown = await http.post(f"{url}/graphql", json=hashed(OTHER))
        untrusted = await http.post(f"{url}/graphql", json={"query": OTHER})
        register = await http.post(f"{url}/graphql", json=hashed(OTHER, with_text=True))
        still_unknown = await http.post(f"{url}/graphql", json=hashed(OTHER))
    assert len(trusted.json()["data"]["clients"]["nodes"]) == 2
    assert as_text.json() == trusted.json()
    assert code(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    assert untrusted.status_code == 403 and code(untrusted) == "FORBIDDEN"
    assert register.status_code == 403 and code(register) == "FORBIDDEN"
    assert code(still_unknown) == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_flat_manifest_serves_its_hashes_beside_apq(
    simulators: SimulatorGroup, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps({sha(QUERY): QUERY}))
    settings = settings_for(simulators, world, persisted_queries={"trusted_documents": str(path)})
    async with serving(create_app(settings)) as url, httpx.AsyncClient(timeout=30) as http:
        trusted = await http.post(f"{url}/graphql", json=hashed(QUERY))
        other = await http.post(f"{url}/graphql", json={"query": OTHER})
    assert len(trusted.json()["data"]["clients"]["nodes"]) == 2
    assert len(other.json()["data"]["clients"]["nodes"]) == 3


def test_a_manifest_whose_hash_is_not_its_documents_stops_the_start(
    simulators: SimulatorGroup, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({sha(QUERY): OTHER}))
    settings = settings_for(simulators, world, persisted_queries={"trusted_documents": str(path)})
    with pytest.raises(ConfigError, match="not the SHA-256 of its document"):
        create_app(settings)
