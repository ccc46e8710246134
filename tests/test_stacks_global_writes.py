"""Writes on the global stack. submitTimeEntries and prepareInvoice (issue 14): time for an EMEA
engagement is written to Kantata, the PSA owning the region, not to Harvest, and its billed time is marked
invoiced in Kantata; each once however often the mutation is repeated, and a resumed step writes nothing
again; a conversion failing between Kantata's two writes archives the workspace it opened.
convertOpportunity (issue 15): a UK client's engagement opens in Sage Intacct, the UK entity's books. The
real gateway over the global stack's simulators (a fresh group: the tests write), writes counted at each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import httpx
import pytest
from test_gateway_support import serving
from test_gateway_support import settings_for as gateway_settings
from workflows_sim import TEST_TUNING

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.intacct.client import IntacctClient
from opsgraph.connectors.kantata.client import KantataClient
from opsgraph.connectors.kantata.resources import WORKSPACES
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.gateway.app import create_app
from opsgraph.gateway.settings import Settings
from opsgraph.resolvers.sources import Sources
from opsgraph.roles import PsaPort
from opsgraph.schema.relay import from_global_id, to_global_id
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
def settings(database_url: str, group: SimulatorGroup, world: World) -> Settings:
    found = gateway_settings(group, world, workflows={"database_url": database_url, "poll_interval_s": 0.02})
    for name in found.systems:
        found = found.with_system(name, **TEST_TUNING)
    return found


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        yield client


async def writes(http: httpx.AsyncClient, group: SimulatorGroup) -> dict[str, dict[str, int]]:
    """Each system's requests other than GET, by route."""
    out: dict[str, dict[str, int]] = {}
    for system, url in group.urls().items():
        routes = (await http.get(f"{url}/_sim/stats")).json()["routes"]
        out[system] = {r: v["count"] for r, v in routes.items() if not r.startswith("GET ")}
    return out


