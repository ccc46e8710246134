"""Listing filters the ports push down to the vendor: small, frozen, canonical.

A `None` field does not filter. Date ranges are inclusive on both ends and `start <= end`.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import model_validator

from opsgraph.model import Canonical


class DateRange(Canonical):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class OpportunityFilter(Canonical):
    is_closed: bool | None = None
    stage: str | None = None  # the stage's label; an unknown stage matches nothing


class EngagementFilter(Canonical):
    is_active: bool | None = None


class AssignmentFilter(Canonical):
    is_active: bool | None = None


class TimeEntryFilter(DateRange):
    """Entries whose date is in `start..end` (required: time is always read by range)."""

    engagement_id: str | None = None
    user_id: str | None = None
    is_billed: bool | None = None
    updated_since: datetime | None = None


class TimeOffFilter(DateRange):
    """Time off overlapping `start..end`."""

    status: str = "approved"
    resource_id: str | None = None


class InvoiceFilter(Canonical):
    open_only: bool = False  # only invoices with money still due
