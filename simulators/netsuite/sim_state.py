"""The NetSuite simulator's record types, SQLite schema and wire encodings.

One `RecordType` per REST record describes every field once: its REST name (camelCase), its
SuiteQL/SQLite column (lower-case) and its kind. REST reads, SuiteQL results and writes all derive
from it, so the two APIs can never disagree about a field.

Storage forms: ids and references are INTEGER (so `id IN ('101')` and `id IN (101)` both match),
booleans `'T'`/`'F'`, dates `YYYY-MM-DD`, datetimes in `normalise_datetime` form (UTC, millis) so
string order is time order. On the wire, REST datetimes are `2025-03-31T17:02:11Z` (ISO 8601, UTC,
as NetSuite documents); SuiteQL values are strings, with dates as `YYYY-MM-DD` (the simulated
account's date-format preference) and datetimes in the same ISO form as REST.

Conventions this kit uses (the mapping reads them back the same way):
- customer `custentity_legal_entity` holds the legal entity (empty for the drift client);
- job `custentity_contract_value`, `custentity_billing_model` (a list label, e.g. "Time & Materials")
  and `custentity_practice`; `parent` is the customer;
- invoices live in `transaction` with `type = 'CustInvc'`, status `A` (Open) or `B` (Paid In Full),
  the job in the custom body field `custbody_job`; item lines in `transactionline` (`mainline = 'F'`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from opsgraph.connectors.netsuite.mapping import BILLING_MODEL_LABELS
from simulators.simkit.query import Table, normalise_datetime
from simulators.simkit.store import Row, Store

Kind = Literal["id", "text", "int", "ref", "amount", "number", "bool", "date", "datetime", "status"]

CURRENCIES: tuple[tuple[int, str, str], ...] = (
    (1, "US Dollar", "USD"),
    (2, "British pound", "GBP"),
    (3, "Canadian Dollar", "CAD"),
    (4, "Euro", "EUR"),
)
CURRENCY_IDS = {symbol: cid for cid, _, symbol in CURRENCIES}
BILLING_LABELS = {model.value: label for model, label in BILLING_MODEL_LABELS.items()}
INVOICE_STATUS = {"A": "Open", "B": "Paid In Full"}


@dataclass(frozen=True)
class Field:
    rest: str | None  # camelCase REST name; None for SuiteQL-only columns
    column: str  # SQLite column = SuiteQL column
    kind: Kind
    ref: str | None = None  # the REST record type a reference points at
    writable: bool = True
    sql: str | None = None  # the SQLite column, when it differs (`transaction` is an SQL keyword)


@dataclass(frozen=True)
class RecordType:
    name: str  # REST record type
    table: str  # SuiteQL table
    sql_table: str
    fields: tuple[Field, ...]
    ref_name: str  # the column shown as a reference's refName
    required: tuple[str, ...] = ()  # REST fields a create must carry
    fixed: Mapping[str, str] = field(default_factory=dict)  # columns fixed for the type (type = CustInvc)
    dated: bool = False  # a posting: its tranDate must not fall in a closed period
    writable: bool = True

    def by_rest(self) -> dict[str, Field]:
        return {f.rest.lower(): f for f in self.fields if f.rest}

    def by_column(self) -> dict[str, Field]:
        return {f.column: f for f in self.fields}


def _f(rest: str | None, kind: Kind, column: str | None = None, **kw: Any) -> Field:
    return Field(rest, column or (rest or "").lower(), kind, **kw)


_STAMPS = (_f("dateCreated", "datetime", writable=False), _f("lastModifiedDate", "datetime", writable=False))

RECORD_TYPES: dict[str, RecordType] = {
    rt.name.lower(): rt
    for rt in (
        RecordType(
            "currency",
            "currency",
            "currency",
            (
                _f("id", "id", writable=False),
                _f("name", "text"),
                _f("symbol", "text"),
                _f("isBaseCurrency", "bool"),
                _f("lastModifiedDate", "datetime", writable=False),
            ),
            ref_name="symbol",
            writable=False,
        ),
        RecordType(
            "customer",
            "customer",
            "customer",
            (
                _f("id", "id", writable=False),
                _f("entityId", "text"),
                _f("companyName", "text"),
                _f("externalId", "text"),
                _f("custentity_legal_entity", "text"),
                _f("currency", "ref", ref="currency"),
                _f("balance", "amount", writable=False),
                _f("isInactive", "bool"),
                *_STAMPS,
            ),
            ref_name="companyname",
            required=("companyName",),
        ),
        RecordType(
            "job",
            "job",
            "job",
            (
                _f("id", "id", writable=False),
                _f("entityId", "text"),
                _f("companyName", "text"),
                _f("parent", "ref", ref="customer"),
                _f("externalId", "text"),
                _f("isInactive", "bool"),
                _f("custentity_contract_value", "amount"),
                _f("custentity_billing_model", "text"),
                _f("custentity_practice", "text"),
                _f("startDate", "date"),
                _f("projectedEndDate", "date"),
                _f("currency", "ref", ref="currency"),
                *_STAMPS,
            ),
            ref_name="companyname",
            required=("entityId", "companyName", "parent"),
        ),
        RecordType(
            "employee",
            "employee",
            "employee",
            (
                _f("id", "id", writable=False),
                _f("entityId", "text"),
                _f("firstName", "text"),
                _f("lastName", "text"),
                _f("email", "text"),
                _f("title", "text"),
                _f("externalId", "text"),
                _f("isInactive", "bool"),
                *_STAMPS,
            ),
            ref_name="entityid",
            required=("firstName", "lastName"),
        ),
        RecordType(
            "invoice",
            "transaction",
            "txn",
            (
                _f("id", "id", writable=False),
                _f(None, "text", "type", writable=False),
                _f("tranId", "text"),
                _f("entity", "ref", ref="customer"),
                _f("custbody_job", "ref", ref="job"),
                _f("tranDate", "date"),
                _f("dueDate", "date"),
                _f("status", "status", writable=False),
                _f("total", "amount", "foreigntotal", writable=False),
                _f("amountRemaining", "amount", "foreignamountremaining", writable=False),
                _f("currency", "ref", ref="currency"),
                _f("externalId", "text"),
                _f("memo", "text"),
                _f("postingPeriod", "ref", ref="accountingPeriod", writable=False),
                _f("dateCreated", "datetime", "createddate", writable=False),
                _f("lastModifiedDate", "datetime", writable=False),
            ),
            ref_name="tranid",
            required=("entity", "tranDate"),
            fixed={"type": "CustInvc"},
            dated=True,
        ),
        RecordType(
            "timeBill",
            "timebill",
            "timebill",
            (
                _f("id", "id", writable=False),
                _f("externalId", "text"),
                _f("employee", "ref", ref="employee"),
                _f("customer", "ref", ref="job"),
                _f("tranDate", "date"),
                _f("hours", "number"),
                _f("isBillable", "bool"),
                _f("posted", "bool", writable=False),
                _f("memo", "text"),
                *_STAMPS,
            ),
            ref_name="id",
            required=("employee", "tranDate", "hours"),
            dated=True,
        ),
        RecordType(
            "accountingPeriod",
            "accountingperiod",
            "accountingperiod",
            (
                _f("id", "id", writable=False),
                _f("periodName", "text"),
                _f("startDate", "date"),
                _f("endDate", "date"),
                _f("closed", "bool"),
                _f("isQuarter", "bool"),
                _f("isYear", "bool"),
                _f("isPosting", "bool"),
                _f("lastModifiedDate", "datetime", writable=False),
            ),
            ref_name="periodname",
            writable=False,
        ),
        RecordType(
            "consolidatedExchangeRate",
            "consolidatedexchangerate",
            "consolidatedexchangerate",
            (
                _f("id", "id", writable=False),
                _f("postingPeriod", "ref", ref="accountingPeriod"),
                _f("periodStartDate", "date"),
                _f("isPeriodClosed", "bool"),
                _f("fromSubsidiary", "int"),
                _f("toSubsidiary", "int"),
                _f("fromCurrency", "ref", ref="currency"),
                _f("toCurrency", "ref", ref="currency"),
                _f("isDerived", "bool"),
                _f("averageRate", "number"),
                _f("currentRate", "number"),
                _f("historicalRate", "number"),
            ),
            ref_name="id",
            writable=False,
        ),
    )
}

LINE_FIELDS: tuple[Field, ...] = (
    _f(None, "id", "uniquekey"), _f(None, "ref", "transaction", sql="txn_id"), _f(None, "int", "id"),
    _f(None, "int", "linesequencenumber"), _f(None, "bool", "mainline"), _f(None, "bool", "taxline"),
    _f(None, "text", "memo"), _f(None, "number", "quantity"), _f(None, "amount", "rate"),
    _f(None, "amount", "foreignamount"),
)  # fmt: skip

SCHEMA = """
CREATE TABLE currency (id INTEGER PRIMARY KEY, name TEXT NOT NULL, symbol TEXT NOT NULL,
    isbasecurrency TEXT NOT NULL, lastmodifieddate TEXT NOT NULL);
