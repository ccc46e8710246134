"""Canonical models shared by every layer.

Connectors map vendor records into these; resolvers and the schema only ever see these.
Ids here are *canonical keys* (ARCHITECTURE.md section 3), never GraphQL global ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictStr


class Canonical(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceName(StrEnum):
    SALESFORCE = "salesforce"
    HARVEST = "harvest"
    BAMBOOHR = "bamboohr"
    NETSUITE = "netsuite"


class Role(StrEnum):
    """What a system does for the firm; each role has one port (`opsgraph.roles`)."""

    CRM = "crm"
    PSA = "psa"
    HR = "hr"
    ERP = "erp"


SYSTEM_NAME = r"^[a-z][a-z0-9_-]*$"
"""A configured system's name (`psa-emea`): lower case, no `:`, so `system:id` splits at the first `:`."""


class SourceRef(Canonical):
    """Where a record lives: a configured system and the record's id there (always a string).

    `system` is the configured name (`psa-na`), not the vendor; `role` and `vendor` say what that
    system is, so a ref is meaningful without the settings. Equal refs name the same record.
    """

    system: StrictStr = Field(pattern=SYSTEM_NAME)
    role: Role
    vendor: StrictStr = Field(min_length=1)
    id: StrictStr = Field(min_length=1)

    def __str__(self) -> str:
        """`system:id`: the record's key in cache keys, tags and global ids."""
        return f"{self.system}:{self.id}"

    @classmethod
    def parse(cls, key: str, *, role: Role, vendor: str) -> SourceRef:
        """The ref whose `str()` is `key`; `role` and `vendor` come from the system's settings.

        Raises `ValueError` when `key` has no `:` or its system name is not valid.
        """
        system, sep, record_id = key.partition(":")
        if not sep:
            raise ValueError(f"not a system:id key: {key!r}")
        return cls(system=system, role=role, vendor=vendor, id=record_id)


class BillingModel(StrEnum):
    TIME_AND_MATERIALS = "TIME_AND_MATERIALS"
    FIXED_FEE = "FIXED_FEE"
    CAPPED = "CAPPED"


class EngagementStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"


class TimeEntryStatus(StrEnum):
    UNAPPROVED = "UNAPPROVED"
    APPROVED = "APPROVED"
    BILLED = "BILLED"


class InvoiceStatus(StrEnum):
    OPEN = "OPEN"
    PAID = "PAID"


class ResourceStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class MixedCurrencyError(ValueError):
    """Two amounts in different currencies were about to be added: convert one first."""


class Money(Canonical):
    amount: Decimal
    currency: str = "USD"

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str = "USD") -> Money:
        return cls(amount=Decimal(amount).quantize(Decimal("0.01")), currency=currency)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise MixedCurrencyError(f"cannot add {other.currency} to {self.currency} without converting")
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return self + Money(amount=-other.amount, currency=other.currency)

    @classmethod
    def total(cls, amounts: Iterable[Money], currency: str) -> Money:
        """The sum of amounts that are all in `currency` (zero when there are none); mixed raise."""
        out = cls(amount=Decimal("0.00"), currency=currency)
        for m in amounts:
            out = out + m
        return out


class DataQualityIssue(Canonical):
    """A broken join or suspicious value: returned as data, never raised."""

    code: str
    message: str
    source: SourceName
    record_id: str | None = None
    field: str | None = None


class SourceLinks(Canonical):
    """The record's ids in each system it lives in (None where the link is missing)."""

    salesforce_id: str | None = None
    harvest_id: str | None = None
    bamboohr_id: str | None = None
    netsuite_id: str | None = None


class Client(Canonical):
    id: str  # Salesforce Account Id
    name: str
    industry: str | None = None
    region: str | None = None
    billing_country: str | None = None
    legal_entity: str | None = None
    currency: str = "USD"
    modified_at: datetime | None = None


class Opportunity(Canonical):
    id: str  # Salesforce Opportunity Id
    name: str
    client_id: str
    stage: str
    amount: Money | None = None
    close_date: date | None = None
    probability: float = 0.0
    is_closed: bool = False
    is_won: bool = False
    billing_model: BillingModel | None = None
    practice: str | None = None
    engagement_code: str | None = None
    modified_at: datetime | None = None


