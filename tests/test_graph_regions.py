"""Two PSA systems of one vendor, split by region (issue 8: scope routing).

The classic stack with its PSA as two Harvest simulators over one world: `psa-amer` owns AMER,
`psa-intl` EMEA and APAC. The real gateway over sockets, read cache off; requests are counted at
each simulator. A `region` filter reads only the systems that own the region; every record names
the system it came from; a record of one region never shows up under another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
import pytest_asyncio
from test_gateway_support import HR, NS, SF, TEST_ANONYMOUS_ROLE, running_gateway, system_tables

from opsgraph.gateway.settings import demo_settings
from opsgraph.model import record_key
from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import Engagement, World

pytestmark = pytest.mark.asyncio(loop_scope="module")

AMER, INTL = "psa-amer", "psa-intl"
SPLIT = {AMER: {"AMER"}, INTL: {"EMEA", "APAC"}}
OCT_FROM, OCT_TO = date(2026, 10, 1), date(2026, 10, 31)
ENGAGEMENTS = """query($region: String) { engagements(first: 500, filter: {region: $region}) {
  totalCount nodes { code } } }"""
LINKED = """{ engagements(first: 500) { totalCount nodes { code links { system role id } } } }"""
ENTRIES = """query($region: String) { timeEntries(first: 500,
  filter: {from: "2026-10-01", to: "2026-10-31", region: $region}) {
  totalCount nodes { id links { system id } } } }"""


def psa_of(engagement: Engagement) -> str:
    return AMER if engagement.client.region == "AMER" else INTL


@dataclass(repr=False)  # the group holds the world: its repr is tens of MB
class Gateway:
    http: httpx.AsyncClient
    group: SimulatorGroup

    async def counted(self, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
        """The response's data (no errors allowed) and the requests it made at each system."""
        urls = self.group.urls()
        for url in urls.values():
            (await self.http.delete(f"{url}/_sim/stats")).raise_for_status()
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        totals = {
            name: (await self.http.get(f"{url}/_sim/stats")).json()["total"] for name, url in urls.items()
        }
        return body["data"], totals


@pytest.fixture(scope="module")
def regional(world: World) -> Iterator[SimulatorGroup]:
    with SimulatorThread(world, psa_regions=SPLIT) as group:
        yield group


async def _gateway(group: SimulatorGroup, world: World, tables: dict[str, Any]) -> AsyncIterator[Gateway]:
    settings = demo_settings(
        tables, today=world.as_of, cache={"enabled": False}, auth={"anonymous_role": TEST_ANONYMOUS_ROLE}
    )
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        gateway = Gateway(http, group)
        await gateway.counted("{ invoices(first: 1) { nodes { number } } }", {})  # the ERP's token
        yield gateway


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(regional: SimulatorGroup, world: World) -> AsyncIterator[Gateway]:
    """Both PSA systems scoped: every region has an exact route."""
    async for gateway in _gateway(regional, world, system_tables(regional)):
        yield gateway


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw_unscoped(regional: SimulatorGroup, world: World) -> AsyncIterator[Gateway]:
    """`psa-intl` declared without a scope: it owns whatever `psa-amer` does not, so a region it
    serves is routed to it inexactly and its records are filtered by their client's region."""
    tables = system_tables(regional)
    del tables[INTL]["scope"]
    async for gateway in _gateway(regional, world, tables):
        yield gateway


async def test_without_a_region_every_system_is_read_and_each_record_names_its_own(
    gw: Gateway, world: World
) -> None:
    data, requests = await gw.counted(LINKED, {})
    nodes = data["engagements"]["nodes"]
    assert data["engagements"]["totalCount"] == len(world.engagements) == len(nodes)
    by_code = {e.code: e for e in world.engagements}
    assert {n["code"] for n in nodes} == set(by_code)
    for node in nodes:
        eng = by_code[node["code"]]
        assert node["links"][0] == {"system": psa_of(eng), "role": "PSA", "id": str(eng.harvest_project_id)}
    assert requests[AMER] > 0 and requests[INTL] > 0


@pytest.mark.parametrize("region", ["AMER", "EMEA", "APAC"])
async def test_a_region_reads_only_the_psa_that_owns_it(gw: Gateway, world: World, region: str) -> None:
    data, requests = await gw.counted(ENGAGEMENTS, {"region": region})
    want = {e.code for e in world.engagements if e.client.region == region}
    assert want, "the world has engagements in every region"
    assert {n["code"] for n in data["engagements"]["nodes"]} == want
    owner = AMER if region == "AMER" else INTL
    other = INTL if owner == AMER else AMER
    assert requests[owner] > 0
    assert requests[other] == 0
    if region == "AMER":  # the only region of its system: no client needed to tell the region
        assert requests[SF] == 0


async def test_time_entries_of_a_region(gw: Gateway, world: World) -> None:
    data, requests = await gw.counted(ENTRIES, {"region": "EMEA"})
    october = [
        e
        for e in world.time_entries
        if OCT_FROM <= e.spent_date <= OCT_TO and e.engagement.client.region == "EMEA"
    ]
    assert october
    nodes = data["timeEntries"]["nodes"]
    assert data["timeEntries"]["totalCount"] == len(october)
    assert len(nodes) == min(500, len(october))  # the first page
    want = {to_global_id("TimeEntry", record_key(INTL, str(e.id))): e for e in october}
    for node in nodes:
        entry = want[node["id"]]
        assert node["links"] == [{"system": INTL, "id": str(entry.id)}]
    assert requests[AMER] == 0