CREATE TABLE customer (id INTEGER PRIMARY KEY, entityid TEXT NOT NULL, companyname TEXT NOT NULL,
    externalid TEXT UNIQUE, custentity_legal_entity TEXT, currency INTEGER, balance REAL NOT NULL,
    isinactive TEXT NOT NULL, datecreated TEXT NOT NULL, lastmodifieddate TEXT NOT NULL);
CREATE INDEX customer_modified ON customer(lastmodifieddate);
CREATE TABLE job (id INTEGER PRIMARY KEY, entityid TEXT NOT NULL UNIQUE, companyname TEXT NOT NULL,
    parent INTEGER NOT NULL, externalid TEXT UNIQUE, isinactive TEXT NOT NULL,
    custentity_contract_value REAL, custentity_billing_model TEXT, custentity_practice TEXT,
    startdate TEXT, projectedenddate TEXT, currency INTEGER, datecreated TEXT NOT NULL,
    lastmodifieddate TEXT NOT NULL);
CREATE INDEX job_parent ON job(parent);
CREATE INDEX job_modified ON job(lastmodifieddate);
CREATE TABLE employee (id INTEGER PRIMARY KEY, entityid TEXT NOT NULL, firstname TEXT, lastname TEXT,
    email TEXT, title TEXT, externalid TEXT UNIQUE, isinactive TEXT NOT NULL, datecreated TEXT NOT NULL,
    lastmodifieddate TEXT NOT NULL);
