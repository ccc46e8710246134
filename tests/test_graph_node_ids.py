"""`node(id:)` and `nodes(ids:)` (issue 7 items 7 and 9): ids checked before anything leaves the
gateway, a bad id nulls only its own entry, ids read in batches by type, and a cap per request.

The real gateway over a socket against the simulators, read cache off; upstream requests are
counted at the simulators.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from test_gateway_support import CLASSIC, HR, HV, NS, SF, running_gateway, settings_for

from opsgraph.model import record_key
from opsgraph.schema.node_lookup import MAX_NODE_IDS
from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

NODES = """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
  ... on Client { name } ... on Opportunity { name } ... on Engagement { code } ... on Resource { email }
  ... on TimeEntry { hours } ... on Invoice { number } } }"""

pytestmark = pytest.mark.asyncio(loop_scope="module")


class Gateway:
    def __init__(self, http: httpx.AsyncClient, simulators: SimulatorGroup) -> None:
        self.http, self.simulators = http, simulators

    def sim(self, source: str) -> str:
        return self.simulators.urls()[source]

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def counted(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
        """The response and the upstream requests it made, per source and route."""
        for source in CLASSIC:
            (await self.http.delete(f"{self.sim(source)}/_sim/stats")).raise_for_status()
        body = await self.post(query, variables)
        counts = {}
        for source in CLASSIC:
            stats = (await self.http.get(f"{self.sim(source)}/_sim/stats")).json()
            counts[source] = {route: v["count"] for route, v in stats["routes"].items()}
        return body, counts


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(simulators: SimulatorGroup, world: World) -> AsyncIterator[Gateway]:
    settings = settings_for(simulators, world, cache={"enabled": False})
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        gateway = Gateway(http, simulators)
        # OAuth tokens and the ERP's currency list, fetched once per gateway, are not what is counted.
        await gateway.post("{ invoices(first: 1) { nodes { number } } clients(first: 1) { nodes { name } } }")
        yield gateway


def raw_id(type_name: str, key: str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def gid(type_name: str, system: str, record_id: object) -> str:
    return to_global_id(type_name, record_key(system, str(record_id)))


def mixed_ids(world: World) -> list[tuple[str, str, Any]]:
    """(type, global id, expected field value): 20 clients, opportunities, engagements and people,
    10 time entries and 10 invoices, interleaved."""
    groups = [
        [("Client", gid("Client", SF, c.sf_id), c.name) for c in world.clients[:20]],
        [("Opportunity", gid("Opportunity", SF, o.sf_id), o.name) for o in world.opportunities[:20]],
        [("Engagement", to_global_id("Engagement", e.code), e.code) for e in world.engagements[:20]],
        [("Resource", gid("Resource", HR, p.bamboo_id), p.email) for p in world.people[:20]],
        [("TimeEntry", gid("TimeEntry", HV, t.id), t.hours) for t in world.time_entries[:10]],
        [("Invoice", gid("Invoice", NS, i.ns_id), i.number) for i in world.invoices[:10]],
    ]
    out = []
    for i in range(20):
        out += [g[i] for g in groups if i < len(g)]
    return out


VALUE = {"Client": "name", "Opportunity": "name", "Engagement": "code", "Resource": "email"}
VALUE |= {"TimeEntry": "hours", "Invoice": "number"}


async def test_a_hundred_mixed_ids_cost_a_few_batched_reads(gw: Gateway, world: World) -> None:
    ids = mixed_ids(world)
    assert len(ids) == MAX_NODE_IDS == 100
    body, counts = await gw.counted(NODES, {"ids": [g for _, g, _ in ids]})
    assert "errors" not in body, body["errors"]
    nodes = body["data"]["nodes"]
    assert [(n["__typename"], n["id"]) for n in nodes] == [(t, g) for t, g, _ in ids]
    assert [n[VALUE[t]] for n, (t, _, _) in zip(nodes, ids, strict=True)] == [v for _, _, v in ids]
    print(f"\nupstream requests: {counts}")
    # One composite read per Salesforce object; the projects and users listings; one GET per time
    # entry (Harvest has no batch read by id); one employee filter; invoice heads and lines by id.
    assert counts[SF] == {"POST /services/data/v60.0/composite/sobjects/{sobject}": 2}
    assert counts[HV] == {"GET /v2/projects": 1, "GET /v2/users": 1, "GET /v2/time_entries/{id:int}": 10}
    assert counts[HR] == {"GET /api/gateway.php/opsgraphfirm/v1/employees": 1}
    assert counts[NS] == {"POST /services/rest/query/v1/suiteql": 2}


async def test_ids_past_the_cap_fail_without_an_upstream_call(gw: Gateway, world: World) -> None:
    clients = [gid("Client", SF, c.sf_id) for c in world.clients]
    entries = [gid("TimeEntry", HV, t.id) for t in world.time_entries[:MAX_NODE_IDS]]
    # One field over the cap.
    body, counts = await gw.counted(NODES, {"ids": [*entries, clients[0]]})
    assert body["data"] is None  # `nodes` is non-null by contract: the rejection takes the whole response
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "TOO_MANY_IDS", "limit": 100, "count": 101}
    assert sum(sum(c.values()) for c in counts.values()) == 0
    # The cap counts every node and nodes field of the request together.
    query = """query($a: [ID!]!, $b: [ID!]!, $c: ID!) { a: nodes(ids: $a) { id } ...more
      c: node(id: $c) { id } } fragment more on Query { b: nodes(ids: $b) { id } }"""
    variables = {"a": entries[:60], "b": entries[60:99], "c": clients[0]}
    body, counts = await gw.counted(query, variables)
    assert "errors" not in body and len(body["data"]["a"]) + len(body["data"]["b"]) == 99
    body, counts = await gw.counted(query, {**variables, "b": entries[60:]})
    assert body["data"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"TOO_MANY_IDS"}
    assert sum(sum(c.values()) for c in counts.values()) == 0


@pytest.mark.parametrize(
    "key",
    [
        "harvest:¹",
        "harvest:٣",
        "harvest:-1",
        "harvest:1 ",
        "harvest:",
        "",
        "1234",
        "Harvest:1",
        "harvest:" + "1" * 65,
    ],
    ids=["superscript", "arabic-indic", "negative", "space", "no-id", "empty", "no-system", "upper", "long"],
)
async def test_a_malformed_time_entry_id_is_bad_input_and_never_leaves(gw: Gateway, key: str) -> None:
    query = "query($id: ID!) { node(id: $id) { id } }"
    body, counts = await gw.counted(query, {"id": raw_id("TimeEntry", key)})
    assert body["data"] == {"node": None}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["node"]
    assert sum(sum(c.values()) for c in counts.values()) == 0


@pytest.mark.parametrize(
    "key",
    ["harvest:123456789012345678901234567890", "harvest:9223372036854775808", "harvest:0x10", "nosuch:1"],
    ids=["30-digit", "int64+1", "hex", "unknown-system"],
)
async def test_an_id_its_system_could_never_hold_is_null_and_never_leaves(gw: Gateway, key: str) -> None:
    """Shaped like a key, but no id the PSA could hold (the connector knows its own id shapes), or of a
    system that is not configured: not found, and no upstream call."""
    body, counts = await gw.counted(
        "query($id: ID!) { node(id: $id) { id } }", {"id": raw_id("TimeEntry", key)}
    )
    assert body == {"data": {"node": None}}
    assert sum(sum(c.values()) for c in counts.values()) == 0


async def test_the_largest_int64_id_is_asked_and_missing(gw: Gateway) -> None:
    body, counts = await gw.counted(
        "query($id: ID!) { node(id: $id) { id } }", {"id": raw_id("TimeEntry", f"{HV}:{2**63 - 1}")}
    )
    assert body == {"data": {"node": None}}
    assert counts[HV] == {"GET /v2/time_entries/{id:int}": 1}


async def test_a_bad_id_nulls_only_its_own_entry(gw: Gateway, world: World) -> None:
    client, eng = world.clients[0], world.engagements[0]
    ids = [
        gid("Client", SF, client.sf_id),
        raw_id("TimeEntry", f"{HV}:¹"),
        to_global_id("Engagement", eng.code),
        "not-an-id!",
        gid("Invoice", NS, "999999999"),  # well formed, no such invoice: null, no error
    ]
    body = await gw.post(NODES, {"ids": ids})
    nodes = body["data"]["nodes"]
    assert [n and n.get("name", n.get("code")) for n in nodes] == [client.name, None, eng.code, None, None]
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["nodes", 1], "BAD_USER_INPUT"),
        (["nodes", 3], "BAD_USER_INPUT"),
    ]


async def test_a_failing_system_nulls_only_its_entries(gw: Gateway, world: World) -> None:
    ids = [gid("Client", SF, world.clients[0].sf_id), to_global_id("Engagement", "ENG-0001")]
    (await gw.http.put(f"{gw.sim(SF)}/_sim/faults", json={"outage": True})).raise_for_status()
    try:
        body = await gw.post(NODES, {"ids": ids})
    finally:
        (await gw.http.put(f"{gw.sim(SF)}/_sim/faults", json={"outage": False})).raise_for_status()
    assert body["data"]["nodes"] == [None, {"__typename": "Engagement", "id": ids[1], "code": "ENG-0001"}]
    (error,) = body["errors"]
    assert error["path"] == ["nodes", 0]
    assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    assert error["extensions"]["source"] == error["extensions"]["system"] == "salesforce"


async def test_fragments_are_counted_once_each_where_spread() -> None:
    """A chain of 40 fragments, each spreading the next twice: counted in linear time, ids per spread."""
    from graphql import parse

    from opsgraph.schema.node_lookup import count_node_ids

    chain = [f"fragment f{i} on Query {{ ...f{i + 1} ...f{i + 1} }}" for i in range(40)]
    chain.append('fragment f40 on Query { node(id: "x") { id } }')
    doc = parse("query { ...f0 nodes(ids: $ids) { id } }\n" + "\n".join(chain))
    op, *frags = doc.definitions
    fragments = {f.name.value: f for f in frags}
    assert count_node_ids(op.selection_set, fragments, {"ids": ["a", "b"]}) == 2**40 + 2
