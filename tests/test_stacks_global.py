"""The `global` stack (issues 14, 15): Harvest holds North America's delivery records, Kantata EMEA's and
APAC's; NetSuite keeps the US entity's books, Sage Intacct the UK entity's; in one graph. Over the same
world it gives the classic stack's business answers; a region filter reads only the system owning the
region; upstream requests do not grow with the records asked for; a Kantata outage nulls only the
international fields, naming the system, and NA data arrives.

Record ids differ by design (Kantata's own ids); the time entry ids the answers list are mapped back to
the world's to compare them, so every figure, name, status and list must match exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from stack_answers import (
    PORTFOLIO,
    READINESS,
    RECONCILIATION,
    UTILIZATION,
    StackGateway,
    business,
    differences,
    stack_gateway,
)
from test_stacks_answers import MONTH, unposted_months

from opsgraph.schema.relay import from_global_id, to_global_id
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World
from simulators.world.psa_ids import kantata_time_entry_id, kantata_user_id, kantata_workspace_id

Gateways = dict[str, StackGateway]
ALL = 500
INTERNATIONAL = {"EMEA", "APAC"}
HARVEST, KANTATA = "harvest", "kantata"
NETSUITE, INTACCT = "netsuite", "intacct"


@pytest.fixture(scope="module")
def global_stack(world: World) -> Iterator[SimulatorGroup]:
    """The global stack over the session's world: Salesforce, Harvest (AMER), Kantata (EMEA, APAC),
    BambooHR, NetSuite."""
    with SimulatorThread(world, stack="global") as group:
        yield group


@pytest.fixture
async def gateways(
    simulators: SimulatorGroup, global_stack: SimulatorGroup, world: World
) -> AsyncIterator[Gateways]:
    async with (
        stack_gateway("classic", simulators, world) as classic,
        stack_gateway("global", global_stack, world) as global_,
    ):
        for gateway in (classic, global_):
            await gateway.data(PORTFOLIO, {"first": 1})
        yield {"classic": classic, "global": global_}


def world_ids(world: World) -> dict[str, str]:
    """Kantata's ids of time entries, users and workspaces -> the world's (Harvest's) ids."""
    out = {kantata_time_entry_id(t): str(t.id) for t in world.time_entries}
    out.update({kantata_user_id(p): str(p.harvest_user_id) for p in world.people})
    out.update({kantata_workspace_id(e): str(e.harvest_project_id) for e in world.engagements})
    return out


def as_classic(value: Any, ids: dict[str, str]) -> Any:
    """A global answer in the classic stack's terms: a PSA record named by the world's id in the one
    PSA system the classic stack has, an ERP record in its one ERP (Intacct's record numbers are the
    world's ERP numbers, as NetSuite's are)."""
    if isinstance(value, dict):
        out = {k: as_classic(v, ids) for k, v in value.items()}
        if out.get("role") == "ERP" and out.get("system") == INTACCT:
            out.update(system=NETSUITE, vendor=NETSUITE)
        if out.get("role") == "PSA" and out.get("system") in (HARVEST, KANTATA):
            out.update(system=HARVEST, vendor=HARVEST)
            if isinstance(out.get("recordId"), str):
                out["recordId"] = ids.get(out["recordId"], out["recordId"])
        for key in ("unpostedEntryIds", "entryIds"):
            if isinstance(out.get(key), list):
                out[key] = sorted(classic_entry(i, ids) for i in out[key])
        return out
    if isinstance(value, list):
        return [as_classic(v, ids) for v in value]
    return value


def classic_entry(global_id: str, ids: dict[str, str]) -> str:
    """A time entry's global id (`TimeEntry:kantata:600000001`) as the classic stack's."""
    kind, key = from_global_id(global_id)
    system, _, local = key.partition(":")
    if system == KANTATA:
        system, local = HARVEST, ids[local]
    return to_global_id(kind, f"{system}:{local}")


async def same_answer(
    gateways: Gateways, world: World, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    classic = await gateways["classic"].data(query, variables)
    global_ = as_classic(await gateways["global"].data(query, variables), world_ids(world))
    classic = as_classic(classic, {})
    assert differences(business(classic), business(global_)) == [], "left: classic, right: global"
    return classic


async def test_portfolio_is_the_same_on_the_global_stack(gateways: Gateways, world: World) -> None:
    classic = await same_answer(gateways, world, PORTFOLIO, {"first": ALL})
    clients = classic["clients"]["nodes"]
    assert len(clients) == len(world.clients)
    engagements = [e for c in clients for e in c["engagements"]]
    assert len(engagements) == len(world.engagements)
    assert {c["currency"] for c in clients if c["region"] == "EMEA"} >= {"EUR", "GBP"}
    assert sum(e["burn"]["hoursUsed"] for c in clients if c["region"] == "EMEA" for e in c["engagements"]) > 0


async def test_invoice_readiness_is_the_same_on_the_global_stack(gateways: Gateways, world: World) -> None:
    rows = (await same_answer(gateways, world, READINESS))["invoiceReadiness"]
    currencies = {r["amount"]["currency"] for r in rows if r["ready"] and r["amount"]}
    assert len(rows) >= 10 and currencies >= {"USD", "EUR"}


async def test_utilization_is_the_same_on_the_global_stack(gateways: Gateways, world: World) -> None:
    rows = (await same_answer(gateways, world, UTILIZATION, MONTH))["utilization"]
    assert len(rows) == len(world.people)
    assert sum(r["billableHours"] for r in rows) > 0


async def test_reconciliation_is_the_same_on_the_global_stack(gateways: Gateways, world: World) -> None:
    report = (await same_answer(gateways, world, RECONCILIATION, unposted_months(world)))["reconciliation"]
    unposted = sum(r["unpostedEntryCount"] for r in report["mismatches"])
    assert unposted == len(world.drift.unposted_entry_ids) > 0


# -- routing by region, request counts, a Kantata fault ------------------------------------------------

ENGAGEMENTS = """query($region: String, $first: Int) { engagements(first: $first, filter: {region: $region}) {
  totalCount nodes { code client { region } assignments { id } burn { hoursUsed }
  timeEntries(from: "2026-10-01", to: "2026-10-31") { hours } } } }"""
CLIENTS = """{ clients(first: 500) { nodes { name region engagements { code budgetHours } } } }"""


def requests_by_system(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    return {system: sum(routes.values()) for system, routes in counts.items()}


@pytest.mark.parametrize(
    ("region", "owner", "other"), [("EMEA", KANTATA, HARVEST), ("AMER", HARVEST, KANTATA)]
)
async def test_a_region_filter_reads_only_its_system(
    gateways: Gateways, world: World, region: str, owner: str, other: str
) -> None:
    data, counts = await gateways["global"].measure(ENGAGEMENTS, {"region": region, "first": 100})
    codes = {e.code for e in world.engagements if e.client.region == region}
    assert {n["code"] for n in data["engagements"]["nodes"]} == codes
    assert {n["client"]["region"] for n in data["engagements"]["nodes"]} == {region}
    requests = requests_by_system(counts)
    assert requests[owner] > 0
    assert requests[other] == 0, counts[other]


JOINED = """query($region: String) { clients(first: 500, filter: {region: $region}) { nodes {
  opportunities { engagementCode engagement { code } } invoices { engagement { code } } } } }"""


@pytest.mark.parametrize(
    ("region", "owner", "other"), [("AMER", HARVEST, KANTATA), ("EMEA", KANTATA, HARVEST)]
)
async def test_engagements_joined_by_code_are_read_from_the_owning_system_only(
    gateways: Gateways, world: World, region: str, owner: str, other: str
) -> None:
    """An opportunity's and an invoice's engagement (joined by code, through the ERP job for an invoice)
    are looked up in the PSA owning their client's region: an NA-only query never asks Kantata."""
    data, counts = await gateways["global"].measure(JOINED, {"region": region})
    nodes = data["clients"]["nodes"]
    codes = {e.code for e in world.engagements if e.client.region == region}
    opportunities = [o for n in nodes for o in n["opportunities"] if o["engagementCode"] in codes]
    invoiced = [i["engagement"]["code"] for n in nodes for i in n["invoices"] if i["engagement"]]
    assert len(opportunities) == len(codes)
    assert all(o["engagement"] == {"code": o["engagementCode"]} for o in opportunities)
    assert invoiced and set(invoiced) <= codes
    requests = requests_by_system(counts)
    assert requests[owner] > 0
    assert requests[other] == 0, counts[other]


async def test_upstream_requests_do_not_grow_with_the_records_asked_for(gateways: Gateways) -> None:
    """3 engagements or 20, with their client, assignments and a month of time: the same requests.
    (Burn is left out: how many year windows it reads depends on the oldest engagement's start.)"""
    query = ENGAGEMENTS.replace(" burn { hoursUsed }", "")
    few_data, few = await gateways["global"].measure(query, {"region": "EMEA", "first": 3})
    many_data, many = await gateways["global"].measure(query, {"region": "EMEA", "first": 20})
    assert len(few_data["engagements"]["nodes"]) == 3 and len(many_data["engagements"]["nodes"]) == 20
    assert requests_by_system(many) == requests_by_system(few), (few["kantata"], many["kantata"])


STITCHED = """query($first: Int) { clients(first: $first) { nodes { name region opportunities { engagement {
  code assignments { id } timeEntries(from: "2026-10-01", to: "2026-10-31") { hours } } } } } }"""


async def test_upstream_requests_do_not_grow_with_the_clients_across_both_psas(gateways: Gateways) -> None:
    """5 clients or all of them, every region, each with its opportunities' engagements (from both
    PSAs), their assignments and a month of their time: the same requests per system."""
    few_data, few = await gateways["global"].measure(STITCHED, {"first": 5})
    all_data, every = await gateways["global"].measure(STITCHED, {"first": ALL})
    assert len(few_data["clients"]["nodes"]) == 5 < len(all_data["clients"]["nodes"])
    assert {n["region"] for n in all_data["clients"]["nodes"]} >= {"AMER", "EMEA", "APAC"}
    engagements = [o["engagement"] for n in all_data["clients"]["nodes"] for o in n["opportunities"]]
    assert sum(1 for e in engagements if e and e["timeEntries"]) > 20
    assert requests_by_system(every) == requests_by_system(few), (few, every)


async def test_a_kantata_outage_nulls_only_the_international_fields(
    gateways: Gateways, global_stack: SimulatorGroup, world: World
) -> None:
    gateway = gateways["global"]
    url = global_stack.urls()[KANTATA]
    (await gateway.http.put(f"{url}/_sim/faults", json={"outage": True})).raise_for_status()
    try:
        response = await gateway.http.post("/graphql", json={"query": CLIENTS})
    finally:
        (await gateway.http.put(f"{url}/_sim/faults", json={"outage": False})).raise_for_status()
    body = response.json()
    assert response.status_code == 200
    nodes = body["data"]["clients"]["nodes"]
    assert len(nodes) == len(world.clients)
    international = [i for i, n in enumerate(nodes) if n["region"] in INTERNATIONAL]
    for i, node in enumerate(nodes):
        if i in international:
            assert node["engagements"] is None, node
        else:
            expected = {e.code for e in world.engagements if e.client.name == node["name"]}
            assert {e["code"] for e in node["engagements"]} == expected
    assert international and body["errors"]
    paths = [p for e in body["errors"] for p in e["extensions"].get("paths", [e["path"]])]
    assert all(p[-1] == "engagements" and p[2] in international for p in paths), paths
    for error in body["errors"]:
        assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
        assert error["extensions"]["system"] == KANTATA


FORECAST = """{ forecast(from: "2026-06-01", to: "2027-01-31") { periods { start end
  actualRevenue { amount currency originals { amount currency } }
  approvedUnbilled { amount currency originals { amount currency } }
  backlog { amount currency originals { amount currency } } capacityHours demandHours } } }"""


async def test_the_forecast_is_the_same_on_the_global_stack(gateways: Gateways, world: World) -> None:
    """Both ERPs' invoices and jobs, GBP converted at the consolidated rates: the classic figures;
    capacity counts each person once, however many PSAs know them."""
    periods = (await same_answer(gateways, world, FORECAST))["forecast"]["periods"]
    originals = {
        m["currency"] for p in periods if p["actualRevenue"] for m in p["actualRevenue"]["originals"]
    }
    assert (
        "GBP" in originals
        and sum(float(p["actualRevenue"]["amount"]) for p in periods if p["actualRevenue"]) > 0
    )