CREATE INDEX employee_email ON employee(email);
CREATE TABLE txn (id INTEGER PRIMARY KEY, type TEXT NOT NULL, tranid TEXT NOT NULL, entity INTEGER NOT NULL,
    custbody_job INTEGER, trandate TEXT NOT NULL, duedate TEXT, status TEXT NOT NULL,
    foreigntotal REAL NOT NULL, foreignamountremaining REAL NOT NULL, currency INTEGER, externalid TEXT,
    memo TEXT, postingperiod INTEGER, createddate TEXT NOT NULL, lastmodifieddate TEXT NOT NULL);
CREATE INDEX txn_entity ON txn(entity);
CREATE INDEX txn_job ON txn(custbody_job);
CREATE UNIQUE INDEX txn_external ON txn(type, externalid);
CREATE INDEX txn_externalid ON txn(externalid);
CREATE INDEX txn_trandate ON txn(trandate);
CREATE INDEX txn_modified ON txn(lastmodifieddate);
CREATE TABLE txn_line (uniquekey INTEGER PRIMARY KEY, txn_id INTEGER NOT NULL, id INTEGER NOT NULL,
    linesequencenumber INTEGER NOT NULL, mainline TEXT NOT NULL, taxline TEXT NOT NULL, memo TEXT,
    quantity REAL, rate REAL, foreignamount REAL);
CREATE INDEX txn_line_txn ON txn_line(txn_id, id);
CREATE TABLE timebill (id INTEGER PRIMARY KEY, externalid TEXT UNIQUE, employee INTEGER NOT NULL,
    customer INTEGER, trandate TEXT NOT NULL, hours REAL NOT NULL, isbillable TEXT NOT NULL,
    posted TEXT NOT NULL, memo TEXT, datecreated TEXT NOT NULL, lastmodifieddate TEXT NOT NULL);
CREATE INDEX timebill_date ON timebill(trandate);
CREATE INDEX timebill_customer ON timebill(customer);
CREATE INDEX timebill_employee ON timebill(employee);
CREATE INDEX timebill_modified ON timebill(lastmodifieddate);
CREATE TABLE accountingperiod (id INTEGER PRIMARY KEY, periodname TEXT NOT NULL, startdate TEXT NOT NULL,
    enddate TEXT NOT NULL, closed TEXT NOT NULL, isquarter TEXT NOT NULL, isyear TEXT NOT NULL,
    isposting TEXT NOT NULL, lastmodifieddate TEXT NOT NULL);
