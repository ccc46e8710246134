"""Inputs of the port writes (ARCHITECTURE section 4 mutations): frozen, canonical, vendor-free.

Ids are the target system's own ids; a link to a record in another system is a `SourceRef`
(the connector stores it in the vendor's external-id or reference field).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from opsgraph.model import BillingModel, Canonical, Money, SourceRef


class EngagementDraft(Canonical):
    """A delivery project to open in the PSA (convertOpportunity)."""

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    client: SourceRef  # the CRM client; the connector finds or creates its PSA client
    client_name: str
    opportunity: SourceRef | None = None
    billing_model: BillingModel = BillingModel.TIME_AND_MATERIALS
    hourly_rate: Decimal | None = None
    budget_hours: float | None = Field(None, ge=0)
    contract_value: Money | None = None
    start_date: date | None = None
    end_date: date | None = None


class AssignmentDraft(Canonical):
    user_id: str  # the PSA user (joined to HR by email)
    hourly_rate: Decimal | None = None
    budget_hours: float | None = Field(None, ge=0)


class BudgetChange(Canonical):
    """applyChangeRequest: the new budget; a `None` field is left as it is."""

    budget_hours: float | None = Field(None, ge=0)
    contract_value: Money | None = None


class TimeEntryDraft(Canonical):
    engagement_id: str
    user_id: str
    date: date
    hours: float = Field(gt=0, le=24)
    notes: str | None = None
    task: str | None = None


class CustomerDraft(Canonical):
    """An ERP customer, upserted on its external id = the CRM client."""

    client: SourceRef
    name: str = Field(min_length=1)
    legal_entity: str
    currency: str = Field(min_length=3, max_length=3)


class JobDraft(Canonical):
    """The ERP job of an engagement (its id in the ERP is the engagement code)."""

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    customer_id: str
    opportunity: SourceRef | None = None
    billing_model: BillingModel
    contract_value: Money | None = None
    practice: str | None = None
    start_date: date | None = None
    end_date: date | None = None


class TimePostingDraft(Canonical):
    """Approved PSA time posted to the ERP (postApprovedTime); `time_entry` is its external id."""

    time_entry: SourceRef
    job_id: str
    person_email: str
    date: date
    hours: float = Field(gt=0, le=24)
    memo: str | None = None


class InvoiceLineDraft(Canonical):
    description: str
    quantity: float
    rate: Money


class InvoiceDraft(Canonical):
    """An ERP invoice (prepareInvoice) for approved unbilled time or a milestone. `external_id`
    (derived from the engagement and period) makes its creation an upsert; `memo` is the vendor's
    reference field (the workflow puts its correlation id there)."""

    external_id: str = Field(min_length=1)
    customer_id: str
    job_id: str | None = None
    issue_date: date
    due_date: date
    currency: str = Field(min_length=3, max_length=3)
    lines: tuple[InvoiceLineDraft, ...] = Field(min_length=1)
    time_entries: tuple[SourceRef, ...] = ()  # the PSA entries it bills
    memo: str | None = None
