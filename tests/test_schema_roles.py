"""The role contract of the schema (ARCHITECTURE §4): `SourceStatus` and `links` name configured
systems and roles; the vendor-named fields still answer and are marked deprecated."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from test_gateway_support import running_gateway, settings_for

from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World

Gql = Callable[[str], Awaitable[dict[str, Any]]]

CLASSIC = [
    {"system": "salesforce", "role": "CRM", "vendor": "salesforce"},
    {"system": "harvest", "role": "PSA", "vendor": "harvest"},
    {"system": "bamboohr", "role": "HR", "vendor": "bamboohr"},
    {"system": "netsuite", "role": "ERP", "vendor": "netsuite"},
]


def ref(role: str, record_id: object) -> dict[str, str]:
    system = next(s for s in CLASSIC if s["role"] == role)
    return {**system, "id": str(record_id)}


@asynccontextmanager
async def graph(group: SimulatorGroup, world: World) -> AsyncIterator[Gql]:
    """Posts queries to a gateway over `group`; asserts HTTP 200 and no errors, returns the data."""
    async with (
        running_gateway(settings_for(group, world)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):

        async def run(query: str) -> dict[str, Any]:
            response = await http.post("/graphql", json={"query": query})
            body: dict[str, Any] = response.json()
            assert response.status_code == 200 and "errors" not in body, body
            data: dict[str, Any] = body["data"]
            return data

        yield run


@pytest.fixture
async def gql(simulators: SimulatorGroup, world: World) -> AsyncIterator[Gql]:
    async with graph(simulators, world) as run:
        yield run


async def test_sources_name_the_four_classic_systems(gql: Gql) -> None:
    data = await gql("{ sources { system role vendor source } }")
    got = sorted(data["sources"], key=lambda s: s["system"])
    assert got == sorted(({**s, "source": s["vendor"].upper()} for s in CLASSIC), key=lambda s: s["system"])


async def test_client_links_are_refs_matching_the_world(gql: Gql, world: World) -> None:
    data = await gql(
        """{ clients(first: 2) { nodes {
          links { system role vendor id } sourceLinks { salesforceId netsuiteId } } } }"""
    )
    nodes = data["clients"]["nodes"]
    assert len(nodes) == 2
    by_sf = {c.sf_id: c for c in world.clients}
    for node in nodes:
        client = by_sf[node["links"][0]["id"]]
        assert node["links"] == [ref("CRM", client.sf_id), ref("ERP", client.ns_customer_id)]
        assert node["sourceLinks"] == {"salesforceId": client.sf_id, "netsuiteId": client.ns_customer_id}


async def test_engagement_time_entry_and_invoice_links(gql: Gql, world: World) -> None:
    eng = next(
        e
        for e in world.engagements
        if e.ns_job_id is not None and any(i.engagement is e for i in world.invoices)
    )
    data = await gql(
        f"""{{ engagements(filter: {{codes: ["{eng.code}"]}}) {{ nodes {{ links {{ system role vendor id }}
           timeEntries(from: "2026-10-01", to: "2026-10-31") {{ links {{ system role vendor id }} }}
           invoices {{ number links {{ system role vendor id }} }} }} }} }}"""
    )
    [node] = data["engagements"]["nodes"]
    assert node["links"] == [
        ref("PSA", eng.harvest_project_id),
        ref("ERP", eng.ns_job_id),
        ref("CRM", eng.opportunity_id),
    ]
    october = [
        e
        for e in world.time_entries
        if e.engagement is eng and (e.spent_date.year, e.spent_date.month) == (2026, 10)
    ]
    assert october
    assert sorted(n["links"][0]["id"] for n in node["timeEntries"]) == sorted(str(e.id) for e in october)
    assert all(n["links"] == [ref("PSA", n["links"][0]["id"])] for n in node["timeEntries"])
    invoices = {i.number: i for i in world.invoices if i.engagement is eng}
    assert {n["number"] for n in node["invoices"]} == set(invoices)
    for n in node["invoices"]:
        inv = invoices[n["number"]]
        assert n["links"] == [ref("ERP", inv.ns_id), ref("PSA", inv.harvest_invoice_id)]


async def test_resource_links(gql: Gql, world: World) -> None:
    data = await gql("{ resources(first: 500) { nodes { email links { system role vendor id } } } }")
    people = {p.email: p for p in world.people}
    nodes = data["resources"]["nodes"]
    assert len(nodes) == len(people)
    for n in nodes:
        p = people[n["email"]]
        hr = [ref("HR", p.bamboo_id)] if p.bamboo_id is not None else []
        assert n["links"] == [*hr, ref("PSA", p.harvest_user_id)]  # the PSA-only person: no HR ref


async def test_data_quality_issues_name_system_and_role(gql: Gql) -> None:
    data = await gql("{ resources(first: 500) { nodes { dataQuality { source system role } } } }")
    issues = [i for n in data["resources"]["nodes"] for i in n["dataQuality"]]
    assert issues
    role = {s["vendor"]: s["role"] for s in CLASSIC}
    assert all(i["system"] == i["source"].lower() and i["role"] == role[i["system"]] for i in issues), issues


async def test_old_fields_are_deprecated_in_introspection(gql: Gql) -> None:
    query = """{ %s: __type(name: "%s") { fields(includeDeprecated: true) { name isDeprecated } } }"""
    names = ["Client", "Engagement", "Resource", "SourceStatus", "DataQualityIssue", "TimeEntry", "Invoice"]
    data = await gql("{ " + " ".join(query[2:-2] % (n, n) for n in names) + " }")
    deprecated = {(t, f["name"]) for t in names for f in data[t]["fields"] if f["isDeprecated"]}
    assert deprecated == {
        ("Client", "sourceLinks"),
        ("Engagement", "sourceLinks"),
        ("Resource", "sourceLinks"),
        ("SourceStatus", "source"),
        ("DataQualityIssue", "source"),
    }
    links = {t: next(f for f in data[t]["fields"] if f["name"] == "links") for t in names[:3] + names[5:]}
    assert not any(f["isDeprecated"] for f in links.values())


async def test_the_deprecated_fields_follow_the_role_not_the_vendor(world: World) -> None:
    """On the HubSpot stack the CRM is HubSpot: its `source` is still SALESFORCE (the classic vendor of
    the CRM role) and `salesforceId` is its CRM link's id, a HubSpot company id."""
    with SimulatorThread(world, stack="hubspot") as group:
        async with graph(group, world) as run:
            data = await run(
                """{ sources { system role vendor source }
                   clients(first: 3) { nodes { name links { system role vendor id }
                     sourceLinks { salesforceId netsuiteId } } } }"""
            )
    crm = next(s for s in data["sources"] if s["role"] == "CRM")
    assert crm == {"system": "hubspot", "role": "CRM", "vendor": "hubspot", "source": "SALESFORCE"}
    by_name = {c.name: c for c in world.clients}
    nodes = data["clients"]["nodes"]
    assert len(nodes) == 3
    for node in nodes:
        client = by_name[node["name"]]
        crm_link = {"system": "hubspot", "role": "CRM", "vendor": "hubspot", "id": client.hubspot_id}
        assert node["links"][0] == crm_link
        assert node["sourceLinks"]["salesforceId"] == client.hubspot_id
        erp = [link["id"] for link in node["links"] if link["role"] == "ERP"]
        assert node["sourceLinks"]["netsuiteId"] == (erp[0] if erp else None)
