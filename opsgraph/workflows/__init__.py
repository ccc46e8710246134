"""Writes: each mutation a durable DBOS workflow of steps across systems (ARCHITECTURE section 6).

The schema calls `WorkflowEngine` (`start`, `get`, `list`, `replay`, `resolve`); a mutation is a
`WorkflowKind` registered by name (importing this package registers the built-in ones).
"""

from __future__ import annotations

from opsgraph.workflows import change_request as _change_request  # noqa: F401  (applyChangeRequest)
from opsgraph.workflows import convert as _convert  # noqa: F401  (registers convertOpportunity)
from opsgraph.workflows import invoice as _invoice  # noqa: F401  (registers prepareInvoice)
from opsgraph.workflows import post_time as _post_time  # noqa: F401  (registers postApprovedTime)
from opsgraph.workflows import submit_time as _submit_time  # noqa: F401  (registers submitTimeEntries)
from opsgraph.workflows.engine import WorkflowEngine
from opsgraph.workflows.kinds import KINDS, PlannedStep, StepContext, Systems, WorkflowKind, register
from opsgraph.workflows.records import (
    NeedsReview,
    StepRecord,
    UserError,
    WorkflowConflict,
    WorkflowError,
    WorkflowNotFound,
    WorkflowNotParked,
    WorkflowRecord,
    WorkflowResult,
    WorkflowStatus,
)
from opsgraph.workflows.settings import QueueLimits, WorkflowSettings

__all__ = [
    "KINDS",
    "NeedsReview",
    "PlannedStep",
    "QueueLimits",
    "StepContext",
    "StepRecord",
    "Systems",
    "UserError",
    "WorkflowConflict",
    "WorkflowEngine",
    "WorkflowError",
    "WorkflowKind",
    "WorkflowNotFound",
    "WorkflowNotParked",
    "WorkflowRecord",
    "WorkflowResult",
    "WorkflowSettings",
    "WorkflowStatus",
    "register",
]