class Engagement(Canonical):
    """A delivery project (Harvest) joined to its finance job (NetSuite) by code."""

    code: str
    name: str
    harvest_project_id: int
    harvest_client_id: int | None = None
    is_active: bool = True
    billing_model: BillingModel = BillingModel.TIME_AND_MATERIALS
    hourly_rate: Decimal | None = None
    budget_hours: float | None = None
    start_date: date | None = None
    end_date: date | None = None
    notes: str | None = None


class ErpJob(Canonical):
    """The NetSuite side of an engagement."""

    id: str
    code: str  # entityId
    name: str
    customer_id: str
    opportunity_id: str | None = None  # externalId
    is_inactive: bool = False
    contract_value: Money | None = None
    billing_model: BillingModel | None = None
    practice: str | None = None
    start_date: date | None = None
    end_date: date | None = None


class ErpCustomer(Canonical):
    id: str
    name: str
    account_id: str | None = None  # externalId = Salesforce Account Id
    legal_entity: str | None = None
    currency: str = "USD"
    balance: Money | None = None


class Assignment(Canonical):
    id: int
    engagement_code: str
    harvest_project_id: int
    harvest_user_id: int
    hourly_rate: Decimal | None = None
    budget_hours: float | None = None
    is_active: bool = True


class Resource(Canonical):
    """A person: HR is the owner, Harvest and NetSuite are joined by email."""

    id: str  # BambooHR employee id
    name: str
    first_name: str | None = None
    last_name: str | None = None
    email: str
    title: str | None = None
    department: str | None = None
    division: str | None = None
    location: str | None = None
    status: ResourceStatus = ResourceStatus.ACTIVE
    manager_id: str | None = None
    hire_date: date | None = None
    cost_rate: Money | None = None


class PsaUser(Canonical):
    """A Harvest user: carries the capacity and default rate used for time."""

    id: int
    name: str
    email: str
    is_active: bool = True
    weekly_capacity_hours: float = 40.0
    default_hourly_rate: Decimal | None = None
    cost_rate: Decimal | None = None


class TimeOff(Canonical):
    id: str
    resource_id: str
    start: date
    end: date
    amount_days: float
    kind: str
    status: str


class TimeEntry(Canonical):
    id: int  # Harvest time entry id
    date: date
    hours: float
    billable: bool
    status: TimeEntryStatus
    notes: str | None = None
    harvest_user_id: int
    user_name: str | None = None
    harvest_project_id: int
    engagement_code: str | None = None
    task: str | None = None
    currency: str  # the engagement's (its client's) currency: rates and amounts are in it
    bill_rate: Decimal | None = None
    cost_rate: Decimal | None = None
    harvest_invoice_id: int | None = None
    updated_at: datetime | None = None


class ErpTimeBill(Canonical):
    """Hours posted to NetSuite; externalId links back to the Harvest entry."""

    id: str
    harvest_entry_id: int | None
    job_id: str | None
    date: date
    hours: float


class InvoiceLine(Canonical):
    description: str
    quantity: float
    rate: Money
    amount: Money


class Invoice(Canonical):
    id: str  # NetSuite invoice id
    number: str
    customer_id: str
    job_id: str | None = None
    status: InvoiceStatus
    issue_date: date
    due_date: date
    total: Money
    amount_due: Money
    lines: list[InvoiceLine] = Field(default_factory=list)
    harvest_invoice_id: int | None = None


class AccountingPeriod(Canonical):
    id: str
    name: str
    start: date
    end: date
    closed: bool


class ExchangeRate(Canonical):
    """One ERP consolidated exchange rate: 1 `from_currency` = rate x `to_currency` in a period.

    `average_rate` is the period's weighted average (for flows such as revenue), `current_rate` the
    rate at the period's end (for balances), `historical_rate` the one for equity accounts.
    """

    from_currency: str
    to_currency: str
    period_id: str
    average_rate: Decimal
    current_rate: Decimal
    historical_rate: Decimal


class ProjectTimeTotals(Canonical):
    """A Harvest project's tracked time over a timeframe (Harvest's Time Reports: Projects)."""

    harvest_project_id: int
    total_hours: float
    billable_hours: float
    billable_amount: Decimal
    currency: str
