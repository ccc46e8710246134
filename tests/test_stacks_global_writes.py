"""Writes on the global stack. submitTimeEntries (issue 14): time for an EMEA engagement is written to
Kantata, the PSA owning the region, not to Harvest, and once however often the mutation is repeated.
convertOpportunity (issue 15): a UK client's engagement opens in Sage Intacct, the UK entity's books. The real
gateway over the global stack's simulators (a fresh group: the test writes), writes counted at each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from test_gateway_support import serving
from test_gateway_support import settings_for as gateway_settings
from workflows_sim import TEST_TUNING

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.intacct.client import IntacctClient
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.gateway.app import create_app
from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World, firm_entity

pytest_plugins = ("workflows_support",)

LIAM = "bamboohr:184"  # active, assigned to ENG-0001: an EMEA engagement, in Kantata on this stack
SUBMIT = """mutation Submit($input: SubmitTimeEntriesInput!) { submitTimeEntries(input: $input) {
  workflow { id status steps { system status } } userErrors { field code }
  timeEntries { date hours notes engagement { code } } } }"""
LOGGED = """query($id: ID!) { node(id: $id) { ... on Engagement {
  timeEntries(from: "2026-11-23", to: "2026-11-24") { hours notes links { system } } } } }"""


@pytest.fixture
def group(world: World) -> Iterator[SimulatorGroup]:
    with SimulatorThread(world, stack="global") as running:
        yield running


@pytest.fixture
async def http(database_url: str, group: SimulatorGroup, world: World) -> AsyncIterator[httpx.AsyncClient]:
    settings = gateway_settings(
        group, world, workflows={"database_url": database_url, "poll_interval_s": 0.02}
    )
    for name in settings.systems:
        settings = settings.with_system(name, **TEST_TUNING)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        yield client


async def writes(http: httpx.AsyncClient, group: SimulatorGroup) -> dict[str, dict[str, int]]:
    """Each system's requests other than GET, by route."""
    out: dict[str, dict[str, int]] = {}
    for system, url in group.urls().items():
        routes = (await http.get(f"{url}/_sim/stats")).json()["routes"]
        out[system] = {r: v["count"] for r, v in routes.items() if not r.startswith("GET ")}
    return out


async def submit(http: httpx.AsyncClient, fields: dict[str, Any]) -> dict[str, Any]:
    body = (
        await http.post(
            "/graphql",
            json={"query": SUBMIT, "variables": {"input": fields}},
            headers={"X-API-Key": DEMO_API_KEYS["delivery"]},
        )
    ).json()
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"]["submitTimeEntries"]
    return payload


async def test_emea_time_is_written_to_kantata_once(http: httpx.AsyncClient, group: SimulatorGroup) -> None:
    eng = to_global_id("Engagement", "ENG-0001")
    fields = {
        "idempotencyKey": uuid.uuid4().hex,
        "resourceId": to_global_id("Resource", LIAM),
        "entries": [
            {"engagementId": eng, "date": "2026-11-23", "hours": 3.0},
            {"engagementId": eng, "date": "2026-11-24", "hours": 5.5, "notes": "Design review"},
        ],
    }
    before = await writes(http, group)
    first = await submit(http, fields)
    again = await submit(http, fields)  # a retry: the first result, no write
    after = await writes(http, group)

    assert first["userErrors"] == [] and first["workflow"]["status"] == "COMPLETED"
    assert [s["system"] for s in first["workflow"]["steps"]] == ["kantata"]
    assert again["workflow"]["id"] == first["workflow"]["id"]
    assert [(e["date"], e["hours"], e["engagement"]["code"]) for e in first["timeEntries"]] == [
        ("2026-11-23", 3.0, "ENG-0001"),
        ("2026-11-24", 5.5, "ENG-0001"),
    ]
    grown = {
        system: {r: n - before[system].get(r, 0) for r, n in routes.items() if n != before[system].get(r, 0)}
        for system, routes in after.items()
    }
    # the PSAs' writes (NetSuite's and Salesforce's reads are POSTs too)
    assert (grown["harvest"], grown["kantata"]) == ({}, {"POST /api/v1/time_entries.json": 1})  # one batch
    logged = (await http.post("/graphql", json={"query": LOGGED, "variables": {"id": eng}})).json()
    mine = [e for e in logged["data"]["node"]["timeEntries"] if e["notes"] in (None, "Design review")]
    assert {e["links"][0]["system"] for e in mine} == {"kantata"}


