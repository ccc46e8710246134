"""The world's records: vendor-neutral rows that carry every system's id, and the firm's constants.

Each simulator picks the columns its vendor has. A client and an opportunity carry an id in each
CRM the firm might run (Salesforce and HubSpot), so one world serves either CRM with the same figures;
`World.crm` says which of them the other systems hold as their cross-reference (`world/views.py`).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

Profile = Literal["small", "large"]

DEFAULT_AS_OF = date(2026, 11, 20)
"""The world's "today". Fixed so that a seed always means the same data."""

PROFILES: dict[str, dict[str, int]] = {
    "small": {"clients": 40, "opportunities": 120, "engagements": 100, "people": 150},
    "large": {"clients": 400, "opportunities": 1200, "engagements": 1000, "people": 1500},
}

INDUSTRIES = [
    "Financial Services",
    "Healthcare",
    "Retail",
    "Energy",
    "Manufacturing",
    "Public Sector",
    "Media",
]
REGIONS = {
    "AMER": ["United States", "Canada"],
    "EMEA": ["United Kingdom", "Germany", "France"],
    "APAC": ["Australia"],
}
PRACTICES = ["Strategy", "Technology", "Operations", "Finance Advisory"]
LOCATIONS = ["New York", "Chicago", "London", "Berlin", "Sydney", "Toronto"]
FIRST = [
    "Ada",
    "Ben",
    "Cleo",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Iris",
    "Jon",
    "Kira",
    "Liam",
    "Maya",
    "Nico",
    "Olga",
    "Priya",
    "Quinn",
    "Ravi",
    "Sara",
    "Tomas",
    "Uma",
    "Vik",
    "Wen",
    "Xavi",
    "Yara",
    "Zane",
]
LAST = [
    "Adams",
    "Brooks",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Singh",
    "Tanaka",
    "Ueda",
    "Volkov",
]
COMPANY_A = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Oscorp",
    "Massive",
    "Nakatomi",
    "Gringotts",
    "Aperture",
    "Blue Sun",
]
COMPANY_B = [
    "Holdings",
    "Group",
    "Industries",
    "Partners",
    "Labs",
    "Systems",
    "Bank",
    "Health",
    "Energy",
    "Retail",
]
# (title, level) -> (bill rate, cost rate) per hour: the firm's rate card.
RATE_CARD: dict[str, tuple[int, int]] = {
    "Analyst": (150, 55),
    "Consultant": (195, 70),
    "Senior Consultant": (240, 88),
    "Manager": (290, 110),
    "Senior Manager": (340, 135),
    "Director": (400, 170),
    "Partner": (475, 220),
}
TITLE_WEIGHTS = [
    ("Analyst", 22),
    ("Consultant", 28),
    ("Senior Consultant", 22),
    ("Manager", 14),
    ("Senior Manager", 7),
    ("Director", 4),
    ("Partner", 3),
]
TASKS = {1: ("Delivery", True), 2: ("Project Management", True), 3: ("Internal", False)}
ENGAGEMENT_KINDS = ["Program", "Review", "Rollout", "Sprint"]
BILLING_MODELS = ["TIME_AND_MATERIALS", "FIXED_FEE", "CAPPED"]

CRMS = ("salesforce", "hubspot")
"""The CRMs a world carries ids for; `World.crm` is one of them."""
HUBSPOT_COMPANY_BASE = 9_000_000_000
HUBSPOT_DEAL_BASE = 8_000_000_000
"""HubSpot ids are these plus the number the Salesforce id of the same record encodes."""

_SF_CHECKSUM = string.ascii_uppercase + "012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def salesforce_id(prefix: str, n: int) -> str:
    """An 18-character Salesforce id with a valid case-safe checksum suffix."""
    digits = ""
    for _ in range(9):
        n, r = divmod(n, 62)
        digits = _BASE62[r] + digits
    base = f"{prefix}5g0{digits}"
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(base[chunk * 5 : chunk * 5 + 5]) if ch.isupper())
        suffix += _SF_CHECKSUM[bits]
    return base + suffix


@dataclass(slots=True)
class Client:
    sf_id: str
    name: str
    industry: str
    region: str
    country: str
    legal_entity: str | None
    currency: str
    harvest_client_id: int
    ns_customer_id: str
    modified_at: datetime
    hubspot_id: str  # the HubSpot company id


@dataclass(slots=True)
class Opportunity:
    sf_id: str
    account_id: str
    name: str
    stage: str
    amount: Decimal
    close_date: date
    probability: int
    is_closed: bool
    is_won: bool
    billing_model: str
    practice: str
    engagement_code: str | None
    modified_at: datetime
    hubspot_id: str  # the HubSpot deal id


