"""A process killed with SIGKILL mid-workflow: the next launch on the same store resumes it from
its last completed step, and each entry is posted once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from workflows_sim import SimAdmin, erp_client, settings_for

from opsgraph.resolvers.sources import Sources
from opsgraph.workflows import WorkflowEngine, WorkflowStatus
from opsgraph.workflows.post_time import BATCH_SIZE
from opsgraph.workflows.records import StepStatus
from opsgraph.workflows.store import WorkflowStore
from simulators.simkit.serve import SimulatorGroup

pytest_plugins = ("workflows_support",)

TESTS = Path(__file__).parent
DATA = {"engagement_code": "ENG-0001", "start": "2026-10-01", "end": "2026-10-31"}
UNPOSTED = 44


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 60.0) -> None:
    """Return once `check()` holds; fail after `timeout_s` (a condition, not a fixed wait)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.05)


async def test_a_workflow_killed_mid_step_resumes_at_the_next_launch(
    database_url: str, simulators: SimulatorGroup, erp_sim: SimAdmin, systems: Sources
) -> None:
    key = uuid.uuid4().hex
    # Step 1's 25 postings go through; step 2's first posting is held at the ERP for a while.
    await erp_sim.faults(latency_ms=2000, methods=["PUT"], after=BATCH_SIZE)
    urls = json.dumps(simulators.urls())
    worker = await asyncio.create_subprocess_exec(
        sys.executable, str(TESTS / "workflows_worker.py"), database_url, urls, key,
        cwd=TESTS, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(TESTS)},
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        line = (await asyncio.wait_for(worker.stdout.readline(), 60)).decode().split()
        assert line[0] == "started", line

        store = WorkflowStore(database_url)

        async def first_step_checkpointed() -> bool:
            record = await store.get(line[1])
            return (
                record is not None and bool(record.steps) and record.steps[0].status is StepStatus.COMPLETED
            )

        await until(first_step_checkpointed)
        store.close()
        worker.send_signal(signal.SIGKILL)
        assert await worker.wait() == -signal.SIGKILL
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    await erp_sim.clear_faults()

    async with WorkflowEngine(settings_for(database_url), systems).running() as engine:
        result = await engine.start("postApprovedTime", DATA, idempotency_key=key, caller="ops")

    assert result.workflow is not None
    record = result.workflow
    assert record.id == line[1]
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
