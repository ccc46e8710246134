"""`Mutation.submitTimeEntries`: one person's time entries, each written to the PSA owning its
engagement (`opsgraph.workflows.submit_time`). Merged into the root `Mutation` by `build_schema`."""

from __future__ import annotations

from datetime import date

import strawberry

from opsgraph.schema.mutation import check_key, decode_id, start_workflow
from opsgraph.schema.types.common import Info
from opsgraph.schema.types.workflow import WorkflowPayload

SUBMIT_TIME_ENTRIES_FIELDS = {
    "resource": "resourceId",
    "engagement_code": "engagementId",
    "engagementCode": "engagementId",
}
"""The engine's input fields -> SubmitTimeEntriesInput's (where a user error points)."""


@strawberry.input(description="One entry of time to log.")
class TimeEntryInput:
    engagement_id: strawberry.ID
    date: date
    hours: float
    notes: str | None = None
    task: str | None = strawberry.field(
        default=None, description="The task's name on the engagement; default: its first billable task"
    )


@strawberry.input(description="One person's time entries, each written to the PSA owning its engagement.")
class SubmitTimeEntriesInput:
    idempotency_key: str = strawberry.field(description="The same key answers the first call's result")
    resource_id: strawberry.ID = strawberry.field(description="The person (a Resource with an HR record)")
    entries: list[TimeEntryInput]


@strawberry.type
class TimeMutation:
    @strawberry.mutation(
        description="A person's time entries -> the PSA owning each engagement, after checking HR, the "
        "assignment, the engagement, the ERP period, the day's hours and duplicates (each entry written "
        "at most once, whatever the retries)."
    )
    async def submit_time_entries(self, info: Info, input: SubmitTimeEntriesInput) -> WorkflowPayload:
        errors = check_key(input.idempotency_key)
        resource = decode_id(input.resource_id, "Resource", ["resourceId"], errors)
        entries = []
        for n, entry in enumerate(input.entries):
            code = decode_id(entry.engagement_id, "Engagement", ["entries", str(n), "engagementId"], errors)
            entries.append(
                {
                    "engagement_code": code,
                    "date": entry.date,
                    "hours": entry.hours,
                    "notes": entry.notes,
                    "task": entry.task,
                }
            )
        if errors:
            return WorkflowPayload(workflow=None, user_errors=errors)
        data = {"resource": resource, "entries": entries}
        return await start_workflow(
            info, "submitTimeEntries", input.idempotency_key, data, SUBMIT_TIME_ENTRIES_FIELDS
        )