@dataclass(slots=True)
class Engagement:
    code: str
    name: str
    client: Client
    opportunity_id: str
    billing_model: str
    practice: str
    start: date
    end: date
    contract_value: Decimal
    budget_hours: float
    hourly_rate: Decimal
    harvest_project_id: int
    ns_job_id: str | None  # None: drift, the project is missing in the ERP
    is_active: bool
    erp_inactive: bool  # drift: closed in the ERP while delivery goes on
    modified_at: datetime
    hubspot_deal_id: str  # the HubSpot id of the deal `opportunity_id` names in Salesforce


@dataclass(slots=True)
class Person:
    bamboo_id: str | None  # None: drift, a PSA user with no HR record
    harvest_user_id: int
    ns_employee_id: str
    first: str
    last: str
    email: str
    title: str
    department: str
    division: str
    location: str
    supervisor: Person | None
    hire_date: date
    bill_rate: Decimal
    cost_rate: Decimal
    weekly_capacity_hours: float
    status: str
    billable: bool
    modified_at: datetime

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(slots=True)
class Assignment:
    id: int
    engagement: Engagement
    person: Person
    hourly_rate: Decimal | None  # None: drift, a missing rate
    budget_hours: float
    is_active: bool


@dataclass(slots=True)
class TimeEntry:
    id: int
    spent_date: date
    hours: float
    notes: str
    person: Person
    engagement: Engagement
    task_id: int
    billable: bool
    billable_rate: Decimal | None
    cost_rate: Decimal
    is_closed: bool  # approved
    harvest_invoice_id: int | None
    ns_timebill_id: str | None  # posted to the ERP
    created_at: datetime
    updated_at: datetime

    @property
    def is_billed(self) -> bool:
        return self.harvest_invoice_id is not None


@dataclass(slots=True)
class InvoiceLine:
    description: str
    quantity: float
    rate: Decimal
    amount: Decimal


@dataclass(slots=True)
class Invoice:
    ns_id: str
    harvest_invoice_id: int
    number: str
    client: Client
    engagement: Engagement
    issue_date: date
    due_date: date
    period_start: date
    period_end: date
    lines: list[InvoiceLine]
    amount_paid: Decimal
    modified_at: datetime

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.amount_paid


@dataclass(slots=True)
class TimeOff:
    id: int
    person: Person
    start: date
    end: date
    days: float
    kind: str
    status: str


@dataclass(slots=True)
class AccountingPeriod:
    id: str
    name: str
    start: date
    end: date
    closed: bool


@dataclass(slots=True)
class Drift:
    """The inconsistencies seeded on purpose, so reconciliation has something to find."""

    unposted_entry_ids: list[int] = field(default_factory=list)
    engagement_missing_in_erp: str = ""
    engagement_inactive_in_erp: str = ""
    client_without_legal_entity: str = ""
    person_missing_in_hr: int = 0
    assignment_without_rate: int = 0
    capped_over_budget: str = ""


@dataclass(slots=True, repr=False)
class World:
    seed: int
    profile: str
    as_of: date
    clients: list[Client]
    opportunities: list[Opportunity]
    engagements: list[Engagement]
    people: list[Person]
    assignments: list[Assignment]
    time_entries: list[TimeEntry]
    invoices: list[Invoice]
    time_off: list[TimeOff]
    periods: list[AccountingPeriod]
    drift: Drift
    crm: str = "salesforce"
    """The firm's CRM (one of `CRMS`): whose client and opportunity ids the ERP holds as external ids."""
    psa: dict[str, str] = field(default_factory=dict)
    """The PSA holding each region's delivery records (`world/psa_ids.py`); a region not named: Harvest."""

    def __repr__(self) -> str:
        """Short: the full repr runs to tens of MB (pytest renders fixture values that hold a world)."""
        return (
            f"World(seed={self.seed}, profile={self.profile!r}, crm={self.crm!r}, psa={self.psa!r}, "
            f"{self.counts()})"
        )

    def counts(self) -> dict[str, int]:
        return {
            "clients": len(self.clients),
            "opportunities": len(self.opportunities),
            "engagements": len(self.engagements),
            "people": len(self.people),
            "assignments": len(self.assignments),
            "time_entries": len(self.time_entries),
            "invoices": len(self.invoices),
            "time_off": len(self.time_off),
            "periods": len(self.periods),
        }
