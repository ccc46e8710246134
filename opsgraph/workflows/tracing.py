"""Spans of a durable workflow: `workflow <kind>` and one `workflow step <name>` per step it runs.

The workflow span is a child of whatever started it (the mutation's operation span; a workflow a
restarted process recovers starts a trace of its own). A step on a system's queue runs as a DBOS
child workflow, which does not inherit the caller's context: the step's span context is handed to
it by the child's workflow id (`handoff` / `continued`), so the step's upstream calls are the step
span's children when the same process runs it (a peer replica's run starts its own trace). Every
span carries the workflow id and the correlation id; never a step's input or result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context, trace
from opentelemetry.trace import Span, Status, StatusCode

__all__ = ["continued", "step_span", "workflow_span"]

_tracer = trace.get_tracer("opsgraph.workflows")
_handoff: dict[str, context.Context] = {}


@contextmanager
def workflow_span(workflow_id: str, kind: str, correlation: str) -> Iterator[Span]:
    with _tracer.start_as_current_span(f"workflow {kind}") as span:
        span.set_attributes(
            {
                "opsgraph.workflow.id": workflow_id,
                "opsgraph.workflow.kind": kind,
                "opsgraph.correlation_id": correlation,
            }
        )
        yield span


@contextmanager
def step_span(
    workflow_id: str, name: str, system: str | None, *, undo: bool, child_id: str | None
) -> Iterator[Span]:
    """The span of one step (`undo`: its compensation), current for the block and handed to the
    queued child workflow `child_id`."""
    label = f"workflow {'undo' if undo else 'step'} {name}"
    with _tracer.start_as_current_span(label) as span:
        span.set_attributes(
            {"opsgraph.workflow.id": workflow_id, "opsgraph.step": name, "opsgraph.step.undo": undo}
        )
        if system is not None:
            span.set_attribute("opsgraph.system", system)
        if child_id is not None:
            _handoff[child_id] = context.get_current()
        try:
            yield span
        finally:
            if child_id is not None:
                _handoff.pop(child_id, None)


def step_failed(span: Span, code: str | None) -> None:
    span.set_status(Status(StatusCode.ERROR, code or "failed"))


@contextmanager
def continued(child_id: str | None) -> Iterator[None]:
    """Inside a queued child workflow: its step's span context current, when this process has it."""
    handed = _handoff.get(child_id) if child_id is not None else None
    if handed is None:
        yield
        return
    token = context.attach(handed)
    try:
        yield
    finally:
        context.detach(token)
