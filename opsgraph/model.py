"""Canonical models shared by every layer.

Connectors map vendor records into these; resolvers and the schema only ever see these.
Ids here are *canonical keys* (ARCHITECTURE.md section 3), never GraphQL global ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from opsgraph.shared import CompactRecord, compact


class Canonical(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


class Record(Canonical):
    """A record as one configured system holds it: `system` is that system's configured name
    (`psa-na`), `id` its own id there (a string, whatever the vendor's type).

    `key` (`system:id`) is the record's canonical key: unique across every system of the firm, so
    it is what loaders, cache keys, tags and global ids use.
    """

    system: StrictStr  # checked against SYSTEM_NAME once, in settings; not per record
    id: StrictStr = Field(min_length=1)

    @property
    def key(self) -> str:
        return f"{self.system}:{self.id}"


def record_key(system: str, record_id: str) -> str:
    """The canonical key of record `record_id` of `system` (what `Record.key` gives)."""
    return f"{system}:{record_id}"


def split_key(key: str) -> tuple[str, str]:
    """(system, id) of a canonical key; `ValueError` when it has no `:`."""
    system, sep, record_id = key.partition(":")
    if not sep or not system or not record_id:
        raise ValueError(f"not a system:id key: {key!r}")
    return system, record_id


class DataQualityIssue(Canonical):
    """A broken join or suspicious value: returned as data, never raised.

    `system` is the configured system the issue is about (where the record is, or where the missing
    link should be); `field` is the canonical field (`code`, `client_id`, `email`), never a vendor's.
    """

    code: str
    message: str
    system: str
    role: Role
    record_id: str | None = None
    field: str | None = None


class Client(Record):
    """A CRM client (account, company)."""

    name: str
    industry: str | None = None
    region: str | None = None
    billing_country: str | None = None
    legal_entity: str | None = None
    currency: str = "USD"
    modified_at: datetime | None = None


class Opportunity(Record):
    """A CRM opportunity (deal); `client_id` is its client's id in the same system."""

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


class Engagement(Record):
    """A delivery project in the PSA, joined to its ERP job and CRM opportunity by `code`.

    `psa_client_id` is the PSA's own client record (same system), not the CRM client.
    """

    code: str
    name: str
    psa_client_id: str | None = None
    is_active: bool = True
    billing_model: BillingModel = BillingModel.TIME_AND_MATERIALS
    hourly_rate: Decimal | None = None
    budget_hours: float | None = None
    start_date: date | None = None
    end_date: date | None = None
    notes: str | None = None


class ErpJob(Record):
    """The ERP side of an engagement: `code` is the engagement code, `opportunity_id` the CRM
    opportunity it came from (the job's external id)."""

    code: str
    name: str
    customer_id: str
    opportunity_id: str | None = None
    is_inactive: bool = False
    contract_value: Money | None = None
    billing_model: BillingModel | None = None
    practice: str | None = None
    start_date: date | None = None
    end_date: date | None = None


class ErpCustomer(Record):
    """An ERP customer; `client_id` (its external id) is the CRM client's id."""

    name: str
    client_id: str | None = None
    legal_entity: str | None = None
    currency: str = "USD"
    balance: Money | None = None


@compact(unshared=("id",))
@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment(CompactRecord):
    """A PSA user assigned to an engagement; `engagement_id` and `user_id` are ids in the same system.
    A hot record, compact (`shared.py`) like `TimeEntry`."""

    system: str
    id: str

    engagement_code: str
    engagement_id: str
    user_id: str
    hourly_rate: Decimal | None = None
    budget_hours: float | None = None
    is_active: bool = True


class Resource(Record):
    """A person: HR is the owner; the PSA user and the ERP employee are joined by email."""

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


class PsaUser(Record):
    """A PSA user: carries the capacity and default rate used for time."""

    name: str
    email: str
    is_active: bool = True
    weekly_capacity_hours: float = 40.0
    default_hourly_rate: Decimal | None = None
    cost_rate: Decimal | None = None


class TimeOff(Record):
    resource_id: str
    start: date
    end: date
    amount_days: float
    kind: str
    status: str


@compact(unshared=("id", "billable", "status", "updated_at"))
@dataclass(frozen=True, slots=True, kw_only=True)
class TimeEntry(CompactRecord):
    """PSA time; `user_id`, `engagement_id` and `invoice_id` (the PSA's own invoice) are ids in the
    same system.

    A hot record (a large PSA holds tens of thousands in the cache): compact (`shared.py`), not a pydantic
    model; the connectors validate the vendor's fields as they map them, so nothing is validated again."""

    system: str
    id: str
    date: date
    hours: float
    billable: bool
    status: TimeEntryStatus
    notes: str | None = None
    user_id: str
    user_name: str | None = None
    engagement_id: str
    engagement_code: str | None = None
    task: str | None = None
    currency: str  # the engagement's (its client's) currency: rates and amounts are in it
    bill_rate: Decimal | None = None
    cost_rate: Decimal | None = None
    invoice_id: str | None = None
    updated_at: datetime | None = None


AnyRecord = Record | CompactRecord
"""Any record of one system: what has a `system`, an `id` and a `key`."""


class TimePosting(Record):
    """Hours posted to the ERP; `time_entry_id` (its external id) is the PSA time entry's id."""

    time_entry_id: str | None
    job_id: str | None
    date: date
    hours: float


class InvoiceLine(Canonical):
    description: str
    quantity: float
    rate: Money
    amount: Money


class Invoice(Record):
    """An ERP invoice; `psa_invoice_id` (its external id) is the PSA invoice it was raised from."""

    number: str
    customer_id: str
    job_id: str | None = None
    status: InvoiceStatus
    issue_date: date
    due_date: date
    total: Money
    amount_due: Money
    lines: list[InvoiceLine] = Field(default_factory=list)
    psa_invoice_id: str | None = None


class InvoiceTotal(Canonical):
    """What one customer was invoiced on one job (or none) in one currency, from the ERP's aggregate:
    over the timeframe asked, or on one `issue_date` when totals were asked per issue date."""

    customer_id: str
    job_id: str | None = None
    issue_date: date | None = None
    total: Money
    invoices: int


class AccountingPeriod(Record):
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


class UnbilledTime(Canonical):
    """An engagement's approved, billable time not yet invoiced over a timeframe, from the PSA's
    uninvoiced report: its hours and value at the entries' bill rates, in the engagement's currency."""

    engagement_id: str
    hours: float
    amount: Decimal
    currency: str


class EngagementTimeTotals(Canonical):
    """An engagement's tracked time over a timeframe, from the PSA's time report."""

    engagement_id: str
    total_hours: float
    billable_hours: float
    billable_amount: Decimal
    currency: str
