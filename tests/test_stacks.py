"""Simulator stacks over one world: the HubSpot stack's CRM and ERP join keys, and a PSA split by region.

Every check is a real HTTP request to a running simulator, in the vendor's own wire shape.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from opsgraph.gateway.settings import demo_settings
from opsgraph.model import Role
from simulators.hubspot.sim_state import company_id, deal_id
from simulators.simkit.serve import RunningSimulator, SimulatorGroup, SimulatorThread
from simulators.simkit.stacks import STACKS, plan_systems
from simulators.world import REGIONS, World, psa_time_entry_id
from simulators.world.psa_ids import kantata_time_entry_id

PSA_REGIONS = {"psa-na": {"AMER"}, "psa-emea": {"EMEA", "APAC"}}


@pytest.fixture(scope="module")
def hubspot_stack(world: World) -> Iterator[SimulatorGroup]:
    """The hubspot stack with its PSA split in two regional systems."""
    with SimulatorThread(world, stack="hubspot", psa_regions=PSA_REGIONS) as group:
        yield group


def netsuite_rows(sim: RunningSimulator, query: str) -> list[dict[str, Any]]:
    """Every row of a SuiteQL query, paged, after a client-credentials token."""
    creds = sim.info.credentials
    with httpx.Client(base_url=sim.connector_base_url, timeout=30) as http:
        token = http.post(
            "/auth/oauth2/v1/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        )
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}", "Prefer": "transient"}
        rows: list[dict[str, Any]] = []
        while True:
            page = http.post(
                "/query/v1/suiteql",
                params={"limit": 1000, "offset": len(rows)},
                json={"q": query},
                headers=headers,
            )
            page.raise_for_status()
            body = page.json()
            rows += body["items"]
            if not body["hasMore"]:
                return rows


def harvest_list(sim: RunningSimulator, path: str, key: str) -> list[dict[str, Any]]:
    """Every record of a Harvest listing, following `links.next`."""
    creds = sim.info.credentials
    headers = {
        "Authorization": f"Bearer {creds['access_token']}",
        "Harvest-Account-Id": creds["account_id"],
        "User-Agent": creds["user_agent"],
    }
    records: list[dict[str, Any]] = []
    url: str | None = f"{sim.url}/v2/{path}?per_page=2000"
    with httpx.Client(headers=headers, timeout=30) as http:
        while url is not None:
            page = http.get(url)
            page.raise_for_status()
            body = page.json()
            records += body[key]
            url = body["links"]["next"]
    return records


def hubspot_list(sim: RunningSimulator, kind: str, properties: str) -> list[dict[str, Any]]:
    """Every company or deal, following the `paging.next.after` cursor."""
    headers = {"Authorization": f"Bearer {sim.info.credentials['access_token']}"}
    records: list[dict[str, Any]] = []
    params = {"limit": "100", "properties": properties}
    with httpx.Client(base_url=sim.connector_base_url, headers=headers, timeout=30) as http:
        while True:
            page = http.get(f"/crm/v3/objects/{kind}", params=params)
            page.raise_for_status()
            body = page.json()
            records += body["results"]
            after = body.get("paging", {}).get("next", {}).get("after")
            if after is None:
                return records
            params["after"] = after


# -- plans -----------------------------------------------------------------------------------------


def test_each_stack_names_one_vendor_per_role(world: World) -> None:
    classic = plan_systems(world)
    assert [(p.name, p.role, p.vendor, p.scope) for p in classic] == [
        ("salesforce", Role.CRM, "salesforce", None),
        ("harvest", Role.PSA, "harvest", None),
        ("bamboohr", Role.HR, "bamboohr", None),
        ("netsuite", Role.ERP, "netsuite", None),
    ]
    assert all(p.world is world for p in classic)  # the classic stack serves the world as built
    hubspot = plan_systems(world, "hubspot")
    assert [p.name for p in hubspot] == ["hubspot", "harvest", "bamboohr", "netsuite"]
    assert {p.world.crm for p in hubspot} == {"hubspot"}
    assert world.crm == "salesforce"  # a view, not a change to the shared world
    workday = plan_systems(world, "workday")
    assert [(p.name, p.role) for p in workday] == [
        ("salesforce", Role.CRM),
        ("harvest", Role.PSA),
        ("workday", Role.HR),
        ("netsuite", Role.ERP),
    ]
    assert all(p.world is world for p in workday)
    assert set(STACKS) == {"classic", "hubspot", "global", "workday"}


def test_the_global_stack_splits_the_psa_by_region(world: World) -> None:
    """Harvest owns AMER, Kantata EMEA and APAC; every system sees which PSA holds each region.
    NetSuite keeps the US entity's books, Intacct the UK entity's (British clients, in GBP)."""
    plans = plan_systems(world, "global")
    assert [(p.name, p.role, p.vendor, p.scope) for p in plans] == [
        ("salesforce", Role.CRM, "salesforce", None),
        ("harvest", Role.PSA, "harvest", frozenset({"AMER"})),
        ("kantata", Role.PSA, "kantata", frozenset({"EMEA", "APAC"})),
        ("bamboohr", Role.HR, "bamboohr", None),
        ("netsuite", Role.ERP, "netsuite", frozenset({"US"})),
        ("intacct", Role.ERP, "intacct", frozenset({"UK"})),
    ]
    books = {p.name: p.world for p in plans if p.role is Role.ERP}
    assert {c.country for c in books["intacct"].clients} == {"United Kingdom"}
    assert {c.currency for c in books["intacct"].clients} == {"GBP"}
    assert "United Kingdom" not in {c.country for c in books["netsuite"].clients}
    assert len(books["netsuite"].invoices) + len(books["intacct"].invoices) == len(world.invoices)
    assert len(books["netsuite"].clients) + len(books["intacct"].clients) == len(world.clients)
    assert {p.name: {e.client.region for e in p.world.engagements} for p in plans if p.role is Role.PSA} == {
        "harvest": {"AMER"},
        "kantata": {"EMEA", "APAC"},
    }
    assert {tuple(sorted(p.world.psa.items())) for p in plans} == {
        (("AMER", "harvest"), ("APAC", "kantata"), ("EMEA", "kantata"))
    }
    assert world.psa == {}  # a view, not a change to the shared world


def test_the_erp_names_each_entry_by_the_id_of_the_psa_holding_it(world: World) -> None:
    """NetSuite's time bill external id is the Harvest entry id in AMER and the Kantata one elsewhere."""
    erp = next(p for p in plan_systems(world, "global") if p.role is Role.ERP).world
    amer = next(t for t in world.time_entries if t.engagement.client.region == "AMER")
    emea = next(t for t in world.time_entries if t.engagement.client.region == "EMEA")
    assert psa_time_entry_id(erp, amer) == str(amer.id)
    assert psa_time_entry_id(erp, emea) == kantata_time_entry_id(emea) != str(emea.id)


