"""convertOpportunity: the kits' writes against their simulators, and the mutation through the gateway
over HTTP (SQLite and PostgreSQL stores). These tests create customers, jobs and projects, so they run
on simulators of their own, not the shared ones."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_gateway_support import serving
from test_gateway_support import settings_for as gateway_settings
from workflows_sim import ERP, PSA, TEST_TUNING, Admins, erp_client, psa_client

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.connectors.errors import SourceRejected
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.gateway.app import create_app
from opsgraph.model import BillingModel, Money, Role, SourceRef, record_key
from opsgraph.resolvers.sources import Sources
from opsgraph.roles.drafts import AssignmentDraft, CustomerDraft, EngagementDraft, JobDraft
from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World

pytest_plugins = ("workflows_support",)

CRM = "salesforce"
INITECH_OPP = "0065g00000001KLAAY"  # closed-won, time and materials, no engagement code; client in AMER
HOOLI_OPP = "0065g00000001KVAAY"  # closed-won, time and materials, no engagement code; client in EMEA
ERP_WRITES = ("PUT /services/rest/record/v1/{rtype}/{rid}", "PATCH /services/rest/record/v1/{rtype}/{rid}")
PSA_WRITES = (
    "POST /v2/projects",
    "PATCH /v2/projects/{id:int}",
    "POST /v2/clients",
    "POST /v2/projects/{id:int}/user_assignments",
)
CRM_WRITES = ("PATCH /services/data/v60.0/sobjects/{sobject}/{record_id}",)
ALL_WRITES = {ERP: ERP_WRITES, PSA: PSA_WRITES, CRM: CRM_WRITES}

CONVERT = """mutation Convert($input: ConvertOpportunityInput!) {
  convertOpportunity(input: $input) {
    workflow { id kind status error failingStep steps { name system status attempts compensated } }
    userErrors { field message code }
    engagement { code name status }
  }
}"""
INITECH_OPS = "Initech Holdings - Operations"
WON = "query Won { opportunities(filter: {isWon: true}, first: 500) { nodes { id name } } }"
OPPORTUNITY = "query Opp($id: ID!) { node(id: $id) { ... on Opportunity { engagement { code name } } } }"


@pytest.fixture
async def admins(own_simulators: SimulatorGroup) -> AsyncIterator[Admins]:
    found = Admins(own_simulators)
    await found.reset()
    yield found
    await found.reset()


def code() -> str:
    return f"WF-{uuid.uuid4().hex[:8].upper()}"


def ref(system: str, role: Role, vendor: str, record_id: str) -> SourceRef:
    return SourceRef(system=system, role=role, vendor=vendor, id=record_id)


# -- the kits' writes -----------------------------------------------------------------------------


async def test_the_erp_upserts_customer_and_job_and_deactivates_the_job(
    sources: Sources, admins: Admins
) -> None:
    erp = erp_client(sources)
    client = ref(CRM, Role.CRM, "salesforce", f"001WF{uuid.uuid4().hex[:10]}")
    draft = CustomerDraft(
        client=client, name=f"Client {client.id}", legal_entity="Client LLC", currency="USD"
    )

    first = await erp.upsert_customer(draft, idempotency_key="a")
    again = await erp.upsert_customer(draft.model_copy(update={"name": "Renamed"}), idempotency_key="b")

    assert again.id == first.id and again.client_id == client.id and again.name == "Renamed"
    assert (first.legal_entity, first.currency) == ("Client LLC", "USD")
    job_code = code()
    opportunity = ref(CRM, Role.CRM, "salesforce", f"006WF{uuid.uuid4().hex[:10]}")
    job_draft = JobDraft(
        code=job_code,
        name="A job",
        customer_id=first.id,
        opportunity=opportunity,
        billing_model=BillingModel.FIXED_FEE,
        contract_value=Money.of("1200.50", "USD"),
    )
    job = await erp.create_job(job_draft, idempotency_key="c")
    assert (await erp.create_job(job_draft, idempotency_key="d")).id == job.id
    assert (job.code, job.customer_id, job.opportunity_id, job.billing_model) == (
        job_code,
        first.id,
        opportunity.id,
        BillingModel.FIXED_FEE,
    )
    assert job.contract_value == Money.of("1200.50", "USD") and not job.is_inactive

    other = job_draft.model_copy(update={"opportunity": ref(CRM, Role.CRM, "salesforce", "006WFother00")})
    with pytest.raises(SourceRejected) as refused:
        await erp.create_job(other, idempotency_key="e")
    assert (refused.value.status, refused.value.vendor_code) == (400, "USER_ERROR")

    await erp.deactivate_job(job.id, idempotency_key="f")
    await erp.deactivate_job(job.id, idempotency_key="g")  # absolute: a repeat is harmless
    assert (await erp.jobs_by_codes([job_code]))[job_code].is_inactive
    assert await admins.writes(ERP, ERP_WRITES) == 2 + 3 + 2  # the refused upsert counts as a request


async def test_the_psa_opens_a_project_once_assigns_once_and_archives(
    sources: Sources, admins: Admins, own_simulators: SimulatorGroup
) -> None:
    psa = psa_client(sources)
    project_code = code()
    draft = EngagementDraft(
        code=project_code,
        name="New work",
        client=ref(CRM, Role.CRM, "salesforce", "001WFnew0001"),
        client_name=f"New client {project_code}",
        budget_hours=120,
        hourly_rate="180",
    )

    made = await psa.create_engagement(draft, idempotency_key="a")
    again = await psa.create_engagement(draft, idempotency_key="b")

    assert again.id == made.id and (made.code, made.name, made.is_active) == (project_code, "New work", True)
    assert made.budget_hours == 120 and made.billing_model is BillingModel.TIME_AND_MATERIALS
    assert await admins.writes(PSA, ("POST /v2/projects",)) == 1
    assert await admins.writes(PSA, ("POST /v2/clients",)) == 1  # the client was new
    user = (await psa.list_users())[0]
    people = [AssignmentDraft(user_id=user.id, hourly_rate="200", budget_hours=40)]
    first = await psa.assign(made.id, people, idempotency_key="c")
    second = await psa.assign(made.id, people, idempotency_key="d")
    assert [a.user_id for a in first] == [user.id] and [a.id for a in second] == [a.id for a in first]
    assert await admins.writes(PSA, ("POST /v2/projects/{id:int}/user_assignments",)) == 1

    await psa.archive_engagement(made.id, idempotency_key="e")
    assert not (await psa.engagements_by_codes([project_code]))[project_code].is_active
    # Harvest's own refusal of a second client with one name, in its wire format.
    url = own_simulators.running[PSA].url
    async with httpx.AsyncClient(base_url=url) as http:
        headers = {"Authorization": "Bearer sim-harvest-token", "Harvest-Account-Id": "1121001"}
        taken = await http.post("/v2/clients", json={"name": draft.client_name}, headers=headers)
        blank = await http.post("/v2/clients", json={"name": ""}, headers=headers)
    assert (taken.status_code, taken.json()) == (422, {"message": "Name has already been taken"})
    assert (blank.status_code, blank.json()) == (422, {"message": "Name can't be blank"})


async def test_the_crm_writes_the_engagement_code_back(sources: Sources, admins: Admins) -> None:
    crm = sources.system(CRM).client
    assert isinstance(crm, SalesforceClient)
    opportunity = (await crm.list_opportunities())[0]
    before = opportunity.engagement_code
    try:
        await crm.set_engagement_code(opportunity.id, "WF-CODE-1", idempotency_key="a")
        assert (await crm.opportunities_by_ids([opportunity.id]))[
            opportunity.id
        ].engagement_code == "WF-CODE-1"
    finally:
        await crm.update("Opportunity", opportunity.id, {"Engagement_Code__c": before})
    assert await admins.writes(CRM, CRM_WRITES) == 2


# -- the mutation through the gateway -------------------------------------------------------------


class Graph:
    """Calls the gateway as `delivery`, a role the policy lets convert opportunities."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def run(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=DELIVERY
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def convert(self, **fields: Any) -> dict[str, Any]:
        body = await self.run(CONVERT, input=convert_input(**fields))
        assert "errors" not in body, body["errors"]
        payload: dict[str, Any] = body["data"]["convertOpportunity"]
        return payload


