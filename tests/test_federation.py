"""Federation (issue 13): `serve --federation` serves the graph as an Apollo Federation 2 subgraph.

The real gateway over a socket against the simulators. Its `_service { sdl }` is composed with a
second small subgraph that extends `Engagement` (by `code`) using `@theguild/federation-composition`
from npm (`tests/js/compose.mjs`), and `_entities` resolves a representation for every key.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from js_support import run_node
from test_gateway_support import running_gateway, settings_for

from opsgraph.schema import schema_sdl
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytestmark = pytest.mark.asyncio(loop_scope="module")

STAFFING = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

type Engagement @key(fields: "code") {
  code: String!
  staffingNotes: [String!]!
}

type Query {
  staffingBoard: [Engagement!]!
}
"""

ENTITIES = """query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Client { id name }
    ... on Engagement { id code }
    ... on Resource { id }
    ... on Invoice { id }
    ... on TimeEntry { id }
  }
}"""

SAMPLES = """query Samples($from: Date!, $to: Date!) {
  clients(first: 1) { nodes { id } }
  engagements(first: 2) { nodes { id code } }
  resources(first: 1) { nodes { id } }
  invoices(first: 1) { nodes { id } }
  timeEntries(filter: {from: $from, to: $to}, first: 1) { nodes { id } }
}"""


class Subgraph:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def query(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def subgraph(simulators: SimulatorGroup, world: World) -> AsyncIterator[Subgraph]:
    settings = settings_for(simulators, world, federation=True)
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield Subgraph(http)


async def test_service_sdl_is_the_subgraph_with_keys(subgraph: Subgraph) -> None:
    body = await subgraph.query("{ _service { sdl } }")
    sdl = body["data"]["_service"]["sdl"]
    assert sdl == schema_sdl(federation=True)
    keys = dict(re.findall(r"^type (\w+) implements Node((?: @key\([^)]*\))+)", sdl, re.MULTILINE))
    assert set(keys) == {"Client", "Engagement", "Resource", "Invoice", "TimeEntry"}
    assert re.findall(r'fields: "(\w+)"', keys["Engagement"]) == ["id", "code"]
    assert all(re.findall(r'fields: "(\w+)"', keys[t]) == ["id"] for t in keys if t != "Engagement")
    assert 'import: ["@key"]' in sdl
    plain = schema_sdl()
    assert "@key" not in plain and "_service" not in plain and "_entities" not in plain


async def test_composes_with_a_subgraph_extending_engagement(subgraph: Subgraph) -> None:
    sdl = (await subgraph.query("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    result = run_node(
        "compose.mjs",
        [
            {"name": "opsgraph", "url": "http://opsgraph/graphql", "sdl": sdl},
            {"name": "staffing", "url": "http://staffing/graphql", "sdl": STAFFING},
        ],
    )
    assert "errors" not in result, result.get("errors")
    supergraph = result["supergraphSdl"]
    (engagement,) = re.findall(r"^type Engagement implements Node[^{]*\{[^}]*\}", supergraph, re.MULTILINE)
    assert '@join__type(graph: OPSGRAPH, key: "code")' in engagement
    assert '@join__type(graph: OPSGRAPH, key: "id")' in engagement
    assert '@join__type(graph: STAFFING, key: "code")' in engagement
    assert re.search(r"staffingNotes: \[String!\]! @join__field\(graph: STAFFING\)", engagement)
    assert re.search(r"^\s+burn: ", engagement, re.MULTILINE)  # opsgraph's own fields stay
    for name in ("Client", "Resource", "Invoice", "TimeEntry"):
        assert re.search(
            rf'^type {name} implements Node[^{{]*@join__type\(graph: OPSGRAPH, key: "id"\)',
            supergraph,
            re.MULTILINE,
        ), name


async def test_entities_resolve_for_every_key(subgraph: Subgraph, world: World) -> None:
    start = world.as_of.replace(day=1).isoformat()
    samples = (await subgraph.query(SAMPLES, **{"from": start, "to": world.as_of.isoformat()}))["data"]
    wanted = [
        ("Client", {"id": samples["clients"]["nodes"][0]["id"]}),
        ("Engagement", {"id": samples["engagements"]["nodes"][0]["id"]}),
        ("Engagement", {"code": samples["engagements"]["nodes"][1]["code"]}),
        ("Resource", {"id": samples["resources"]["nodes"][0]["id"]}),
        ("Invoice", {"id": samples["invoices"]["nodes"][0]["id"]}),
        ("TimeEntry", {"id": samples["timeEntries"]["nodes"][0]["id"]}),
    ]
    body = await subgraph.query(ENTITIES, representations=[{"__typename": t, **k} for t, k in wanted])
    assert "errors" not in body, body["errors"]
    entities = body["data"]["_entities"]
    assert [e["__typename"] for e in entities] == [t for t, _ in wanted]
    for entity, (_, key) in zip(entities, wanted, strict=True):
        for field, value in key.items():
            assert entity[field] == value
    assert entities[2]["id"] == samples["engagements"]["nodes"][1]["id"]
    assert entities[0]["name"]


async def test_a_bad_representation_nulls_only_its_entry(subgraph: Subgraph) -> None:
    engagement = (await subgraph.query("{ engagements(first: 1) { nodes { id code } } }"))["data"]
    good = engagement["engagements"]["nodes"][0]
    body = await subgraph.query(
        ENTITIES,
        representations=[
            {"__typename": "Engagement", "code": good["code"]},
            {"__typename": "Opportunity", "id": good["id"]},  # not an entity here
            {"__typename": "Client", "id": good["id"]},  # an Engagement's id
            {"__typename": "Client", "name": "x"},  # no key field
            {"__typename": "Engagement", "code": "NO-SUCH-CODE"},
        ],
    )
    entities = body["data"]["_entities"]
    assert entities[0] == {"__typename": "Engagement", "id": good["id"], "code": good["code"]}
    assert entities[1:] == [None, None, None, None]
    errors = {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}
    assert errors == {
        ("_entities", 1): "BAD_USER_INPUT",
        ("_entities", 2): "BAD_USER_INPUT",
        ("_entities", 3): "BAD_USER_INPUT",
    }


async def test_the_plain_gateway_has_no_federation_fields(simulators: SimulatorGroup, world: World) -> None:
    async with (
        running_gateway(settings_for(simulators, world)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        body = (await http.post("/graphql", json={"query": "{ _service { sdl } }"})).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
