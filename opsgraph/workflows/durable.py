"""The DBOS workflows every mutation runs as: plan, steps through the write queues, compensation,
parking and the operator's replay or resolve.

`run_mutation` is one DBOS workflow per mutation (its id derives from caller, kind and idempotency
key). Its plan and each step's outcome are checkpointed, so a process killed mid-workflow resumes
it from the last completed step. Each write runs as a child workflow on its system's queue (the
system's concurrency and rate) and answers a `StepOutcome` rather than raising.

A failed step is compensated along with every step completed before it, in reverse; the workflow
ends COMPENSATED, or PARKED when a compensation fails. A step raising `NeedsReview` parks it at
once, compensating nothing (a capped contract over its cap waits for finance).

A parked workflow waits (durably, across restarts) for an operator message: `replay` runs again
every step not left completed, from the first one undone; `resolve` closes it with a note. Each
time it settles it sets the DBOS event `settled:<round>`, which the engine waits on.
"""

from __future__ import annotations

import logging
from typing import Any

from dbos import DBOS, SetWorkflowID

from opsgraph.connectors.errors import SourceError
from opsgraph.context import correlation_id as correlation_var
from opsgraph.workflows import runtime, tracing
from opsgraph.workflows.kinds import PlannedStep, StepContext, kind_named
from opsgraph.workflows.records import NeedsReview, StepOutcome, StepRecord, StepStatus, WorkflowStatus
from opsgraph.workflows.store import now

log = logging.getLogger("opsgraph.workflows")

MAX_RECOVERIES = 10_000
"""DBOS dead-letters a workflow recovered more often than this. A parked workflow is recovered at
each restart while it waits for its operator (DBOS's default of 100 would drop it after a hundred
deploys); a workflow that crashes the process at each recovery still stops, eventually."""

OPERATOR_TOPIC = "operator"
SETTLED = "settled:{}"


def settled_key(round_no: int) -> str:
    return SETTLED.format(round_no)


def _failure(exc: Exception) -> StepOutcome:
    if isinstance(exc, NeedsReview):
        return StepOutcome(ok=False, error=str(exc), code=NeedsReview.code, review=True)
    if isinstance(exc, SourceError):
        return StepOutcome(ok=False, error=str(exc), code=exc.code)
    return StepOutcome(ok=False, error=f"{type(exc).__name__}: {exc}", code="INTERNAL")


@DBOS.step(name="opsgraph.plan")
async def plan_step(workflow_id: str, kind: str, data: dict[str, Any], correlation: str) -> dict[str, Any]:
    rt, k = runtime.current(), kind_named(kind)
    token = correlation_var.set(correlation)
    try:
        steps = await k.plan(rt.systems, k.parse(data), workflow_id)
        return {"ok": True, "steps": [s.model_dump(mode="json") for s in steps]}
    except Exception as exc:
        log.warning("workflow %s (%s) could not plan: %s", workflow_id, correlation, exc)
        failure = _failure(exc)
        return {"ok": False, "error": f"{failure.code}: {failure.error}"}
    finally:
        correlation_var.reset(token)


@DBOS.step(name="opsgraph.write")
async def write_step(
    workflow_id: str,
    kind: str,
    step: dict[str, Any],
    done: dict[str, dict[str, Any]],
    correlation: str,
    undo: bool,
    result: dict[str, Any] | None,
) -> dict[str, Any]:
    rt, k = runtime.current(), kind_named(kind)
    planned = PlannedStep.model_validate(step)
    ctx = StepContext(workflow_id, correlation, planned)
    token = correlation_var.set(correlation)
    try:
        if undo:
            await k.compensate(rt.systems, ctx, result)
            out: dict[str, Any] = {}
        else:
            out = await k.execute(rt.systems, ctx, done)
        if rt.invalidate is not None:
            for system, entity, record_id in k.written(planned, (result or {}) if undo else out):
                try:
                    await rt.invalidate(system, entity, record_id)
                except Exception:  # the write is done: a cache that missed a drop serves stale a while
                    log.exception(
                        "workflow %s (%s): invalidating %s failed", workflow_id, correlation, entity
                    )
        return StepOutcome(ok=True, result=out).model_dump(mode="json")
    except Exception as exc:
        what = "compensation of" if undo else "step"
        log.warning("workflow %s (%s): %s %s failed: %s", workflow_id, correlation, what, planned.name, exc)
        return _failure(exc).model_dump(mode="json")
    finally:
        correlation_var.reset(token)


@DBOS.workflow(name="opsgraph.queued_write")
async def queued_write(
    workflow_id: str,
    kind: str,
    step: dict[str, Any],
    done: dict[str, dict[str, Any]],
    correlation: str,
    undo: bool,
    result: dict[str, Any] | None,
) -> dict[str, Any]:
    """One write on its system's queue (a child workflow: queues hold workflows, not steps)."""
    with tracing.continued(DBOS.workflow_id):
        return await write_step(workflow_id, kind, step, done, correlation, undo, result)


