"""What the workflow layer answers: the workflow record, its steps, user errors and results.

These are plain pydantic models; the schema layer maps them to `Workflow`, `WorkflowStep`,
`UserError` and `WorkflowPayload` (ARCHITECTURE section 4).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WorkflowStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    PARKED = "PARKED"
    RESOLVED = "RESOLVED"


FINAL = frozenset({WorkflowStatus.COMPLETED, WorkflowStatus.COMPENSATED, WorkflowStatus.RESOLVED})
"""Statuses a workflow never leaves (PARKED is left by `replay` or `resolve`)."""


class StepStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepRecord(_Model):
    name: str
    system: str | None = None
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    error: str | None = None
    compensated: bool = False


class WorkflowRecord(_Model):
    id: str
    kind: str
    caller: str
    idempotency_key: str
    fingerprint: str
    correlation_id: str
    status: WorkflowStatus
    input: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None = None
    steps: tuple[StepRecord, ...] = ()
    error: str | None = None
    failing_step: str | None = None
    note: str | None = None
    result: dict[str, Any] | None = None


class UserError(_Model):
    """A validation failure: no upstream write was made."""

    field: tuple[str, ...] = ()
    message: str
    code: str = "VALIDATION_FAILED"


class WorkflowResult(_Model):
    """`WorkflowPayload` before the schema: the workflow (None when validation refused the input)
    and the user errors."""

    workflow: WorkflowRecord | None = None
    user_errors: tuple[UserError, ...] = ()


class WorkflowError(Exception):
    """A request the engine refuses; `code` is the GraphQL `extensions.code`."""

    code = "INTERNAL"

    def __init__(self, message: str, *, workflow_id: str | None = None) -> None:
        super().__init__(message)
        self.workflow_id = workflow_id


class WorkflowConflict(WorkflowError):
    """The idempotency key was used before with another input."""

    code = "CONFLICT"


class WorkflowNotFound(WorkflowError):
    code = "NOT_FOUND"


class WorkflowNotParked(WorkflowError):
    """`replay` or `resolve` of a workflow that is not PARKED."""

    code = "BAD_USER_INPUT"


class UnknownKind(WorkflowError):
    code = "BAD_USER_INPUT"


class NeedsReview(Exception):
    """Raised by a step that must not go on without a person (a capped contract over its cap): the
    workflow is PARKED at once, nothing compensated; `replayWorkflow` runs the step again."""

    code = "NEEDS_REVIEW"


class StepOutcome(_Model):
    """What one write step answered: its result, or the error that stopped it (never raised across
    DBOS, whose pickled exceptions lose their fields). `review`: park, do not compensate."""

    ok: bool
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    code: str | None = None
    review: bool = False
