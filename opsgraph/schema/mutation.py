"""The root Mutation: each field starts (or answers) a durable workflow (`opsgraph.workflows`).

- The workflow id derives from the caller (`RequestContext.caller`), the mutation and the input's
  `idempotencyKey`: a retry with the same key answers the first result and writes nothing.
- Inputs the business rules refuse are `userErrors` (no write); the same key with another input is
  a CONFLICT error; a system failing before any write is its SOURCE_* error; anything else INTERNAL.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

import strawberry
from graphql import GraphQLError

from opsgraph.schema.relay import from_global_id, to_global_id
from opsgraph.schema.types.common import Info
from opsgraph.schema.types.workflow import UserError, WorkflowPayload
from opsgraph.workflows import WorkflowEngine, WorkflowError, WorkflowNotParked

MAX_KEY_CHARS = 200


@strawberry.input(description="Approved PSA time of one engagement and period, posted to its ERP job.")
class PostApprovedTimeInput:
    idempotency_key: str = strawberry.field(description="The same key answers the first call's result")
    engagement_id: strawberry.ID
    from_: date = strawberry.field(name="from")
    to: date


@strawberry.input(
    description="An engagement's billing period to invoice: an ERP invoice from its approved, unbilled "
    "time (or fixed-fee instalment), then its PSA entries marked billed."
)
class PrepareInvoiceInput:
    idempotency_key: str = strawberry.field(description="The same key answers the first call's result")
    engagement_id: strawberry.ID
    from_: date = strawberry.field(name="from", description="The billing period's first day")
    to: date = strawberry.field(description="The billing period's last day (before today)")


@strawberry.input(description="A person to put on the new engagement (an active PSA user, by email).")
class AssignmentInput:
    email: str
    hourly_rate: Decimal | None = None
    budget_hours: float | None = None


@strawberry.input(
    description="A closed-won opportunity to convert: ERP customer and job, PSA project and people, "
    "the engagement code back on the opportunity."
)
class ConvertOpportunityInput:
    idempotency_key: str = strawberry.field(description="The same key answers the first call's result")
    opportunity_id: strawberry.ID
    engagement_code: str
    engagement_name: str | None = strawberry.field(
        default=None, description="Default: the opportunity's name"
    )
    budget_hours: float | None = None
    hourly_rate: Decimal | None = None
    start_date: date | None = None
    end_date: date | None = None
    people: list[AssignmentInput] | None = None


CONVERT_OPPORTUNITY_FIELDS = {
    "opportunity": "opportunityId",
    "engagement_code": "engagementCode",
    "engagementCode": "engagementCode",
    "engagement_name": "engagementName",
    "budget_hours": "budgetHours",
    "hourly_rate": "hourlyRate",
    "start_date": "startDate",
    "end_date": "endDate",
    "hourlyRate": "hourlyRate",
}
"""The engine's input fields -> ConvertOpportunityInput's."""

POST_APPROVED_TIME_FIELDS = {
    "engagement_code": "engagementId",
    "engagementCode": "engagementId",
    "start": "from",
    "end": "to",
}
"""The engine's input fields -> PostApprovedTimeInput's (where a user error points)."""

PREPARE_INVOICE_FIELDS = POST_APPROVED_TIME_FIELDS
"""The engine's input fields -> PrepareInvoiceInput's (the same shape as PostApprovedTimeInput)."""


def engine_of(info: Info) -> WorkflowEngine:
    engine = info.context.workflows
    if engine is None:
        raise RuntimeError("the workflow engine is not running (app lifespan not run?)")
    return engine


def _refused(exc: WorkflowError) -> NoReturn:
    extensions: dict[str, Any] = {"code": exc.code}
    if exc.workflow_id is not None:
        extensions["workflowId"] = to_global_id("Workflow", exc.workflow_id)
    raise GraphQLError(str(exc), extensions=extensions) from exc


def check_key(key: str) -> list[UserError]:
    """The input's idempotency key, checked: a user error for a blank or overlong one."""
    if key.strip() and len(key) <= MAX_KEY_CHARS:
        return []
    message = f"idempotencyKey must be 1 to {MAX_KEY_CHARS} characters, not blank"
    return [UserError(field=["input", "idempotencyKey"], message=message, code="BAD_USER_INPUT")]


def decode_id(global_id: strawberry.ID, type_name: str, path: list[str], errors: list[UserError]) -> str:
    """The key inside an input's id of `type_name`; a malformed one adds a user error at
    `["input", *path]` (and gives "")."""
    try:
        return from_global_id(global_id, type_name)[1]
    except GraphQLError as exc:
        errors.append(UserError(field=["input", *path], message=exc.message, code="BAD_USER_INPUT"))
        return ""


