"""Row rules and cache scoping: a caller scoped to EMEA sees no other region's clients, opportunities,
engagements, time or invoices, in lists, `node(id:)` and the aggregates; and what one caller's
request put in the shared cache never shows another caller more than their own role and scopes allow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from test_gateway_support import TEST_ANONYMOUS_ROLE, running_gateway, settings_for

from opsgraph.auth import hash_api_key
from opsgraph.auth.demo import DEMO_API_KEYS
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

EMEA_KEY = "og_test-emea-controller-0123456789abcdefghijklm"
AMER_VIEWER_KEY = "og_test-amer-viewer-0123456789abcdefghijklmnop"
AUTH = {
    "anonymous_role": TEST_ANONYMOUS_ROLE,
    "api_keys": {
        "emea": {"hash": hash_api_key(EMEA_KEY), "roles": ["finance"], "scopes": ["emea"]},
        "amer-viewer": {"hash": hash_api_key(AMER_VIEWER_KEY), "roles": ["viewer"], "scopes": ["AMER"]},
    },
}
EMEA = {"X-API-Key": EMEA_KEY}
ALL = {"X-API-Key": DEMO_API_KEYS["finance"]}  # no scopes: every region

LISTS = """query Lists {
  clients(first: 500) { totalCount nodes { id region } }
  opportunities(first: 500) { totalCount nodes { id client { region } } }
  engagements(first: 500) { totalCount nodes { id code client { region } } }
  timeEntries(filter: {from: "2026-11-18", to: "2026-11-20"}, first: 500) {
    totalCount nodes { id hours engagement { code client { region } } }
  }
  invoices(first: 500, filter: {issuedFrom: "2026-07-01"}) { totalCount nodes { id client { region } } }
}"""
AGGREGATES = """query Aggregates {
  invoiceReadiness { engagement { code client { region } } amount { amount } }
  utilization(from: "2026-11-18", to: "2026-11-20") { key totalHours }
  reconciliation(from: "2026-10-01", to: "2026-10-31") { engagementsChecked mismatches { engagementCode } }
}"""
NODE = "query Node($id: ID!) { node(id: $id) { id } }"


class Caller:
    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
async def http(simulators: SimulatorGroup, world: World) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(simulators, world, auth=AUTH)
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=120) as client:
        yield client


def regions(rows: list[dict[str, Any]], *path: str) -> set[str | None]:
    found = set()
    for row in rows:
        value: Any = row
        for part in path:
            value = value[part] if value is not None else None
        found.add(value)
    return found


async def test_a_scoped_caller_sees_only_its_regions_in_lists_and_nodes(http: httpx.AsyncClient) -> None:
    everything = await Caller(http, ALL).data(LISTS)
    emea = await Caller(http, EMEA).data(LISTS)

    paths = {
        "clients": ("region",),
        "opportunities": ("client", "region"),
        "engagements": ("client", "region"),
        "timeEntries": ("engagement", "client", "region"),
        "invoices": ("client", "region"),
    }
    for field, path in paths.items():
        every_row, emea_rows = everything[field]["nodes"], emea[field]["nodes"]
        assert len(every_row) == everything[field]["totalCount"], field  # one page holds them all
        assert regions(emea_rows, *path) == {"EMEA"}, field
        assert "AMER" in regions(every_row, *path), field  # there is something to hide
        expected = {r["id"] for r in every_row if regions([r], *path) == {"EMEA"}}
        assert {r["id"] for r in emea_rows} == expected, field
        assert emea[field]["totalCount"] == len(expected), field

    hidden = {
        field: next(r["id"] for r in everything[field]["nodes"] if regions([r], *path) == {"AMER"})
        for field, path in paths.items()
    }
    for field, global_id in hidden.items():
        assert (await Caller(http, EMEA).data(NODE, id=global_id))["node"] is None, field
        assert (await Caller(http, ALL).data(NODE, id=global_id))["node"] == {"id": global_id}, field
    shown = next(r["id"] for r in emea["timeEntries"]["nodes"])
    assert (await Caller(http, EMEA).data(NODE, id=shown))["node"] == {"id": shown}


async def test_a_scoped_caller_sees_only_its_regions_in_aggregates(http: httpx.AsyncClient) -> None:
    lists = await Caller(http, ALL).data(LISTS)
    everything = await Caller(http, ALL).data(AGGREGATES)
    emea = await Caller(http, EMEA).data(AGGREGATES)

    emea_codes = {e["code"] for e in lists["engagements"]["nodes"] if e["client"]["region"] == "EMEA"}
    ready = emea["invoiceReadiness"]
    assert ready and {r["engagement"]["client"]["region"] for r in ready} == {"EMEA"}
    assert {r["engagement"]["code"] for r in ready} == {
        r["engagement"]["code"]
        for r in everything["invoiceReadiness"]
        if r["engagement"]["code"] in emea_codes
    }

    entries = lists["timeEntries"]["nodes"]
    emea_hours = sum(e["hours"] for e in entries if e["engagement"]["client"]["region"] == "EMEA")
    all_hours = sum(e["hours"] for e in entries)
    assert sum(r["totalHours"] for r in emea["utilization"]) == pytest.approx(emea_hours)
    assert sum(r["totalHours"] for r in everything["utilization"]) == pytest.approx(all_hours)
    assert emea_hours < all_hours

    mine, theirs = emea["reconciliation"], everything["reconciliation"]
    assert {m["engagementCode"] for m in mine["mismatches"]} <= emea_codes
    assert {m["engagementCode"] for m in mine["mismatches"]} == {
        m["engagementCode"] for m in theirs["mismatches"] if m["engagementCode"] in emea_codes
    }
    assert 0 < mine["engagementsChecked"] < theirs["engagementsChecked"]


PEOPLE_AND_CLIENTS = """query Filled {
  resources(first: 20) { nodes { name email costRate { amount } } }
  clients(first: 500) { nodes { name region } }
}"""


async def test_what_finance_put_in_the_cache_never_leaks_to_a_viewer(
    http: httpx.AsyncClient, simulators: SimulatorGroup
) -> None:
    """Finance (every region) fills the shared cache; a viewer scoped to AMER then reads the same
    document from that cache (no new upstream read) and gets neither finance's fields nor EMEA rows."""
    filled = await Caller(http, ALL).data(PEOPLE_AND_CLIENTS)
    assert all(p["email"] and p["costRate"] for p in filled["resources"]["nodes"])
    assert {c["region"] for c in filled["clients"]["nodes"]} >= {"AMER", "EMEA"}

    before = await upstream_requests(simulators)
    response = await http.post(
        "/graphql", json={"query": PEOPLE_AND_CLIENTS}, headers={"X-API-Key": AMER_VIEWER_KEY}
    )
    assert await upstream_requests(simulators) == before  # served from what finance cached

    body = response.json()
    people = body["data"]["resources"]["nodes"]
    assert [p["name"] for p in people] == [p["name"] for p in filled["resources"]["nodes"]]
    assert {(p["email"], p["costRate"]) for p in people} == {(None, None)}
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert {e["extensions"]["field"] for e in body["errors"]} == {"Resource.email", "Resource.costRate"}
    clients = body["data"]["clients"]["nodes"]
    assert {c["region"] for c in clients} == {"AMER"}
    assert len(clients) == sum(c["region"] == "AMER" for c in filled["clients"]["nodes"])

    again = await Caller(http, ALL).data(PEOPLE_AND_CLIENTS)  # and the viewer's read changed nothing
    assert again == filled


async def upstream_requests(simulators: SimulatorGroup) -> int:
    async with httpx.AsyncClient() as http:
        stats = [(await http.get(f"{sim.url}/_sim/stats")).json() for sim in simulators.running.values()]
    return sum(int(s["total"]) for s in stats)
