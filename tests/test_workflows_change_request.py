"""applyChangeRequest: the mutation through the gateway over HTTP and the engine alone (SQLite and
PostgreSQL stores), Salesforce, Harvest and NetSuite simulators over real sockets, writes counted at
each. These tests change an engagement's values, so they run on simulators of their own and put the
values back after each test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, cast

import httpx
import pytest
from test_gateway_support import serving
from test_gateway_support import settings_for as gateway_settings
from workflows_sim import ERP, PSA, TEST_TUNING, Admins, erp_client, psa_client, settings_for

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.gateway.app import create_app
from opsgraph.model import Money
from opsgraph.resolvers.sources import Sources
from opsgraph.schema.relay import to_global_id
from opsgraph.workflows import WorkflowConflict, WorkflowEngine, WorkflowRecord, WorkflowStatus
from opsgraph.workflows.records import StepStatus
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytest_plugins = ("workflows_support",)

KIND = "applyChangeRequest"
CRM = "salesforce"
CODE = "ENG-0006"  # active, fixed fee: 1334 h, 347000 USD at the CRM, the PSA (fee) and the ERP
OPPORTUNITY, PROJECT, JOB = "0065g00000001IjAAI", "3300005", "9005"
WRITES = {
    CRM: ("PATCH /services/data/v60.0/sobjects/{sobject}/{record_id}",),
    PSA: ("PATCH /v2/projects/{id:int}",),
    ERP: ("PATCH /services/rest/record/v1/{rtype}/{rid}",),
}

CHANGE = """mutation Change($input: ChangeRequestInput!) {
  applyChangeRequest(input: $input) {
    workflow { id status error failingStep steps { name system status compensated } }
    userErrors { field message code }
    engagement { code budgetHours contractValue { amount currency } opportunity { amount { amount } } }
  }
}"""
SHOWN = """query Shown($id: ID!) {
  node(id: $id) {
    ... on Engagement { budgetHours contractValue { amount currency } opportunity { amount { amount } } }
  }
}"""


async def values(sources: Sources) -> tuple[Decimal | None, float | None, Decimal | None, Decimal | None]:
    """(CRM amount, PSA budget hours, PSA fee, ERP contract value) of ENG-0006."""
    crm = cast(SalesforceClient, sources.system(CRM).client)
    opportunity = (await crm.opportunities_by_ids([OPPORTUNITY]))[OPPORTUNITY]
    project = (await psa_client(sources).request("GET", f"/v2/projects/{PROJECT}")).body
    job = (await erp_client(sources).jobs_by_ids([JOB]))[JOB]
    return (
        None if opportunity.amount is None else opportunity.amount.amount,
        project["budget"],
        None if project["fee"] is None else Decimal(str(project["fee"])),
        None if job.contract_value is None else job.contract_value.amount,
    )


BEFORE = (Decimal(347000), 1334.0, Decimal(347000), Decimal(347000))
AFTER = (Decimal(400000), 1500.0, Decimal(400000), Decimal(400000))


@pytest.fixture
async def admins(own_simulators: SimulatorGroup, sources: Sources) -> AsyncIterator[Admins]:
    """Faults cleared and counts zeroed; afterwards ENG-0006's values put back as the world has them."""
    found = Admins(own_simulators)
    await found.reset()
    assert await values(sources) == BEFORE
    yield found
    await found.reset()
    crm = cast(SalesforceClient, sources.system(CRM).client)
    await crm.update("Opportunity", OPPORTUNITY, {"Amount": 347000})
    await psa_client(sources).request(
        "PATCH", f"/v2/projects/{PROJECT}", json={"budget": 1334, "fee": 347000}
    )
    await erp_client(sources).set_job_contract_value(JOB, Money.of("347000", "USD"), idempotency_key="reset")
    await found.reset()


# -- through the gateway ----------------------------------------------------------------------------