DELIVERY = {"X-API-Key": DEMO_API_KEYS["delivery"]}


def convert_input(**fields: Any) -> dict[str, Any]:
    base = {
        "idempotencyKey": uuid.uuid4().hex,
        "opportunityId": to_global_id("Opportunity", record_key(CRM, INITECH_OPP)),
        "engagementCode": code(),
    }
    return {**base, **fields}


@pytest.fixture
async def graph(
    database_url: str, own_simulators: SimulatorGroup, world: World, admins: Admins
) -> AsyncIterator[Graph]:
    settings = gateway_settings(
        own_simulators, world, workflows={"database_url": database_url, "poll_interval_s": 0.02}
    )
    for name in settings.systems:
        settings = settings.with_system(name, **TEST_TUNING)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield Graph(http)


async def _undo_conversion(sources: Sources, opportunity: str) -> None:
    """Put the opportunity back as it was (the world's), so the next test can convert it again."""
    crm = sources.system(CRM).client
    assert isinstance(crm, SalesforceClient)
    await crm.update("Opportunity", opportunity, {"Engagement_Code__c": None})


async def test_convert_opportunity_writes_each_system_once_and_shows_the_engagement(
    graph: Graph, admins: Admins, sources: Sources
) -> None:
    person = (await psa_client(sources).list_users())[0]
    fields = convert_input(
        engagementName="Initech operations",
        budgetHours=300,
        people=[{"email": person.email, "budgetHours": 80}],
    )
    try:
        payload = await graph.convert(**fields)
        again = await graph.convert(**fields)  # a retry: the first result, no write
        shown = await graph.run(OPPORTUNITY, id=fields["opportunityId"])
    finally:
        await _undo_conversion(sources, INITECH_OPP)

    workflow = payload["workflow"]
    assert payload["userErrors"] == [] and workflow["status"] == "COMPLETED"
    assert [(s["name"], s["system"], s["status"]) for s in workflow["steps"]] == [
        ("erp-customer", ERP, "COMPLETED"),
        ("erp-job", ERP, "COMPLETED"),
        ("psa-engagement", PSA, "COMPLETED"),
        ("psa-assign", PSA, "COMPLETED"),
        ("crm-code", CRM, "COMPLETED"),
    ]
    assert payload["engagement"] == {
        "code": fields["engagementCode"],
        "name": "Initech operations",
        "status": "ACTIVE",
    }
    assert again["workflow"]["id"] == workflow["id"]
    assert shown["data"]["node"]["engagement"] == {
        "code": fields["engagementCode"],
        "name": "Initech operations",
    }
    # customer upsert, job upsert; project (client found by name); one assignment; the code
    assert await admins.writes(ERP, ERP_WRITES) == 2
    assert await admins.writes(PSA, PSA_WRITES) == 2
    assert await admins.writes(CRM, CRM_WRITES) == 1 + 1  # the code, and this test taking it back
    job = (await erp_client(sources).jobs_by_codes([fields["engagementCode"]]))[fields["engagementCode"]]
    assert (job.opportunity_id, job.is_inactive, job.name) == (INITECH_OPP, False, "Initech operations")
    project = (await psa_client(sources).engagements_by_codes([job.code]))[job.code]
    assigned = (await psa_client(sources).assignments_by_engagement_ids([project.id]))[project.id]
    assert [(a.user_id, a.budget_hours) for a in assigned] == [(person.id, 80)]