async def test_an_unscoped_system_is_filtered_by_the_clients_region(
    gw_unscoped: Gateway, world: World
) -> None:
    data, requests = await gw_unscoped.counted(ENGAGEMENTS, {"region": "APAC"})
    want = {e.code for e in world.engagements if e.client.region == "APAC"}
    assert {n["code"] for n in data["engagements"]["nodes"]} == want
    assert requests[AMER] == 0 and requests[INTL] > 0
    assert requests[SF] > 0  # the region of an inexact route's records is their client's


async def test_nodes_and_links_of_both_systems(gw: Gateway, world: World) -> None:
    amer = next(e for e in world.time_entries if e.engagement.client.region == "AMER")
    intl = next(e for e in world.time_entries if e.engagement.client.region != "AMER")
    ids = [
        to_global_id("TimeEntry", record_key(AMER, str(amer.id))),
        to_global_id("TimeEntry", record_key(INTL, str(intl.id))),
        to_global_id("TimeEntry", record_key(INTL, str(amer.id))),  # not in that region's PSA
    ]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on TimeEntry { hours engagement { code } } } }"
    data, requests = await gw.counted(query, {"ids": ids})
    assert data["nodes"] == [
        {"hours": amer.hours, "engagement": {"code": amer.engagement.code}},
        {"hours": intl.hours, "engagement": {"code": intl.engagement.code}},
        None,
    ]
    assert requests[AMER] > 0 and requests[INTL] > 0


async def test_an_invoices_psa_link_names_the_system_of_its_engagement(gw: Gateway, world: World) -> None:
    """With two PSA systems, which one raised an ERP invoice is the one holding its engagement."""
    query = "{ invoices(first: 500) { nodes { number links { system role id } } } }"
    data, _ = await gw.counted(query, {})
    invoices = {i.number: i for i in world.invoices}
    nodes = data["invoices"]["nodes"]
    assert len(nodes) == min(500, len(invoices))
    for node in nodes:
        inv = invoices[node["number"]]
        own = {"system": NS, "role": "ERP", "id": inv.ns_id}
        if inv.engagement.ns_job_id is None:  # no ERP job: its engagement (so its PSA) is unknown
            assert node["links"] == [own]
        else:
            psa = {"system": psa_of(inv.engagement), "role": "PSA", "id": str(inv.harvest_invoice_id)}
            assert node["links"] == [own, psa]


async def test_people_arrive_once_whatever_the_number_of_psa_systems(gw: Gateway, world: World) -> None:
    data, _ = await gw.counted(
        "{ resources(first: 500) { totalCount nodes { email links { system } } } }", {}
    )
    assert data["resources"]["totalCount"] == len(world.people)
    assert {n["email"] for n in data["resources"]["nodes"]} == {p.email for p in world.people}
    for node in data["resources"]["nodes"]:
        systems = [link["system"] for link in node["links"]]
        assert systems[-1] in (AMER, INTL) and systems[:-1] in ([], [HR])


async def test_an_engagements_time_outside_the_region_asked_is_none(gw: Gateway, world: World) -> None:
    eng = next(e for e in world.engagements if e.client.region == "AMER")
    entries = [e for e in world.time_entries if e.engagement is eng and OCT_FROM <= e.spent_date <= OCT_TO]
    assert entries
    query = """query($id: ID!, $region: String) { timeEntries(first: 500,
      filter: {from: "2026-10-01", to: "2026-10-31", engagementId: $id, region: $region}) { totalCount } }"""
    gid = to_global_id("Engagement", eng.code)
    data, _ = await gw.counted(query, {"id": gid, "region": "AMER"})
    assert data["timeEntries"]["totalCount"] == len(entries)
    data, _ = await gw.counted(query, {"id": gid, "region": "EMEA"})
    assert data["timeEntries"]["totalCount"] == 0


async def test_a_persons_time_and_assignments_span_both_psa_systems(gw: Gateway, world: World) -> None:
    """A person is a user in both PSA systems: their time and assignments are those of both users."""
    october = [e for e in world.time_entries if OCT_FROM <= e.spent_date <= OCT_TO]
    person = next(
        p
        for p in world.people
        if p.bamboo_id is not None
        and {psa_of(e.engagement) for e in october if e.person is p} == {AMER, INTL}
    )
    mine = [e for e in october if e.person is person]
    assigned = [a for a in world.assignments if a.person is person]
    resource_id = to_global_id("Resource", record_key(HR, str(person.bamboo_id)))
    query = """query($id: ID!) {
      node(id: $id) { ... on Resource { email assignments { engagement { code } }
        timeEntries(from: "2026-10-01", to: "2026-10-31") { id } } }
      timeEntries(first: 500, filter: {from: "2026-10-01", to: "2026-10-31", resourceId: $id}) {
        totalCount nodes { id } } }"""
    data, _ = await gw.counted(query, {"id": resource_id})
    want = sorted(to_global_id("TimeEntry", record_key(psa_of(e.engagement), str(e.id))) for e in mine)
    assert data["node"]["email"] == person.email
    assert sorted(n["id"] for n in data["node"]["timeEntries"]) == want
    assert data["timeEntries"]["totalCount"] == len(mine)
    assert sorted(n["id"] for n in data["timeEntries"]["nodes"]) == want
    codes = sorted(a["engagement"]["code"] for a in data["node"]["assignments"])
    assert codes == sorted(a.engagement.code for a in assigned)