def grown(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The routes whose counts moved, by how much, per system."""
    return {
        system: {r: n - before[system].get(r, 0) for r, n in routes.items() if n != before[system].get(r, 0)}
        for system, routes in after.items()
    }


async def mutate(
    http: httpx.AsyncClient, query: str, field: str, fields: dict[str, Any], role: str
) -> dict[str, Any]:
    body = (
        await http.post(
            "/graphql",
            json={"query": query, "variables": {"input": fields}},
            headers={"X-API-Key": DEMO_API_KEYS[role]},
        )
    ).json()
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"][field]
    return payload


async def submit(http: httpx.AsyncClient, fields: dict[str, Any]) -> dict[str, Any]:
    return await mutate(http, SUBMIT, "submitTimeEntries", fields, "delivery")


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
    moved = grown(before, after)
    # the PSAs' writes (NetSuite's and Salesforce's reads are POSTs too)
    assert (moved["harvest"], moved["kantata"]) == ({}, {"POST /api/v1/time_entries.json": 1})  # one batch
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


EMEA_TM = "ENG-0045"  # a UK client's (books in Intacct), time and materials, ready for October: 33397.50 GBP
PREPARE = """mutation Prepare($input: PrepareInvoiceInput!) { prepareInvoice(input: $input) {
  workflow { id status steps { name system status } } userErrors { field code }
  invoice { total { amount currency } } timeEntries { id status } } }"""
KANTATA_INVOICES = "POST /api/v1/invoices.json"


async def test_an_emea_invoice_marks_its_time_invoiced_in_kantata_once(
    http: httpx.AsyncClient, group: SimulatorGroup, settings: Settings
) -> None:
    fields = {
        "idempotencyKey": uuid.uuid4().hex,
        "engagementId": to_global_id("Engagement", EMEA_TM),
        "from": "2026-10-01",
        "to": "2026-10-31",
    }
    before = await writes(http, group)
    first = await mutate(http, PREPARE, "prepareInvoice", fields, "finance")
    again = await mutate(http, PREPARE, "prepareInvoice", fields, "finance")  # a retry: no write
    after = await writes(http, group)

    assert first["userErrors"] == [] and first["workflow"]["status"] == "COMPLETED"
    steps = [(s["name"], s["system"]) for s in first["workflow"]["steps"]]
    assert steps == [("erp-invoice", "intacct"), ("psa-billed", "kantata")]
    assert again["workflow"]["id"] == first["workflow"]["id"]
    assert first["invoice"]["total"] == {"amount": "33397.50", "currency": "GBP"}
    entries = first["timeEntries"]
    assert entries and {e["status"] for e in entries} == {"BILLED"}
    moved = grown(before, after)
    assert (moved["harvest"], moved["kantata"]) == ({}, {KANTATA_INVOICES: 1})  # one Kantata invoice
    assert not any(route.startswith(("PUT", "DELETE")) for route in moved["netsuite"])  # not NetSuite's

    # the PSA step resumed (a process that died after the write, before recording it): nothing written
    sources = Sources.from_specs(settings.system_specs())
    try:
        ids = [from_global_id(e["id"], "TimeEntry")[1].partition(":")[2] for e in entries]
        invoice = sources.ref("intacct", "resumed")
        key = f"{first['workflow']['id']}/psa-billed"
        await cast(PsaPort, sources.port("kantata")).mark_time_entries_billed(
            ids, invoice, idempotency_key=key
        )
    finally:
        await sources.close()
    assert grown(after, await writes(http, group))["kantata"] == {}


HOOLI_OPP = "salesforce:0065g00000001KVAAY"  # closed-won, no engagement code; its client is in EMEA
CONVERT_PART_WAY = """mutation Convert($input: ConvertOpportunityInput!) { convertOpportunity(input: $input) {
  workflow { status failingStep steps { name system status compensated } } userErrors { code } } }"""


async def test_an_emea_conversion_failing_between_the_workspace_and_its_code_archives_the_workspace(
    http: httpx.AsyncClient, group: SimulatorGroup, settings: Settings
) -> None:
    """Kantata opens an engagement in two writes (the workspace, then its code): when the second fails,
    the compensation finds the workspace by the step's key (no code finds it) and archives it."""
    kantata = group.urls()["kantata"]
    sources = Sources.from_specs(settings.system_specs())
    client = cast(KantataClient, sources.system("kantata").client)

    async def opened() -> list[bool]:
        pages = await client.pages(WORKSPACES, {"include_archived": "true"})
        named = [
            w for page in pages for w in page["workspaces"].values() if w["title"] == "Hooli EMEA rollout"
        ]
        return [w["archived"] for w in named]

    fields = {
        "idempotencyKey": uuid.uuid4().hex,
        "opportunityId": to_global_id("Opportunity", HOOLI_OPP),
        "engagementCode": "ENG-9101",
        "engagementName": "Hooli EMEA rollout",
    }
    try:
        assert await opened() == []
        fault = {"error_rate": 1.0, "methods": ["POST"], "after": 1}  # the workspace passes, its code fails
        (await http.put(f"{kantata}/_sim/faults", json=fault)).raise_for_status()
        payload = await mutate(http, CONVERT_PART_WAY, "convertOpportunity", fields, "delivery")
        (await http.put(f"{kantata}/_sim/faults", json={"error_rate": 0, "methods": None})).raise_for_status()
        workflow = payload["workflow"]
        assert (workflow["status"], workflow["failingStep"]) == ("COMPENSATED", "psa-engagement")
        steps = [(s["name"], s["system"], s["compensated"]) for s in workflow["steps"]]
        assert steps[:3] == [
            ("erp-customer", "netsuite", True),
            ("erp-job", "netsuite", True),
            ("psa-engagement", "kantata", True),
        ]
        assert await opened() == [True]  # one workspace, archived
    finally:
        await sources.close()
