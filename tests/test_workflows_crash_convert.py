"""A gateway killed with SIGKILL in the middle of convertOpportunity, while the PSA holds its step
(a latency fault), and started again on the same store: the workflow completes with exactly one ERP
customer, one ERP job and one PSA project, counted at the simulators (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from workflows_sim import (
    ERP,
    PSA,
    SimAdmin,
    erp_client,
    kill_when,
    psa_client,
    settings_for,
    sources_for,
    start_worker,
)

from opsgraph.connectors.harvest.resources import PROJECTS
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.resolvers.sources import Sources
from opsgraph.workflows import WorkflowEngine, WorkflowStatus
from opsgraph.workflows.records import StepStatus
from opsgraph.workflows.store import WorkflowStore
from simulators.simkit.serve import SimulatorGroup

pytest_plugins = ("workflows_support",)

CRM = "salesforce"
OPPORTUNITY = "0065g00000001KLAAY"  # closed-won, time and materials, no engagement code yet
ERP_WRITES = ("PUT /services/rest/record/v1/{rtype}/{rid}", "PATCH /services/rest/record/v1/{rtype}/{rid}")
HELD_MS = 4000
"""How long the PSA holds each write: the gateway is killed while the first one waits."""


@pytest.fixture
async def sources(own_simulators: SimulatorGroup) -> AsyncIterator[Sources]:
    found = sources_for(own_simulators.urls())
    yield found
    crm = found.system(CRM).client
    assert isinstance(crm, SalesforceClient)
    await crm.update("Opportunity", OPPORTUNITY, {"Engagement_Code__c": None})  # convertible again
    await found.close()


async def _count(sources: Sources, sql: str) -> int:
    return len(await erp_client(sources).suiteql(sql))


async def test_a_gateway_killed_mid_conversion_completes_it_once_when_started_again(
    database_url: str, own_simulators: SimulatorGroup, sources: Sources
) -> None:
    admins = {name: SimAdmin(sim.url) for name, sim in own_simulators.running.items()}
    for admin in admins.values():
        await admin.clear_faults()
        await admin.clear_stats()
    opportunity = (await sources.system(CRM).client.opportunities_by_ids([OPPORTUNITY]))[OPPORTUNITY]  # type: ignore[attr-defined]
    code = f"WF-{uuid.uuid4().hex[:8].upper()}"
    key = uuid.uuid4().hex
    data = {"opportunity": f"{CRM}:{OPPORTUNITY}", "engagement_code": code}
    await admins[PSA].faults(latency_ms=HELD_MS, methods=["POST"])
    worker, workflow_id = await start_worker(
        database_url, own_simulators.urls(), key, "-", json.dumps(data), "convertOpportunity"
    )
    store = WorkflowStore(database_url)

    async def psa_step_held() -> bool:
        record = await store.get(workflow_id)
        states = {s.name: s.status for s in record.steps} if record is not None else {}
        return states.get("erp-job") is StepStatus.COMPLETED and states.get("psa-engagement") is (
            StepStatus.RUNNING
        )

    try:
        await kill_when(worker, psa_step_held)
    finally:
        store.close()
    await admins[PSA].clear_faults()

    async with WorkflowEngine(settings_for(database_url), sources).running() as engine:
        result = await engine.start("convertOpportunity", data, idempotency_key=key, caller="ops")

    assert result.workflow is not None
    record = result.workflow
    assert record.id == workflow_id
    assert record.status is WorkflowStatus.COMPLETED, record.error
    assert [(s.name, s.status) for s in record.steps] == [
        ("erp-customer", StepStatus.COMPLETED),
        ("erp-job", StepStatus.COMPLETED),
        ("psa-engagement", StepStatus.COMPLETED),
        ("crm-code", StepStatus.COMPLETED),
    ]
    assert [s.attempts for s in record.steps[:2]] == [1, 1]  # the ERP steps were not run again
    customer = opportunity.client_id
    assert await _count(sources, f"SELECT id FROM customer WHERE externalid = '{customer}'") == 1
    assert await _count(sources, f"SELECT id FROM job WHERE entityid = '{code}'") == 1
    assert await admins[ERP].route_count(ERP_WRITES[0]) == 2  # customer and job upserts, once each
    projects = [p for p in await psa_client(sources).collect(PROJECTS) if p.get("code") == code]
    assert len(projects) == 1
    assert (await sources.system(CRM).client.opportunities_by_ids([OPPORTUNITY]))[  # type: ignore[attr-defined]
        OPPORTUNITY
    ].engagement_code == code