CONVERT = """mutation Convert($input: ConvertOpportunityInput!) { convertOpportunity(input: $input) {
  workflow { id status steps { name system status } } userErrors { field code } engagement { code } } }"""


async def test_a_uk_client_is_converted_into_intacct_once(
    http: httpx.AsyncClient, group: SimulatorGroup, world: World
) -> None:
    """The UK entity keeps its books in Intacct: a UK client's won opportunity gets its project there
    (its customer, which the books already hold, is upserted: unchanged, so not written), not in
    NetSuite; a repeat of the mutation writes nothing more."""
    opp = next(
        o
        for o in world.opportunities
        if o.is_won
        and o.engagement_code
        and firm_entity(next(c for c in world.clients if c.sf_id == o.account_id)) == "UK"
    )
    tables = group.system_settings()
    config = {k: tables["salesforce"][k] for k in ("base_url", "credentials")}
    crm = SalesforceClient(SourceConfig(**config), system="salesforce")
    try:
        await crm.update("Opportunity", opp.sf_id, {"Engagement_Code__c": None})  # won, not yet converted
    finally:
        await crm.close()
    code = f"UK-{uuid.uuid4().hex[:6].upper()}"
    fields = {
        "idempotencyKey": uuid.uuid4().hex,
        "opportunityId": to_global_id("Opportunity", f"salesforce:{opp.sf_id}"),
        "engagementCode": code,
    }
    intacct = group.urls()["intacct"]
    before = (await http.post(f"{intacct}/_sim/events", json={"type": "write_counts"})).json()
    ns_before = await writes(http, group)

    async def convert() -> dict[str, Any]:
        body = (
            await http.post(
                "/graphql",
                json={"query": CONVERT, "variables": {"input": fields}},
                headers={"X-API-Key": DEMO_API_KEYS["delivery"]},
            )
        ).json()
        assert "errors" not in body, body["errors"]
        payload: dict[str, Any] = body["data"]["convertOpportunity"]
        return payload

    first = await convert()
    again = await convert()
    after = (await http.post(f"{intacct}/_sim/events", json={"type": "write_counts"})).json()
    ns_after = await writes(http, group)

    assert first["userErrors"] == [] and first["workflow"]["status"] == "COMPLETED", first
    steps = [(s["name"], s["system"]) for s in first["workflow"]["steps"]]
    assert steps[:3] == [("erp-customer", "intacct"), ("erp-job", "intacct"), ("psa-engagement", "kantata")]
    assert again["workflow"]["id"] == first["workflow"]["id"] and first["engagement"] == {"code": code}
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        "create PROJECT": 1
    }
    record_writes = [  # NetSuite's REST record API (SuiteQL and token requests are POSTs too)
        route
        for route, n in ns_after["netsuite"].items()
        if "/record/" in route and n != ns_before["netsuite"].get(route, 0)
    ]
    assert record_writes == [], record_writes
    tables = group.system_settings()["intacct"]
    books = IntacctClient(
        SourceConfig(base_url=tables["base_url"], credentials=tables["credentials"]), system="intacct"
    )
    try:
        job = (await books.jobs_by_codes([code]))[code]
        customer = (await books.customers_by_client_ids([opp.account_id]))[opp.account_id]
        projects = await books.query("PROJECT", ("RECORDNO",), f"PROJECTID = '{code}'")
    finally:
        await books.close()
    assert len(projects) == 1
    assert (job.customer_id, job.opportunity_id, job.is_inactive) == (customer.id, opp.sf_id, False)
    assert customer.currency == "GBP"