@pytest.mark.parametrize(
    ("fields", "path", "code"),
    [
        ({"engagementCode": "ENG-0001"}, ["input", "engagementCode"], "CODE_TAKEN"),  # PSA and ERP
        ({"people": [{"email": "nobody@example.com"}]}, ["input", "people", "0", "email"], "UNKNOWN_PERSON"),
        (
            {"opportunityId": to_global_id("Opportunity", record_key(CRM, "0065g00000009ZZAAY"))},
            ["input", "opportunityId"],
            "NOT_FOUND",
        ),
        ({"engagementCode": "has space"}, ["input", "engagementCode"], "BAD_USER_INPUT"),
    ],
)
async def test_a_refused_conversion_is_a_user_error_and_writes_nothing(
    graph: Graph, admins: Admins, fields: dict[str, Any], path: list[str], code: str
) -> None:
    payload = await graph.convert(**convert_input(**fields))

    assert payload["workflow"] is None
    assert {(tuple(e["field"]), e["code"]) for e in payload["userErrors"]} == {(tuple(path), code)}
    assert sum((await admins.writes_by_system(ALL_WRITES)).values()) == 0


async def test_a_failing_code_write_back_undoes_the_job_and_the_project(
    graph: Graph, admins: Admins, sources: Sources
) -> None:
    await admins.by_system[CRM].faults(error_rate=1.0, methods=["PATCH"])
    fields = convert_input(opportunityId=to_global_id("Opportunity", record_key(CRM, HOOLI_OPP)))

    payload = await graph.convert(**fields)

    workflow = payload["workflow"]
    assert workflow["status"] == "COMPENSATED" and workflow["failingStep"] == "crm-code"
    assert workflow["error"].startswith("SOURCE_UNAVAILABLE: System salesforce is unavailable")
    assert [(s["name"], s["status"], s["compensated"]) for s in workflow["steps"]] == [
        ("erp-customer", "COMPENSATED", True),
        ("erp-job", "COMPENSATED", True),
        ("psa-engagement", "COMPENSATED", True),
        ("crm-code", "FAILED", True),
    ]
    engagement_code = fields["engagementCode"]
    assert (await erp_client(sources).jobs_by_codes([engagement_code]))[engagement_code].is_inactive
    assert not (await psa_client(sources).engagements_by_codes([engagement_code]))[engagement_code].is_active
    assert payload["engagement"] == {
        "code": engagement_code,
        "name": "Hooli Holdings - Technology",
        "status": "COMPLETED",
    }