@pytest.mark.parametrize(
    ("stack", "psa_regions", "message"),
    [
        ("nope", None, "unknown stack 'nope'; known stacks: classic, hubspot, global, workday"),
        ("classic", {"psa-a": {"AMER"}, "psa-b": {"AMER", "EMEA"}}, "region AMER is owned by both"),
        ("classic", {"psa-a": {"LATAM"}}, "regions must be a non-empty set of AMER, EMEA, APAC"),
        ("classic", {"psa-a": set()}, "regions must be a non-empty set"),
        ("classic", {"PSA A": {"AMER"}}, "'PSA A' is not a system name"),
        ("classic", {"bamboohr": {"AMER"}}, "two systems would share a name"),
        ("classic", {}, "psa_regions is empty"),
    ],
)
def test_a_bad_stack_fails_before_anything_starts(
    world: World, stack: str, psa_regions: dict[str, set[str]] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        SimulatorGroup(world, stack=stack, psa_regions=psa_regions)


def test_group_system_settings_are_the_gateway_systems(hubspot_stack: SimulatorGroup) -> None:
    systems = hubspot_stack.system_settings()
    assert list(systems) == ["hubspot", "psa-na", "psa-emea", "bamboohr", "netsuite"]
    assert {name: (s["vendor"], s["role"], s.get("scope")) for name, s in systems.items()} == {
        "hubspot": ("hubspot", "crm", None),
        "psa-na": ("harvest", "psa", ["AMER"]),
        "psa-emea": ("harvest", "psa", ["APAC", "EMEA"]),
        "bamboohr": ("bamboohr", "hr", None),
        "netsuite": ("netsuite", "erp", None),
    }
    netsuite = hubspot_stack.running["netsuite"]
    assert systems["netsuite"]["base_url"] == netsuite.url + "/services/rest"
    assert systems["netsuite"]["credentials"] == dict(netsuite.info.credentials)
    ports = [sim.port for sim in hubspot_stack.running.values()]
    assert len(set(ports)) == 5


def test_group_system_settings_load_as_gateway_settings(hubspot_stack: SimulatorGroup, world: World) -> None:
    """The demo's path: the group's tables pass the gateway's checks (vendors, credentials, scopes)."""
    settings = demo_settings(hubspot_stack.system_settings(), today=world.as_of)
    specs = {spec.name: spec for spec in settings.system_specs()}
    assert [(s.role, s.vendor, s.scope) for s in specs.values()] == [
        (Role.CRM, "hubspot", None),
        (Role.PSA, "harvest", frozenset({"AMER"})),
        (Role.PSA, "harvest", frozenset({"EMEA", "APAC"})),
        (Role.HR, "bamboohr", None),
        (Role.ERP, "netsuite", None),
    ]
    assert specs["psa-na"].config.base_url == hubspot_stack.running["psa-na"].url


# -- one world, two CRMs ---------------------------------------------------------------------------


def test_hubspot_stack_serves_the_world_as_companies_and_deals(
    hubspot_stack: SimulatorGroup, world: World
) -> None:
    sim = hubspot_stack.running["hubspot"]
    companies = hubspot_list(sim, "companies", "name")
    assert sorted(c["id"] for c in companies) == sorted(c.hubspot_id for c in world.clients)
    assert {c["properties"]["name"] for c in companies} == {c.name for c in world.clients}
    deals = hubspot_list(sim, "deals", "amount,engagement_code")
    by_id = {d["id"]: d["properties"] for d in deals}
    assert len(by_id) == len(world.opportunities)
    for o in world.opportunities:  # the same amounts and engagement codes as the Salesforce stack
        assert by_id[o.hubspot_id]["amount"] == str(o.amount)
        assert by_id[o.hubspot_id]["engagement_code"] == o.engagement_code


def test_world_hubspot_ids_are_the_simulators(world: World) -> None:
    """The world's HubSpot ids are the ones the HubSpot simulator derives, so the ERP's join holds."""
    assert [c.hubspot_id for c in world.clients] == [company_id(c.sf_id) for c in world.clients]
    assert [o.hubspot_id for o in world.opportunities] == [deal_id(o.sf_id) for o in world.opportunities]
    by_sf = {o.sf_id: o.hubspot_id for o in world.opportunities}
    assert all(e.hubspot_deal_id == by_sf[e.opportunity_id] for e in world.engagements)


def test_netsuite_joins_to_hubspot_in_the_hubspot_stack(hubspot_stack: SimulatorGroup, world: World) -> None:
    sim = hubspot_stack.running["netsuite"]
    customers = netsuite_rows(sim, "SELECT id, externalid FROM customer")
    assert {r["id"]: r["externalid"] for r in customers} == {
        c.ns_customer_id: c.hubspot_id for c in world.clients
    }
    jobs = netsuite_rows(sim, "SELECT entityid, externalid FROM job")
    assert {r["entityid"]: r["externalid"] for r in jobs} == {
        e.code: e.hubspot_deal_id for e in world.engagements if e.ns_job_id is not None
    }


def test_netsuite_joins_to_salesforce_in_the_classic_stack(simulators: SimulatorGroup, world: World) -> None:
    sim = simulators.running["netsuite"]
    customers = netsuite_rows(sim, "SELECT id, externalid FROM customer")
    assert {r["id"]: r["externalid"] for r in customers} == {c.ns_customer_id: c.sf_id for c in world.clients}
    jobs = netsuite_rows(sim, "SELECT entityid, externalid FROM job")
    assert {r["entityid"]: r["externalid"] for r in jobs} == {
        e.code: e.opportunity_id for e in world.engagements if e.ns_job_id is not None
    }


# -- two PSA regions -------------------------------------------------------------------------------


def test_regional_psas_split_the_world_with_no_overlap(hubspot_stack: SimulatorGroup, world: World) -> None:
    projects: Counter[int] = Counter()
    entries: Counter[int] = Counter()
    invoices: Counter[int] = Counter()
    region_of = {c.harvest_client_id: c.region for c in world.clients}
    for name, regions in PSA_REGIONS.items():
        sim = hubspot_stack.running[name]
        mine = harvest_list(sim, "projects", "projects")
        assert mine, f"{name} serves no project"
        assert {region_of[p["client"]["id"]] for p in mine} == regions
        projects.update(p["id"] for p in mine)
        entries.update(e["id"] for e in harvest_list(sim, "time_entries", "time_entries"))
        invoices.update(i["id"] for i in harvest_list(sim, "invoices", "invoices"))
        users = harvest_list(sim, "users", "users")
        assert len(users) == len(world.people)  # people are the firm's: both PSAs know everyone
    assert sorted(projects) == sorted(e.harvest_project_id for e in world.engagements)
    assert sorted(entries) == sorted(t.id for t in world.time_entries)
    assert sorted(invoices) == sorted(i.harvest_invoice_id for i in world.invoices)
    assert max(projects.values()) == max(entries.values()) == max(invoices.values()) == 1
    assert set(PSA_REGIONS["psa-na"]) | set(PSA_REGIONS["psa-emea"]) == set(REGIONS)
