"""Harvest's own writes, over a `HarvestClient`: time entries, invoices from time, projects, assignments.

These are the vendor operations the PSA port's writes (a later issue: `submit_time_entries`,
`mark_time_entries_billed`, `create_engagement`, `assign`) will be built from; until then they are
not part of the port. Ids in and out are strings, as everywhere above the wire. Writes are never
retried; `create_time_entry` is made idempotent by its `external_reference`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.harvest.mapping import (
    assignment_from_record,
    engagement_to_project_payload,
    harvest_id,
    project_to_engagement,
    time_entry_from_record,
    time_entry_to_payload,
)
from opsgraph.connectors.harvest.resources import INVOICES, PROJECT_USER_ASSIGNMENTS, PROJECTS, TIME_ENTRIES
from opsgraph.model import Assignment, Engagement, TimeEntry


def _vendor_id(value: str, what: str) -> int:
    vendor_id = harvest_id(value)
    if vendor_id is None:
        raise ValueError(f"not a Harvest {what} id: {value!r}")
    return vendor_id


class HarvestWriter:
    """Writes through `client` (its resilience, auth and system name)."""

    def __init__(self, client: HarvestClient) -> None:
        self.client = client

    async def time_entries_by_external_reference(self, ref_id: str) -> list[TimeEntry]:
        records = await self.client.collect(TIME_ENTRIES, {"external_reference_id": ref_id})
        return [time_entry_from_record(r, self.client.system) for r in records]

    async def create_time_entry(
        self,
        *,
        engagement_id: str,
        task_id: str,
        spent_date: date,
        hours: float,
        notes: str | None = None,
        user_id: str | None = None,
        external_reference: Mapping[str, str] | None = None,
    ) -> TimeEntry:
        """Create an entry; with an `external_reference` whose id already exists, return that entry."""
        payload = time_entry_to_payload(
            project_id=_vendor_id(engagement_id, "project"),
            task_id=_vendor_id(task_id, "task"),
            spent_date=spent_date,
            hours=hours,
            notes=notes,
            user_id=None if user_id is None else _vendor_id(user_id, "user"),
            external_reference=external_reference,
        )
        if external_reference is not None:
            existing = await self.time_entries_by_external_reference(str(external_reference["id"]))
            if existing:
                return existing[0]
        response = await self.client.request("POST", TIME_ENTRIES.path, json=payload, ok=(201,))
        return time_entry_from_record(response.body, self.client.system)

    async def update_time_entry(self, entry_id: str, fields: Mapping[str, Any]) -> TimeEntry:
        """PATCH `hours`, `notes`, `spent_date` (a date or ISO string), `task_id` or `external_reference`."""
        body = {k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()}
        path = f"{TIME_ENTRIES.path}/{_vendor_id(entry_id, 'time entry')}"
        response = await self.client.request("PATCH", path, json=body)
        return time_entry_from_record(response.body, self.client.system)

    async def delete_time_entry(self, entry_id: str) -> None:
        await self.client.request("DELETE", f"{TIME_ENTRIES.path}/{_vendor_id(entry_id, 'time entry')}")

    async def create_invoice_from_time(
        self,
        client_id: str,
        engagement_ids: Iterable[str],
        start: date,
        end: date,
        *,
        issue_date: date | None = None,
        due_date: date | None = None,
        subject: str | None = None,
        summary_type: str = "task",
    ) -> dict[str, Any]:
        """A draft invoice importing the approved, unbilled billable time; Harvest marks it billed."""
        body: dict[str, Any] = {
            "client_id": _vendor_id(client_id, "client"),
            "line_items_import": {
                "project_ids": [_vendor_id(i, "project") for i in engagement_ids],
                "time": {"summary_type": summary_type, "from": start.isoformat(), "to": end.isoformat()},
            },
        }
        for name, value in (("issue_date", issue_date), ("due_date", due_date)):
            if value is not None:
                body[name] = value.isoformat()
        if subject is not None:
            body["subject"] = subject
        response = await self.client.request("POST", INVOICES.path, json=body, ok=(201,))
        invoice: dict[str, Any] = response.body
        return invoice

    async def create_project(
        self, engagement: Engagement, *, contract_value: Decimal | None = None
    ) -> Engagement:
        payload = engagement_to_project_payload(engagement, contract_value=contract_value)
        response = await self.client.request("POST", PROJECTS.path, json=payload, ok=(201,))
        return project_to_engagement(response.body, self.client.system)

    async def update_project(self, engagement_id: str, fields: Mapping[str, Any]) -> Engagement:
        path = f"{PROJECTS.path}/{_vendor_id(engagement_id, 'project')}"
        response = await self.client.request("PATCH", path, json=dict(fields))
        return project_to_engagement(response.body, self.client.system)

    async def create_user_assignment(
        self,
        engagement_id: str,
        user_id: str,
        *,
        hourly_rate: Decimal | None = None,
        budget_hours: float | None = None,
    ) -> Assignment:
        body: dict[str, Any] = {"user_id": _vendor_id(user_id, "user")}
        if hourly_rate is not None:
            body["use_default_rates"], body["hourly_rate"] = False, float(hourly_rate)
        if budget_hours is not None:
            body["budget"] = budget_hours
        path = PROJECT_USER_ASSIGNMENTS.path.format(project_id=_vendor_id(engagement_id, "project"))
        response = await self.client.request("POST", path, json=body, ok=(201,))
        return assignment_from_record(response.body, self.client.system)