async def test_convert_opportunity_on_the_hubspot_stack(world: World, tmp_path: Path) -> None:
    """Roles, not vendors: the same mutation converts a HubSpot deal (its company id the ERP
    customer's external id), and the graph shows the deal's engagement at once."""
    with SimulatorThread(world, stack="hubspot") as group:
        settings = gateway_settings(
            group, world, workflows={"data_dir": str(tmp_path), "poll_interval_s": 0.02}
        )
        for name in settings.systems:
            settings = settings.with_system(name, **TEST_TUNING)
        async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            graph = Graph(http)
            won = await graph.run(WON)
            deal = next(o for o in won["data"]["opportunities"]["nodes"] if o["name"] == INITECH_OPS)
            engagement_code = code()

            payload = await graph.convert(opportunityId=deal["id"], engagementCode=engagement_code)
            shown = await graph.run(OPPORTUNITY, id=deal["id"])

    workflow = payload["workflow"]
    assert payload["userErrors"] == [] and workflow["status"] == "COMPLETED"
    assert [(s["name"], s["system"]) for s in workflow["steps"]] == [
        ("erp-customer", ERP),
        ("erp-job", ERP),
        ("psa-engagement", PSA),
        ("crm-code", "hubspot"),
    ]
    assert shown["data"]["node"]["engagement"] == {"code": engagement_code, "name": INITECH_OPS}