async def start_workflow(
    info: Info, kind: str, key: str, data: dict[str, Any], fields: dict[str, str]
) -> WorkflowPayload:
    """Start (or answer) the workflow `kind` for the caller; `fields` map the engine's input fields to
    the GraphQL input's, where user errors point."""
    try:
        result = await engine_of(info).start(
            kind,
            data,
            idempotency_key=key,
            caller=info.context.caller.subject if info.context.caller else "anonymous",
            correlation_id=info.context.correlation_id,
        )
    except WorkflowError as exc:
        _refused(exc)
    return WorkflowPayload.of(result, fields)


def _workflow_id(id: strawberry.ID) -> str:
    return from_global_id(id, "Workflow")[1]


async def _operate(info: Info, id: strawberry.ID, note: str | None) -> WorkflowPayload:
    engine, workflow_id = engine_of(info), _workflow_id(id)
    try:
        if note is None:
            result = await engine.replay(workflow_id)
        else:
            result = await engine.resolve(workflow_id, note)
    except WorkflowNotParked as exc:
        error = UserError(field=["id"], message=str(exc), code="NOT_PARKED")
        return WorkflowPayload.of_record(await engine.get(workflow_id), [error])
    except WorkflowError as exc:
        _refused(exc)
    return WorkflowPayload.of(result, {})


async def _start_period(
    info: Info, kind: str, input: PostApprovedTimeInput | PrepareInvoiceInput, fields: dict[str, str]
) -> WorkflowPayload:
    """A workflow over one engagement and period (postApprovedTime, prepareInvoice)."""
    errors = check_key(input.idempotency_key)
    code = decode_id(input.engagement_id, "Engagement", ["engagementId"], errors)
    if errors:
        return WorkflowPayload(workflow=None, user_errors=errors)
    data = {"engagement_code": code, "start": input.from_, "end": input.to}
    return await start_workflow(info, kind, input.idempotency_key, data, fields)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Approved PSA time of the engagement in the range -> one ERP time posting per entry "
        "(each entry posted at most once, whatever the retries)."
    )
    async def post_approved_time(self, info: Info, input: PostApprovedTimeInput) -> WorkflowPayload:
        return await _start_period(info, "postApprovedTime", input, POST_APPROVED_TIME_FIELDS)

    @strawberry.mutation(
        description="An engagement's billing period -> ERP invoice -> its PSA entries marked billed; "
        "the readiness check must pass, and a capped contract over its cap is PARKED for finance."
    )
    async def prepare_invoice(self, info: Info, input: PrepareInvoiceInput) -> WorkflowPayload:
        return await _start_period(info, "prepareInvoice", input, PREPARE_INVOICE_FIELDS)

    @strawberry.mutation(
        description="Closed-won opportunity -> ERP customer and job -> PSA project and people -> the "
        "engagement code back to the CRM; a failure part way undoes the job and the project."
    )
    async def convert_opportunity(self, info: Info, input: ConvertOpportunityInput) -> WorkflowPayload:
        errors = check_key(input.idempotency_key)
        opportunity = decode_id(input.opportunity_id, "Opportunity", ["opportunityId"], errors)
        if errors:
            return WorkflowPayload(workflow=None, user_errors=errors)
        data = {
            "opportunity": opportunity,
            "engagement_code": input.engagement_code,
            "engagement_name": input.engagement_name,
            "budget_hours": input.budget_hours,
            "hourly_rate": input.hourly_rate,
            "start_date": input.start_date,
            "end_date": input.end_date,
            "people": [
                {"email": p.email, "hourly_rate": p.hourly_rate, "budget_hours": p.budget_hours}
                for p in input.people or []
            ],
        }
        return await start_workflow(
            info, "convertOpportunity", input.idempotency_key, data, CONVERT_OPPORTUNITY_FIELDS
        )

    @strawberry.mutation(
        description="Resume a PARKED workflow from its first undone step (its writes are idempotent)."
    )
    async def replay_workflow(self, info: Info, id: strawberry.ID) -> WorkflowPayload:
        return await _operate(info, id, None)

    @strawberry.mutation(
        description="Close a PARKED workflow by hand: what it wrote stays, the note says why."
    )
    async def resolve_workflow(self, info: Info, id: strawberry.ID, note: str) -> WorkflowPayload:
        if not note.strip():
            error = UserError(field=["note"], message="a note is required", code="BAD_USER_INPUT")
            return WorkflowPayload(workflow=None, user_errors=[error])
        return await _operate(info, id, note)