class Graph:
    """Calls the gateway as `delivery`, a role the policy lets apply change requests."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def run(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"X-API-Key": DEMO_API_KEYS["delivery"]},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        return body

    async def change(self, **fields: Any) -> dict[str, Any]:
        payload: dict[str, Any] = (await self.run(CHANGE, input=change_input(**fields)))["data"]
        return cast(dict[str, Any], payload["applyChangeRequest"])


def change_input(**fields: Any) -> dict[str, Any]:
    base = {
        "idempotencyKey": uuid.uuid4().hex,
        "engagementId": to_global_id("Engagement", CODE),
        "reason": "CR-17: phase 2 added",
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


async def test_a_change_request_reaches_each_system_once_and_the_graph_shows_it_at_once(
    graph: Graph, admins: Admins, sources: Sources
) -> None:
    engagement_id = to_global_id("Engagement", CODE)
    before = (await graph.run(SHOWN, id=engagement_id))["data"]["node"]  # cached: the mutation drops it
    fields = change_input(budgetHours=1500, contractValue="400000")

    payload = await graph.change(**fields)
    again = await graph.change(**fields)  # a retry: the first result, no write
    after = (await graph.run(SHOWN, id=engagement_id))["data"]["node"]

    workflow = payload["workflow"]
    assert payload["userErrors"] == [] and workflow["status"] == "COMPLETED"
    assert [(s["name"], s["system"], s["status"]) for s in workflow["steps"]] == [
        ("crm-amount", CRM, "COMPLETED"),
        ("psa-budget", PSA, "COMPLETED"),
        ("erp-contract", ERP, "COMPLETED"),
    ]
    assert again["workflow"]["id"] == workflow["id"]
    assert before == {
        "budgetHours": 1334.0,
        "contractValue": {"amount": "347000.00", "currency": "USD"},
        "opportunity": {"amount": {"amount": "347000.00"}},
    }
    shown = {
        "budgetHours": 1500.0,
        "contractValue": {"amount": "400000.00", "currency": "USD"},
        "opportunity": {"amount": {"amount": "400000.00"}},
    }
    assert after == shown
    assert payload["engagement"] == {"code": CODE, **shown}
    assert await values(sources) == AFTER
    assert await admins.writes_by_system(WRITES) == {CRM: 1, PSA: 1, ERP: 1}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"engagementId": to_global_id("Engagement", "ENG-9999"), "budgetHours": 10},
            ("engagementId", "NOT_FOUND"),
        ),
        (
            {"engagementId": to_global_id("Engagement", "ENG-0002"), "contractValue": "1"},
            ("engagementId", "ENGAGEMENT_INACTIVE"),
        ),
        (
            {"engagementId": to_global_id("Engagement", "ENG-0007"), "budgetHours": 10},
            ("budgetHours", "DERIVED_BUDGET"),
        ),
        ({"contractValue": "400000", "currency": "EUR"}, ("currency", "CURRENCY_MISMATCH")),
        ({"budgetHours": 1334, "contractValue": "347000"}, ("engagementId", "NO_CHANGE")),
        ({}, None),
        ({"budgetHours": 10, "reason": "  "}, None),
        ({"budgetHours": -1}, ("budgetHours", "BAD_USER_INPUT")),
    ],
)
async def test_a_refused_change_request_is_a_user_error_and_writes_nothing(
    graph: Graph, admins: Admins, fields: dict[str, Any], expected: tuple[str, str] | None
) -> None:
    payload = await graph.change(**fields)

    assert payload["workflow"] is None
    path = ["input"] if expected is None else ["input", expected[0]]
    code = "BAD_USER_INPUT" if expected is None else expected[1]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(path, code)]
    assert await admins.writes_by_system(WRITES) == {CRM: 0, PSA: 0, ERP: 0}


# -- the engine ---------------------------------------------------------------------------------------

DATA = {"engagement_code": CODE, "budget_hours": 1500, "contract_value": "400000", "reason": "CR-17"}


@pytest.fixture
async def engine(database_url: str, sources: Sources, admins: Admins) -> AsyncIterator[WorkflowEngine]:
    async with WorkflowEngine(settings_for(database_url), sources).running() as running:
        yield running


async def run(engine: WorkflowEngine, key: str | None = None, data: dict[str, Any] = DATA) -> WorkflowRecord:
    result = await engine.start(KIND, data, idempotency_key=key or uuid.uuid4().hex, caller="ops")
    assert result.user_errors == ()
    assert result.workflow is not None
    return result.workflow


def steps(record: WorkflowRecord) -> list[tuple[str, StepStatus, int, bool]]:
    return [(s.name, s.status, s.attempts, s.compensated) for s in record.steps]


async def test_ten_concurrent_calls_with_one_key_write_each_system_once(
    engine: WorkflowEngine, admins: Admins, sources: Sources
) -> None:
    key = uuid.uuid4().hex
    records = await asyncio.gather(*(run(engine, key) for _ in range(10)))

    assert {r.id for r in records} == {records[0].id}
    assert {r.status for r in records} == {WorkflowStatus.COMPLETED}
    assert await admins.writes_by_system(WRITES) == {CRM: 1, PSA: 1, ERP: 1}
    assert await values(sources) == AFTER

    with pytest.raises(WorkflowConflict) as raised:
        await engine.start(KIND, {**DATA, "budget_hours": 1600}, idempotency_key=key, caller="ops")
    assert (raised.value.code, raised.value.workflow_id) == ("CONFLICT", records[0].id)
    assert await admins.writes_by_system(WRITES) == {CRM: 1, PSA: 1, ERP: 1}


async def test_an_erp_failure_restores_the_crm_and_the_psa(
    engine: WorkflowEngine, admins: Admins, sources: Sources
) -> None:
    await admins.by_system[ERP].faults(error_rate=1.0, methods=["PATCH"])

    record = await run(engine)

    assert record.status is WorkflowStatus.COMPENSATED
    assert record.failing_step == "erp-contract"
    assert record.error is not None and record.error.startswith("SOURCE_UNAVAILABLE")
    assert steps(record) == [
        ("crm-amount", StepStatus.COMPENSATED, 1, True),
        ("psa-budget", StepStatus.COMPENSATED, 1, True),
        ("erp-contract", StepStatus.FAILED, 1, True),
    ]
    assert await values(sources) == BEFORE
    # each of the CRM and the PSA written and restored; the ERP refused once and held the old value
    assert await admins.writes_by_system(WRITES) == {CRM: 2, PSA: 2, ERP: 1}


async def test_a_failing_restore_parks_the_request_and_replay_completes_it(
    engine: WorkflowEngine, admins: Admins, sources: Sources
) -> None:
    await admins.by_system[ERP].faults(error_rate=1.0, methods=["PATCH"])
    await admins.by_system[PSA].faults(error_rate=1.0, methods=["PATCH"], after=1)

    parked = await run(engine)

    assert parked.status is WorkflowStatus.PARKED
    assert parked.failing_step == "erp-contract"
    assert parked.error is not None and "compensation of psa-budget failed" in parked.error
    assert steps(parked) == [
        ("crm-amount", StepStatus.COMPLETED, 1, False),
        ("psa-budget", StepStatus.COMPENSATION_FAILED, 1, False),
        ("erp-contract", StepStatus.FAILED, 1, True),
    ]
    assert await values(sources) == (Decimal(400000), 1500.0, Decimal(400000), Decimal(347000))

    await admins.reset()
    replayed = await engine.replay(parked.id)

    assert replayed.workflow is not None
    done = replayed.workflow
    assert done.status is WorkflowStatus.COMPLETED
    assert steps(done) == [
        ("crm-amount", StepStatus.COMPLETED, 1, False),
        ("psa-budget", StepStatus.COMPLETED, 2, False),
        ("erp-contract", StepStatus.COMPLETED, 2, False),
    ]
    assert await values(sources) == AFTER
    assert await admins.writes_by_system(WRITES) == {CRM: 0, PSA: 1, ERP: 1}  # since the reset: nothing twice
