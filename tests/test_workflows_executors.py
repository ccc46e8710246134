"""Executor identity (issue 13): replicas sharing one store each recover only their own workflows.

Two gateway stand-ins, executors A and B, are killed mid-workflow on one database. B starting again
recovers and finishes its own workflow and leaves A's pending (owned by A, no write made for it);
A starting again finishes A's. Each entry is posted to the ERP as the simulator counts it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from typing import Any

from dbos import DBOSClient
from workflows_sim import SimAdmin, erp_client, kill_when, settings_for, start_worker, until

from opsgraph.resolvers.sources import Sources
from opsgraph.workflows import WorkflowEngine, WorkflowStatus
from opsgraph.workflows.post_time import BATCH_SIZE
from opsgraph.workflows.store import WorkflowStore
from simulators.simkit.serve import SimulatorGroup

pytest_plugins = ("workflows_support",)

OCTOBER_1 = {"engagement_code": "ENG-0001", "start": "2026-10-01", "end": "2026-10-31"}  # 44 entries
OCTOBER_4 = {"engagement_code": "ENG-0004", "start": "2026-10-01", "end": "2026-10-31"}  # 45 entries
HELD = {"latency_ms": 2000, "methods": ["PUT"]}


def _statuses(client: DBOSClient, workflow_id: str) -> dict[str, tuple[str, str | None]]:
    """DBOS's status and owning executor of the workflow and of its steps (child workflows)."""
    found = client.list_workflows(workflow_id_prefix=workflow_id, load_input=False, load_output=False)
    return {s.workflow_id: (s.status, s.executor_id) for s in found}


def _held(statuses: dict[str, tuple[str, str | None]], workflow_id: str, executor: str, done: int) -> bool:
    """The workflow is running under `executor`, `done` steps finished and the next one dequeued
    by it (none waits on a queue, where any executor could take it)."""
    steps = [v for k, v in statuses.items() if k != workflow_id]
    return (
        statuses.get(workflow_id) == ("PENDING", executor)
        and sorted(s for s, _ in steps) == ["PENDING"] + ["SUCCESS"] * done
        and ("PENDING", executor) in steps
    )


async def _finished(database_url: str, found: Any, workflow_id: str, executor: str) -> None:
    """Wait until DBOS has the workflow and its steps done by `executor`; the record says COMPLETED."""

    async def done() -> bool:
        statuses = await found(workflow_id)
        return len(statuses) > 1 and all(v == ("SUCCESS", executor) for v in statuses.values())

    await until(done)
    store = WorkflowStore(database_url)
    try:
        record = await store.get(workflow_id)
        assert record is not None and record.status is WorkflowStatus.COMPLETED
    finally:
        store.close()


async def test_each_executor_recovers_only_its_own_workflows(
    database_url: str, simulators: SimulatorGroup, erp_sim: SimAdmin, systems: Sources
) -> None:
    run = uuid.uuid4().hex[:8]
    a, b = f"a-{run}", f"b-{run}"
    urls = simulators.urls()
    client = DBOSClient(system_database_url=database_url)
    try:
        statuses = lambda wid: asyncio.to_thread(_statuses, client, wid)  # noqa: E731

        # B dies with its first step under way; A dies with its first step done, its second under way.
        await erp_sim.faults(**HELD)
        worker, b_id = await start_worker(database_url, urls, uuid.uuid4().hex, b, json.dumps(OCTOBER_4))
        await kill_when(worker, lambda: _ready(statuses(b_id), b_id, b, 0))
        await erp_sim.faults(**HELD, after=BATCH_SIZE)
        worker, a_id = await start_worker(database_url, urls, uuid.uuid4().hex, a, json.dumps(OCTOBER_1))
        await kill_when(worker, lambda: _ready(statuses(a_id), a_id, a, 1))
        await erp_sim.clear_faults()
        a_pending = await statuses(a_id)

        jobs = await erp_client(systems).jobs_by_codes(["ENG-0001", "ENG-0004"])
        a_job = jobs["ENG-0001"].id

        async def a_keys() -> set[str]:
            postings = await erp_client(systems).list_time_postings(date(2026, 10, 1), date(2026, 10, 31))
            return {f"eid:{p.time_entry_id}" for p in postings if p.job_id == a_job}

        # B starts again: its own workflow finishes, A's stays pending under A and no write is made for it.
        async with WorkflowEngine(settings_for(database_url, executor_id=b), systems).running():
            await _finished(database_url, statuses, b_id, b)
            assert await statuses(a_id) == a_pending
            after_b = [w["key"] for w in await erp_sim.writes("PUT")]
        a_written_by_then = set(after_b) & await a_keys()
        # step 1's 25, and step 2's first posting if it was in flight at the kill
        assert BATCH_SIZE <= len(a_written_by_then) <= BATCH_SIZE + 1

        # A starts again: its workflow resumes at step 2.
        async with WorkflowEngine(settings_for(database_url, executor_id=a), systems).running():
            await _finished(database_url, statuses, a_id, a)
    finally:
        await asyncio.to_thread(client.destroy)

    puts = [w["key"] for w in await erp_sim.writes("PUT")]
    mine = await a_keys()
    assert len(mine) == 44
    a_puts = [k for k in puts if k in mine]
    assert set(a_puts) == mine
    assert len(a_puts) <= 44 + 1  # each entry once; the one in flight at the kill perhaps twice
    assert len(set(puts) - mine) == 45  # B's entries
    assert len(puts) - len(a_puts) <= 45 + 1


async def _ready(found: Any, workflow_id: str, executor: str, done: int) -> bool:
    return _held(await found, workflow_id, executor, done)
