"""A process killed with SIGKILL mid-workflow: the next launch on the same store resumes it from
its last completed step, and each entry is posted once."""

from __future__ import annotations

import uuid
from datetime import date

from workflows_sim import SimAdmin, erp_client, kill_when, settings_for, start_worker

from opsgraph.resolvers.sources import Sources
from opsgraph.workflows import WorkflowEngine, WorkflowStatus
from opsgraph.workflows.post_time import BATCH_SIZE
from opsgraph.workflows.records import StepStatus
from opsgraph.workflows.store import WorkflowStore
from simulators.simkit.serve import SimulatorGroup

pytest_plugins = ("workflows_support",)

DATA = {"engagement_code": "ENG-0001", "start": "2026-10-01", "end": "2026-10-31"}
UNPOSTED = 44


async def test_a_workflow_killed_mid_step_resumes_at_the_next_launch(
    database_url: str, simulators: SimulatorGroup, erp_sim: SimAdmin, systems: Sources
) -> None:
    key = uuid.uuid4().hex
    # Step 1's 25 postings go through; step 2's first posting is held at the ERP for a while.
    await erp_sim.faults(latency_ms=2000, methods=["PUT"], after=BATCH_SIZE)
    worker, workflow_id = await start_worker(database_url, simulators.urls(), key)
    store = WorkflowStore(database_url)

    async def first_step_checkpointed() -> bool:
        record = await store.get(workflow_id)
        return record is not None and bool(record.steps) and record.steps[0].status is StepStatus.COMPLETED

    try:
        await kill_when(worker, first_step_checkpointed)
    finally:
        store.close()
    await erp_sim.clear_faults()

    async with WorkflowEngine(settings_for(database_url), systems).running() as engine:
        result = await engine.start("postApprovedTime", DATA, idempotency_key=key, caller="ops")

    assert result.workflow is not None
    record = result.workflow
    assert record.id == workflow_id
    assert record.status is WorkflowStatus.COMPLETED
    assert [(s.name, s.status) for s in record.steps] == [
        ("post-time-1", StepStatus.COMPLETED),
        ("post-time-2", StepStatus.COMPLETED),
    ]
    postings = await erp_client(systems).list_time_postings(date(2026, 10, 1), date(2026, 10, 31))
    entries = [p.time_entry_id for p in postings]
    assert len(entries) == len(set(entries))  # no entry posted twice
    puts = [w["key"] for w in await erp_sim.writes("PUT")]
    assert len(set(puts)) == UNPOSTED
    assert all(puts.count(k) == 1 for k in puts[:BATCH_SIZE])  # step 1 was not redone
