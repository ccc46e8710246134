"""What the simulated org knows about its objects: fields, types, writability, picklists.

One description drives the SQLite schema, the SOQL tables, JSON output and write validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from opsgraph.connectors.salesforce.mapping import BILLING_MODEL_PICKLIST
from simulators.simkit.query import Table

Kind = Literal["id", "string", "picklist", "reference", "currency", "percent", "boolean", "date", "datetime"]

API_VERSION = "v60.0"
API = f"/services/data/{API_VERSION}"

CURRENCIES = ("USD", "EUR", "GBP", "AUD", "CAD")
STAGES: dict[str, tuple[float, bool, bool]] = {
    # StageName -> (default probability, IsClosed, IsWon): the org's opportunity stages.
    "Prospecting": (10.0, False, False),
    "Qualification": (25.0, False, False),
    "Proposal": (50.0, False, False),
    "Negotiation": (75.0, False, False),
    "Closed Won": (100.0, True, True),
    "Closed Lost": (0.0, True, False),
}


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    writable: bool = True
    required: bool = False  # on create
    max_length: int | None = None
    values: tuple[str, ...] = ()  # a restricted picklist's values
    reference_to: str | None = None


@dataclass(frozen=True)
class SObject:
    name: str
    prefix: str
    sql_table: str
    fields: tuple[Field, ...]
    relationships: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (target, fk field)
    external_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_lower", {f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> Field | None:
        by_lower: dict[str, Field] = self.__dict__["_by_lower"]
        return by_lower.get(name.lower())

    def table(self) -> Table:
        temporal = frozenset(f.name for f in self.fields if f.kind in ("date", "datetime"))
        return Table(
            name=self.name,
            sql_table=self.sql_table,
            columns={f.name: f.name for f in self.fields},
            relationships=dict(self.relationships),
            date_columns=temporal,
            datetime_columns=frozenset(f.name for f in self.fields if f.kind == "datetime"),
        )

    def url(self, record_id: str) -> str:
        return f"{API}/sobjects/{self.name}/{record_id}"


_AUDIT = (
    Field("SystemModstamp", "datetime", writable=False),
    Field("CreatedDate", "datetime", writable=False),
    Field("LastModifiedDate", "datetime", writable=False),
)

ACCOUNT = SObject(
    name="Account",
    prefix="001",
    sql_table="account",
    fields=(
        Field("Id", "id", writable=False),
        Field("Name", "string", required=True, max_length=255),
        Field("Industry", "string", max_length=255),
        Field("BillingCountry", "string", max_length=80),
        Field("Region__c", "string", max_length=255),
        Field("Legal_Entity__c", "string", max_length=255),
        Field("CurrencyIsoCode", "picklist", values=CURRENCIES),
        *_AUDIT,
    ),
)

OPPORTUNITY = SObject(
    name="Opportunity",
    prefix="006",
    sql_table="opportunity",
    fields=(
        Field("Id", "id", writable=False),
        Field("Name", "string", required=True, max_length=120),
        Field("AccountId", "reference", reference_to="Account"),
        Field("StageName", "picklist", required=True, values=tuple(STAGES)),
        Field("Amount", "currency"),
        Field("CloseDate", "date", required=True),
        Field("Probability", "percent"),
        Field("IsClosed", "boolean", writable=False),
        Field("IsWon", "boolean", writable=False),
        Field("Billing_Model__c", "picklist", values=tuple(BILLING_MODEL_PICKLIST.values())),
        Field("Practice__c", "string", max_length=255),
        Field("Engagement_Code__c", "string", max_length=80),
        Field("CurrencyIsoCode", "picklist", values=CURRENCIES),
        *_AUDIT,
    ),
    relationships={"Account": ("Account", "AccountId")},
    external_ids=("Engagement_Code__c",),
)

SOBJECTS: dict[str, SObject] = {s.name: s for s in (ACCOUNT, OPPORTUNITY)}
_SOBJECTS_LOWER = {name.lower(): s for name, s in SOBJECTS.items()}
TABLES: dict[str, Table] = {name: s.table() for name, s in SOBJECTS.items()}


def sobject(name: str) -> SObject | None:
    return _SOBJECTS_LOWER.get(name.lower())


_SQL_TYPES = {"currency": "REAL", "percent": "REAL", "boolean": "INTEGER"}


def schema_sql() -> str:
    """SQLite DDL for every object, with the indexes the served lookups need."""
    parts: list[str] = []
    for s in SOBJECTS.values():
        cols = []
        for f in s.fields:
            collate = " COLLATE NOCASE" if f.kind in ("string", "picklist") else ""
            key = " PRIMARY KEY" if f.name == "Id" else ""
            cols.append(f'"{f.name}" {_SQL_TYPES.get(f.kind, "TEXT")}{collate}{key}')
        parts.append(f"CREATE TABLE {s.sql_table} ({', '.join(cols)});")
        parts.append(f'CREATE INDEX {s.sql_table}_modstamp ON {s.sql_table} ("SystemModstamp");')
        parts.append(f'CREATE INDEX {s.sql_table}_name ON {s.sql_table} ("Name");')
    parts += [
        'CREATE INDEX opportunity_account ON opportunity ("AccountId");',
        'CREATE INDEX opportunity_code ON opportunity ("Engagement_Code__c");',
        'CREATE INDEX opportunity_stage ON opportunity ("StageName", "IsClosed");',
    ]
    return "\n".join(parts)


def to_json(f: Field, value: Any) -> Any:
    """A stored value as Salesforce's JSON shows it."""
    if value is None:
        return None
    if f.kind == "boolean":
        return bool(value)
    if f.kind in ("currency", "percent"):
        return float(value)
    return value
