"""The writes' types (ARCHITECTURE section 4): `Workflow`, its steps, `UserError` and `WorkflowPayload`.

A workflow's and a step's `error` are public: a system's failure reads as its code and our words for
it ("SOURCE_UNAVAILABLE: System erp is unavailable"), anything else as INTERNAL; the vendor's text
and exception details stay in the workflow store and the logs.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

import strawberry
from strawberry import Private

from opsgraph.connectors.errors import public_message
from opsgraph.model import record_key
from opsgraph.schema.relay import to_global_id
from opsgraph.schema.types.base import Node
from opsgraph.schema.types.common import Info
from opsgraph.schema.types.nodes import Engagement, Invoice, TimeEntry
from opsgraph.workflows import records

WorkflowStatus = strawberry.enum(
    records.WorkflowStatus, description="PARKED: waiting for an operator (the exception queue)"
)


_SOURCE_ERROR = re.compile(r"(SOURCE_[A-Z_]+): ([a-z][A-Za-z0-9_-]*): [^;]*")
_OTHER_ERROR = re.compile(r"(INTERNAL|NOT_FOUND|BAD_USER_INPUT): [^;]*")


def public_error(text: str | None) -> str | None:
    """A stored error as clients see it: each system failure in our words, anything else INTERNAL."""
    if text is None:
        return None
    text = _SOURCE_ERROR.sub(lambda m: f"{m[1]}: {public_message(m[1], m[2])}", text)
    return _OTHER_ERROR.sub(lambda m: f"{m[1]}: see the logs under the workflow's correlation id", text)


@strawberry.type(description="One write of a workflow, on one system.")
class WorkflowStep:
    name: str
    system: str | None = strawberry.field(description="The configured system it writes to")
    status: str = strawberry.field(
        description="PENDING, RUNNING, COMPLETED, FAILED, COMPENSATED or COMPENSATION_FAILED"
    )
    attempts: int
    error: str | None
    compensated: bool

    @classmethod
    def of(cls, s: records.StepRecord) -> WorkflowStep:
        return cls(
            name=s.name,
            system=s.system,
            status=s.status.value,
            attempts=s.attempts,
            error=public_error(s.error),
            compensated=s.compensated,
        )


@strawberry.type(description="A mutation's durable workflow: its steps across systems and its outcome.")
class Workflow(Node):
    kind: str = strawberry.field(description="The mutation that started it (`postApprovedTime`)")
    status: WorkflowStatus  # type: ignore[valid-type]
    correlation_id: str
    idempotency_key: str
    started_at: datetime
    finished_at: datetime | None
    steps: list[WorkflowStep]
    error: str | None
    failing_step: str | None
    note: str | None = strawberry.field(description="The operator's note when resolved by hand")
    record: Private[records.WorkflowRecord]

    @classmethod
    def of(cls, r: records.WorkflowRecord) -> Workflow:
        return cls(
            id=strawberry.ID(to_global_id("Workflow", r.id)),
            kind=r.kind,
            status=r.status,
            correlation_id=r.correlation_id,
            idempotency_key=r.idempotency_key,
            started_at=r.started_at,
            finished_at=r.finished_at,
            steps=[WorkflowStep.of(s) for s in r.steps],
            error=public_error(r.error),
            failing_step=r.failing_step,
            note=r.note,
            record=r,
        )


@strawberry.type(description="An input the business rules refused: no system was written to.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="The path of the input field, when one is at fault"
    )
    message: str
    code: str


@strawberry.type
class WorkflowPayload:
    workflow: Workflow | None
    user_errors: list[UserError]
    engagement_code: Private[str | None] = None
    posted_entry_keys: Private[list[str] | None] = None
    invoice_key: Private[str | None] = None

    @strawberry.field(description="The engagement the mutation wrote for, read after its writes")
    async def engagement(self, info: Info) -> Engagement | None:
        if self.engagement_code is None:
            return None
        found = (await info.context.loaders.engagement_by_code()).get(self.engagement_code)
        return None if found is None else Engagement.of(found)

    @strawberry.field(description="The invoice the mutation raised (prepareInvoice), read after its writes")
    async def invoice(self, info: Info) -> Invoice | None:
        if self.invoice_key is None:
            return None
        found = await info.context.loaders.invoice.load(self.invoice_key)
        return None if found is None else Invoice.of(found)

    @strawberry.field(description="The time entries the mutation wrote or posted, read after its writes")
    async def time_entries(self, info: Info) -> list[TimeEntry] | None:
        if self.posted_entry_keys is None:
            return None
        load = info.context.loaders.time_entry.load
        found = await asyncio.gather(*(load(k) for k in self.posted_entry_keys))
        return [TimeEntry.of(e) for e in found if e is not None]

    @classmethod
    def of(cls, result: records.WorkflowResult, field_names: dict[str, str]) -> WorkflowPayload:
        """`field_names`: the engine's input field names -> the GraphQL input's."""
        record = result.workflow
        errors = [
            UserError(
                field=["input", *(field_names.get(f, f) for f in e.field)],
                message=e.message,
                code=e.code,
            )
            for e in result.user_errors
        ]
        return cls.of_record(record, errors)

    @classmethod
    def of_record(cls, record: records.WorkflowRecord | None, errors: list[UserError]) -> WorkflowPayload:
        if record is None:
            return cls(workflow=None, user_errors=errors)
        code = record.input.get("engagement_code")
        result = record.result or {}
        postings = result.get("postings")
        keys = result.get("time_entry_keys")
        if postings is not None:
            keys = [record_key(p["psa"], p["time_entry_id"]) for p in postings if p.get("psa")]
        entries = result.get("entries")
        if entries is not None:
            keys = [record_key(e["system"], e["id"]) for e in entries]
        invoice = result.get("invoice_key")
        return cls(
            workflow=Workflow.of(record),
            user_errors=errors,
            engagement_code=code if isinstance(code, str) else None,
            posted_entry_keys=keys,
            invoice_key=invoice if isinstance(invoice, str) else None,
        )