class _Run:
    """The state of one `run_mutation`: rebuilt identically when DBOS replays it."""

    def __init__(self, workflow_id: str, kind: str, correlation: str, plan: list[PlannedStep]) -> None:
        self.workflow_id, self.kind, self.correlation, self.plan = workflow_id, kind, correlation, plan
        self.states = [StepRecord(name=s.name, system=s.system) for s in plan]
        self.results: dict[str, dict[str, Any]] = {}
        self.round = 1
        self.review = False
        """The last failed step asked for a person's review (park, compensate nothing)."""

    async def save(self, **fields: Any) -> None:
        await runtime.current().store.update(self.workflow_id, steps=tuple(self.states), **fields)

    def _set(self, i: int, **fields: Any) -> None:
        self.states[i] = self.states[i].model_copy(update=fields)

    async def _call(self, i: int, undo: bool) -> StepOutcome:
        step = self.plan[i]
        done = {s.name: self.results[s.name] for s in self.plan[:i] if s.name in self.results}
        args = (
            self.workflow_id,
            self.kind,
            step.model_dump(mode="json"),
            done,
            self.correlation,
            undo,
            self.results.get(step.name),
        )
        child = (
            None
            if step.system is None
            else f"{self.workflow_id}/r{self.round}/{i}/{'undo' if undo else 'do'}"
        )
        with tracing.step_span(self.workflow_id, step.name, step.system, undo=undo, child_id=child) as span:
            if child is None:
                out = await write_step(*args)
            else:
                rt = runtime.current()
                queue = await rt.queue(step.system or "")
                with SetWorkflowID(child):
                    handle = await queue.enqueue_async(queued_write, *args)
                out = await handle.get_result(polling_interval_sec=rt.settings.poll_interval_s)
            outcome = StepOutcome.model_validate(out)
            if not outcome.ok:
                tracing.step_failed(span, outcome.code)
        return outcome

    async def forward(self) -> int | None:
        """Run every step not left completed, in order; the index of the one that failed, or None."""
        for i, step in enumerate(self.plan):
            if self.states[i].status is StepStatus.COMPLETED:
                continue
            attempts = self.states[i].attempts + 1
            self._set(i, status=StepStatus.RUNNING, attempts=attempts, error=None, compensated=False)
            await self.save()
            outcome = await self._call(i, undo=False)
            if not outcome.ok:
                self.review = outcome.review
                self._set(i, status=StepStatus.FAILED, error=f"{outcome.code}: {outcome.error}")
                await self.save()
                return i
            self.results[step.name] = outcome.result
            self._set(i, status=StepStatus.COMPLETED)
            await self.save()
        return None

    async def compensate(self, failed: int) -> str | None:
        """Undo the failed step (it may have written part way) and every completed step before it,
        in reverse; None when all are undone, else the compensation error (the rest stay done)."""
        order = [failed] + [
            i for i in range(failed - 1, -1, -1) if self.states[i].status is StepStatus.COMPLETED
        ]
        for i in order:
            outcome = await self._call(i, undo=True)
            if not outcome.ok:
                error = f"compensation of {self.plan[i].name} failed: {outcome.code}: {outcome.error}"
                if i != failed:
                    self._set(i, status=StepStatus.COMPENSATION_FAILED, error=error)
                await self.save()
                return error
            self.results.pop(self.plan[i].name, None)
            if i == failed:
                self._set(i, compensated=True)
            else:
                self._set(i, status=StepStatus.COMPENSATED, compensated=True)
            await self.save()
        return None

    async def settle(self, status: WorkflowStatus) -> None:
        await DBOS.set_event_async(settled_key(self.round), str(status))


async def _wait_for_operator() -> dict[str, Any]:
    rt = runtime.current()
    while True:
        message = await DBOS.recv_async(OPERATOR_TOPIC, timeout_seconds=rt.settings.park_check_s)
        if isinstance(message, dict) and message.get("action") in ("replay", "resolve"):
            return message


@DBOS.workflow(name="opsgraph.mutation", max_recovery_attempts=MAX_RECOVERIES)
async def run_mutation(workflow_id: str, kind: str, data: dict[str, Any], correlation: str) -> dict[str, Any]:
    with tracing.workflow_span(workflow_id, kind, correlation):
        return await _run_mutation(workflow_id, kind, data, correlation)


async def _run_mutation(
    workflow_id: str, kind: str, data: dict[str, Any], correlation: str
) -> dict[str, Any]:
    rt, k = runtime.current(), kind_named(kind)
    store = rt.store
    await store.update(workflow_id, status=WorkflowStatus.RUNNING)
    planned = await plan_step(workflow_id, kind, data, correlation)
    if not planned["ok"]:
        error = f"plan: {planned['error']}"
        await store.update(
            workflow_id,
            status=WorkflowStatus.COMPENSATED,
            error=error,
            failing_step="plan",
            finished_at=now(),
        )
        await DBOS.set_event_async(settled_key(1), str(WorkflowStatus.COMPENSATED))
        return {}
    run = _Run(workflow_id, kind, correlation, [PlannedStep.model_validate(p) for p in planned["steps"]])
    await run.save()
    while True:
        failed = await run.forward()
        if failed is None:
            result = k.summarize(k.parse(data), run.results)
            await run.save(
                status=WorkflowStatus.COMPLETED,
                result=result,
                error=None,
                failing_step=None,
                finished_at=now(),
            )
            await run.settle(WorkflowStatus.COMPLETED)
            return result
        step = run.plan[failed]
        step_error = run.states[failed].error
        parked_error = step_error
        if not run.review:
            compensation_error = await run.compensate(failed)
            if compensation_error is None:
                await run.save(
                    status=WorkflowStatus.COMPENSATED,
                    error=step_error,
                    failing_step=step.name,
                    finished_at=now(),
                )
                await run.settle(WorkflowStatus.COMPENSATED)
                return {}
            parked_error = f"{step_error}; {compensation_error}"
        await run.save(status=WorkflowStatus.PARKED, error=parked_error, failing_step=step.name)
        await run.settle(WorkflowStatus.PARKED)
        log.warning("workflow %s (%s) PARKED at %s", workflow_id, correlation, step.name)
        message = await _wait_for_operator()
        run.round += 1
        if message["action"] == "resolve":
            await run.save(
                status=WorkflowStatus.RESOLVED, note=str(message.get("note") or ""), finished_at=now()
            )
            await run.settle(WorkflowStatus.RESOLVED)
            return {}
        await run.save(status=WorkflowStatus.RUNNING, error=None)
