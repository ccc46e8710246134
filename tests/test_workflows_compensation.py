"""Compensation, the exception queue (PARKED), replay and resolve, with faults injected at the ERP
simulator (`/_sim/faults`, aimed at some HTTP methods after the first N requests)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from workflows_sim import ERP, TIMEBILL_DELETE, TIMEBILL_PUT, SimAdmin, erp_client

from opsgraph.resolvers.sources import Sources
from opsgraph.workflows import WorkflowEngine, WorkflowNotParked, WorkflowRecord, WorkflowStatus
from opsgraph.workflows.post_time import BATCH_SIZE
from opsgraph.workflows.records import StepStatus

pytest_plugins = ("workflows_support",)

KIND = "postApprovedTime"
OCTOBER = {"engagement_code": "ENG-0001", "start": "2026-10-01", "end": "2026-10-31"}
UNPOSTED = 44  # ENG-0001's approved entries in October 2026: steps of 25 and 19 postings
SECOND = UNPOSTED - BATCH_SIZE


async def posted(systems: Sources) -> int:
    return len(await erp_client(systems).list_time_postings(date(2026, 10, 1), date(2026, 10, 31)))


async def run(engine: WorkflowEngine, data: dict[str, str] = OCTOBER) -> WorkflowRecord:
    result = await engine.start(KIND, data, idempotency_key=uuid.uuid4().hex, caller="ops")
    assert result.workflow is not None
    return result.workflow


def steps(record: WorkflowRecord) -> list[tuple[str, StepStatus, int, bool]]:
    return [(s.name, s.status, s.attempts, s.compensated) for s in record.steps]


async def test_a_failing_step_undoes_the_steps_before_it(
    engine: WorkflowEngine, erp_sim: SimAdmin, systems: Sources
) -> None:
    before = await posted(systems)
    # The first step's postings go through; every posting after them fails (a 500 at each PUT).
    await erp_sim.faults(error_rate=1.0, methods=["PUT"], after=BATCH_SIZE)

    record = await run(engine)

    assert record.status is WorkflowStatus.COMPENSATED
    assert record.failing_step == "post-time-2"
    assert record.error is not None and "SOURCE_UNAVAILABLE" in record.error
    assert record.finished_at is not None
    assert steps(record) == [
        ("post-time-1", StepStatus.COMPENSATED, 1, True),
        ("post-time-2", StepStatus.FAILED, 1, True),
    ]
    assert await posted(systems) == before  # no orphan posting left
    assert len(await erp_sim.writes("PUT")) == BATCH_SIZE
    assert len(await erp_sim.writes("DELETE")) == BATCH_SIZE  # each posting made is deleted once
    assert await erp_sim.route_count(TIMEBILL_DELETE) == UNPOSTED  # the failed step's bills: 404s


async def test_a_failing_compensation_parks_the_workflow_and_replay_completes_it(
    engine: WorkflowEngine, erp_sim: SimAdmin, systems: Sources
) -> None:
    before = await posted(systems)
    await erp_sim.faults(error_rate=1.0, methods=["PUT", "DELETE"], after=BATCH_SIZE)

    parked = await run(engine)

    assert parked.status is WorkflowStatus.PARKED
    assert parked.failing_step == "post-time-2"
    assert parked.error is not None and "compensation of post-time-2 failed" in parked.error
    assert parked.finished_at is None
    assert parked.input == OCTOBER
    assert steps(parked) == [
        ("post-time-1", StepStatus.COMPLETED, 1, False),
        ("post-time-2", StepStatus.FAILED, 1, False),
    ]
    assert [r.id for r in await engine.list(status=[WorkflowStatus.PARKED]) if r.id == parked.id] == [
        parked.id
    ]
    assert await posted(systems) == before + BATCH_SIZE

    await erp_sim.clear_faults()
    replayed = await engine.replay(parked.id)

    assert replayed.workflow is not None
    done = replayed.workflow
    assert done.status is WorkflowStatus.COMPLETED
    assert done.error is None and done.failing_step is None and done.finished_at is not None
    assert steps(done) == [
        ("post-time-1", StepStatus.COMPLETED, 1, False),  # not posted again
        ("post-time-2", StepStatus.COMPLETED, 2, False),
    ]
    assert done.result is not None and done.result["posted"] == UNPOSTED
    assert await posted(systems) == before + UNPOSTED
    assert len(await erp_sim.writes("PUT")) == UNPOSTED
    assert await erp_sim.route_count(TIMEBILL_PUT) == UNPOSTED + 1  # the one refused before the replay
    assert [r.id for r in await engine.list(status=[WorkflowStatus.PARKED]) if r.id == parked.id] == []

    with pytest.raises(WorkflowNotParked):
        await engine.replay(parked.id)


async def test_resolve_closes_a_parked_workflow_with_its_note(
    engine: WorkflowEngine, erp_sim: SimAdmin, systems: Sources
) -> None:
    await erp_sim.faults(error_rate=1.0, methods=["PUT", "DELETE"], after=BATCH_SIZE)
    parked = await run(engine)
    assert parked.status is WorkflowStatus.PARKED
    await erp_sim.clear_faults()

    resolved = await engine.resolve(parked.id, "posted the rest by hand in the ERP")

    assert resolved.workflow is not None
    closed = resolved.workflow
    assert closed.status is WorkflowStatus.RESOLVED
    assert closed.note == "posted the rest by hand in the ERP"
    assert closed.finished_at is not None
    assert steps(closed) == steps(parked)  # resolve writes nothing upstream
    assert len(await erp_sim.writes("PUT")) == BATCH_SIZE
    with pytest.raises(WorkflowNotParked):
        await engine.resolve(parked.id, "again")


async def test_a_system_failing_while_planning_ends_the_workflow_with_nothing_written(
    engine: WorkflowEngine, erp_sim: SimAdmin
) -> None:
    # ERP requests: the token and validation's two reads pass, then planning's two repeats of them;
    # its read of the postings already made (the sixth) finds the ERP down.
    await erp_sim.faults(outage=True, methods=["POST"], after=5)

    record = await run(engine)

    assert record.status is WorkflowStatus.COMPENSATED
    assert record.failing_step == "plan"
    assert record.error is not None and record.error.startswith(f"plan: SOURCE_UNAVAILABLE: {ERP}: ")
    assert record.steps == () and record.finished_at is not None
    assert await erp_sim.route_count(TIMEBILL_PUT) == 0
