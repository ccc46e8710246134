"""`Mutation.applyChangeRequest`: an engagement's new budget hours and/or contract value carried to
the CRM, the PSA and the ERP (`opsgraph.workflows.change_request`). Merged into the root `Mutation`
by `build_schema`."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from opsgraph.schema.mutation import check_key, decode_id, start_workflow
from opsgraph.schema.types.common import Info
from opsgraph.schema.types.workflow import WorkflowPayload

CHANGE_REQUEST_FIELDS = {
    "engagement_code": "engagementId",
    "engagementCode": "engagementId",
    "budget_hours": "budgetHours",
    "contract_value": "contractValue",
}
"""The engine's input fields -> ChangeRequestInput's (where a user error points)."""


@strawberry.input(
    description="A change to an engagement's budget hours and/or contract value, with its reason."
)
class ChangeRequestInput:
    idempotency_key: str = strawberry.field(description="The same key answers the first call's result")
    engagement_id: strawberry.ID
    reason: str
    budget_hours: float | None = None
    contract_value: Decimal | None = strawberry.field(
        default=None, description="In the contract's currency (the ERP job's)"
    )
    currency: str | None = strawberry.field(
        default=None, description="The contract value's currency, checked against the ERP job's"
    )


@strawberry.type
class ChangeMutation:
    @strawberry.mutation(
        description="New budget hours and/or contract value -> the CRM opportunity's amount, the PSA "
        "budget and the ERP job's contract value; a failure part way restores the values before."
    )
    async def apply_change_request(self, info: Info, input: ChangeRequestInput) -> WorkflowPayload:
        errors = check_key(input.idempotency_key)
        code = decode_id(input.engagement_id, "Engagement", ["engagementId"], errors)
        if errors:
            return WorkflowPayload(workflow=None, user_errors=errors)
        data = {
            "engagement_code": code,
            "budget_hours": input.budget_hours,
            "contract_value": input.contract_value,
            "currency": input.currency,
            "reason": input.reason,
        }
        return await start_workflow(
            info, "applyChangeRequest", input.idempotency_key, data, CHANGE_REQUEST_FIELDS
        )