CREATE INDEX period_dates ON accountingperiod(startdate, enddate);
CREATE TABLE consolidatedexchangerate (id INTEGER PRIMARY KEY, postingperiod INTEGER NOT NULL,
    periodstartdate TEXT NOT NULL, isperiodclosed TEXT NOT NULL, fromsubsidiary INTEGER NOT NULL,
    tosubsidiary INTEGER NOT NULL, fromcurrency INTEGER NOT NULL, tocurrency INTEGER NOT NULL,
    isderived TEXT NOT NULL, averagerate REAL NOT NULL, currentrate REAL NOT NULL,
    historicalrate REAL NOT NULL);
CREATE INDEX fx_period ON consolidatedexchangerate(postingperiod);
"""


def _table(name: str, sql_table: str, fields: Iterable[Field]) -> Table:
    fields = tuple(fields)
    return Table(
        name=name,
        sql_table=sql_table,
        columns={f.column: f.sql or f.column for f in fields},
        date_columns=frozenset(f.column for f in fields if f.kind in ("date", "datetime")),
    )


SUITEQL_TABLES: dict[str, Table] = {
    **{rt.table: _table(rt.table, rt.sql_table, rt.fields) for rt in RECORD_TYPES.values()},
    "transactionline": _table("transactionline", "txn_line", LINE_FIELDS),
}
SUITEQL_KINDS: dict[str, dict[str, Kind]] = {
    **{rt.table: {f.column: f.kind for f in rt.fields} for rt in RECORD_TYPES.values()},
    "transactionline": {f.column: f.kind for f in LINE_FIELDS},
}


# -- encodings ------------------------------------------------------------------------------------


def stamp(moment: datetime) -> str:
    """The storage form of a datetime."""
    return normalise_datetime(moment)


def iso_z(stored: str) -> str:
    """Storage form -> NetSuite's wire form `2025-03-31T17:02:11Z`."""
    return stored[:19] + "Z"


def parse_stamp(stored: str) -> datetime:
    return datetime.strptime(stored[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def bump(previous: str | None) -> str:
    """A fresh lastModifiedDate, strictly later than `previous` (second precision on the wire)."""
    now = datetime.now(UTC).replace(microsecond=0)
    if previous is not None and now <= parse_stamp(previous):
        now = parse_stamp(previous) + timedelta(seconds=1)
    return stamp(now)


def number_text(value: float | int) -> str:
    """A number as SuiteQL prints it: no exponent, no trailing zeros ("1250.5", "8")."""
    rounded = round(float(value), 6)
    if rounded.is_integer():
        return str(int(rounded))
    text = repr(rounded)
    return text if "e" not in text else format(Decimal(text).normalize(), "f")


def suiteql_encoder(kind: Kind) -> Callable[[Any], str]:
    """How a stored value of `kind` is written in a SuiteQL result (always a string)."""
    if kind in ("amount", "number"):
        return number_text
    if kind == "datetime":
        return iso_z
    return str


NUMERIC_KINDS: frozenset[Kind] = frozenset({"id", "int", "ref", "amount", "number"})


def aggregate_encoder(function: str, kind: Kind | None) -> Callable[[Any], str]:
    """How an aggregate's value is written: MIN/MAX in their field's form, a count or a sum as a number
    (a sum of amounts to the cent, as the decimal column it sums)."""
    if function in ("MIN", "MAX") and kind is not None:
        return suiteql_encoder(kind)
    if function == "SUM" and kind == "amount":
        return lambda value: number_text(round(float(value), 2))
    return number_text


def tf(flag: bool) -> str:
    return "T" if flag else "F"


def line_row(
    txn: int,
    seq: int,
    memo: str | None,
    quantity: float | None,
    rate: float | None,
    amount: float,
    *,
    mainline: bool = False,
) -> Row:
    return {
        "txn_id": txn, "id": seq, "linesequencenumber": seq, "mainline": tf(mainline), "taxline": "F",
        "memo": memo, "quantity": quantity, "rate": rate, "foreignamount": amount,
    }  # fmt: skip


def period_for(store: Store, day: str) -> Row | None:
    return store.row(
        "SELECT * FROM accountingperiod WHERE startdate <= ? AND enddate >= ? AND isquarter = 'F' "
        "AND isyear = 'F' ORDER BY startdate DESC LIMIT 1",
        (day, day),
    )
