"""The PSA port: engagements (projects), users, assignments, time entries, time aggregates, billing.

Change polling covers `Entity.ENGAGEMENT`, `Entity.ASSIGNMENT` and `Entity.TIME_ENTRY`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Protocol, runtime_checkable

from opsgraph.model import (
    Assignment,
    Engagement,
    EngagementTimeTotals,
    PsaUser,
    SourceRef,
    TimeEntry,
    UnbilledTime,
)
from opsgraph.roles.base import SystemPort
from opsgraph.roles.drafts import AssignmentDraft, BudgetChange, EngagementDraft, TimeEntryDraft
from opsgraph.roles.filters import AssignmentFilter, EngagementFilter, TimeEntryFilter


@runtime_checkable
class PsaPort(SystemPort, Protocol):
    async def engagements_by_ids(self, ids: Iterable[str]) -> Mapping[str, Engagement]:
        """Engagements by PSA project id; unknown ids are absent."""
        ...

    async def engagements_by_codes(self, codes: Iterable[str]) -> Mapping[str, Engagement]:
        """Engagements by engagement code (exact match); unknown codes are absent."""
        ...

    async def list_engagements(self, filter: EngagementFilter | None = None) -> list[Engagement]:
        """Engagements matching `filter`, ordered by id."""
        ...

    async def list_users(self) -> list[PsaUser]:
        """Every PSA user (active and not), with capacity and default rates."""
        ...

    async def list_assignments(self, filter: AssignmentFilter | None = None) -> list[Assignment]:
        """Assignments of people to engagements matching `filter`."""
        ...

    async def assignments_by_engagement_ids(self, ids: Iterable[str]) -> Mapping[str, list[Assignment]]:
        """Each engagement's assignments; `[]` for an engagement with none or unknown."""
        ...

    async def list_time_entries(self, filter: TimeEntryFilter) -> list[TimeEntry]:
        """Entries dated in the filter's range and matching its other fields, newest first."""
        ...

    async def time_entries_by_ids(self, ids: Iterable[str]) -> Mapping[str, TimeEntry]:
        """Time entries by id; unknown ids are absent."""
        ...

    async def hours_by_engagement(self, start: date, end: date) -> Mapping[str, EngagementTimeTotals]:
        """The vendor's time report: hours and billable amount per engagement id over `start..end`
        (inclusive); an engagement with no time in the range is absent."""
        ...

    async def unbilled_by_engagement(self, start: date, end: date) -> Mapping[str, UnbilledTime]:
        """Approved, billable time not yet invoiced, dated `start..end` (inclusive), per engagement id
        (the vendor's uninvoiced report where it has one); an engagement with none is absent."""
        ...

    # -- writes (convertOpportunity, submitTimeEntries, prepareInvoice, applyChangeRequest) -----

    async def create_engagement(self, draft: EngagementDraft, *, idempotency_key: str) -> Engagement:
        """Open the project with its budget; with a code that exists already, answer that engagement."""
        ...

    async def archive_engagement(self, engagement_id: str, *, idempotency_key: str) -> None:
        """Deactivate the project (compensation of `create_engagement`)."""
        ...

    async def assign(
        self, engagement_id: str, assignments: Sequence[AssignmentDraft], *, idempotency_key: str
    ) -> list[Assignment]:
        """Assign people with their rates and budgets; an existing assignment is updated, not doubled."""
        ...

    async def set_engagement_budget(
        self, engagement_id: str, change: BudgetChange, *, idempotency_key: str
    ) -> Engagement:
        """Apply a change request's budget hours and contract value."""
        ...

    async def submit_time_entries(
        self, entries: Sequence[TimeEntryDraft], *, idempotency_key: str
    ) -> list[TimeEntry]:
        """Create the entries, in order; each carries an external reference derived from the key, so a
        repeat answers the entries already created."""
        ...

    async def mark_time_entries_billed(
        self, entry_ids: Sequence[str], invoice: SourceRef, *, idempotency_key: str
    ) -> None:
        """Mark entries billed by the ERP invoice `invoice` (absolute: safe to repeat)."""
        ...
