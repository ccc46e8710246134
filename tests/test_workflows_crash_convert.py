"""A gateway killed with SIGKILL in the middle of convertOpportunity, while the PSA holds its step
(a latency fault), and started again on the same store: the workflow completes with exactly one ERP
customer, one ERP job and one PSA project, counted at the simulators (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from test_workflows_recovery import until
from workflows_sim import ERP, PSA, SimAdmin, erp_client, psa_client, settings_for, sources_for

from opsgraph.connectors.harvest.resources import PROJECTS
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.resolvers.sources import Sources
from opsgraph.workflows import WorkflowEngine, WorkflowStatus
from opsgraph.workflows.records import StepStatus
from opsgraph.workflows.store import WorkflowStore
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World

pytest_plugins = ("workflows_support",)

TESTS = Path(__file__).parent
CRM = "salesforce"
OPPORTUNITY = "0065g00000001KLAAY"  # closed-won, time and materials, no engagement code yet
ERP_WRITES = ("PUT /services/rest/record/v1/{rtype}/{rid}", "PATCH /services/rest/record/v1/{rtype}/{rid}")
HELD_MS = 4000
"""How long the PSA holds each write: the gateway is killed while the first one waits."""


@pytest.fixture(scope="module")
def own_simulators(world: World) -> Iterator[SimulatorGroup]:
    with SimulatorThread(world) as group:
        yield group


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
    worker = await asyncio.create_subprocess_exec(
        sys.executable, str(TESTS / "workflows_worker.py"), database_url, json.dumps(own_simulators.urls()),
        key, "-", json.dumps(data), "convertOpportunity",
        cwd=TESTS, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(TESTS)},
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        line = (await asyncio.wait_for(worker.stdout.readline(), 60)).decode().split()
        assert line[0] == "started", line
        store = WorkflowStore(database_url)

        async def psa_step_held() -> bool:
            record = await store.get(line[1])
            states = {s.name: s.status for s in record.steps} if record is not None else {}
            return states.get("erp-job") is StepStatus.COMPLETED and states.get("psa-engagement") is (
                StepStatus.RUNNING
            )

        await until(psa_step_held)
        store.close()
        worker.send_signal(signal.SIGKILL)
        assert await worker.wait() == -signal.SIGKILL
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    await admins[PSA].clear_faults()

    async with WorkflowEngine(settings_for(database_url), sources).running() as engine:
        result = await engine.start("convertOpportunity", data, idempotency_key=key, caller="ops")

    assert result.workflow is not None
    record = result.workflow
    assert record.id == line[1]
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
