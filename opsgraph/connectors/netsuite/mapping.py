"""NetSuite SuiteQL rows <-> canonical models. Pure functions, no I/O.

SuiteQL rows have lower-case keys and string values (`"T"`/`"F"` booleans, numbers as text) and
omit null columns. Dates come as `YYYY-MM-DD` or in the common `M/D/YYYY` account preference;
datetimes as ISO 8601. References (`parent`, `entity`, `currency`) are internal ids; currencies are
resolved through the account's `currency` table (`id -> symbol`), passed in as `currencies`.

Conventions of this kit (custom fields the firm's account defines): customer `custentity_legal_entity`;
job `custentity_contract_value`, `custentity_billing_model` (labels below) and `custentity_practice`;
invoice `custbody_job` (the project). External ids: a customer's is the CRM client id, a job's the CRM
opportunity id, an invoice's the PSA invoice id, a time bill's the PSA time entry id.
Every mapper takes the configured system's name and sets it on the record. A required value that is
missing or malformed raises `SourceDataError` naming the record and the column, never a silent None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.ids import is_digits
from opsgraph.connectors.toolkit.fields import FieldReader
from opsgraph.model import (
    AccountingPeriod,
    BillingModel,
    ErpCustomer,
    ErpJob,
    ExchangeRate,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTotal,
    Money,
    TimePosting,
)

Row = Mapping[str, Any]

BILLING_MODEL_LABELS: dict[BillingModel, str] = {
    BillingModel.TIME_AND_MATERIALS: "Time & Materials",
    BillingModel.FIXED_FEE: "Fixed Fee",
    BillingModel.CAPPED: "Capped",
}
_BILLING_BY_LABEL = {label.lower(): model for model, label in BILLING_MODEL_LABELS.items()}
INVOICE_STATUS_CODES: dict[str, InvoiceStatus] = {"A": InvoiceStatus.OPEN, "B": InvoiceStatus.PAID}
"""SuiteQL `transaction.status` for `CustInvc`: A = Open, B = Paid In Full."""
_STATUS_LABELS = {"open": InvoiceStatus.OPEN, "paid in full": InvoiceStatus.PAID}
_RATE_COLUMNS = ("averagerate", "currentrate", "historicalrate")


# -- field readers --------------------------------------------------------------------------------


def _rid(row: Row) -> str | None:
    value = row.get("id")
    return None if value is None else str(value)


@cache
def reader(system: str) -> FieldReader:
    """The SuiteQL row reader of one configured system (its errors name that system)."""

    def fail(row: Row, column: str, problem: str) -> SourceDataError:
        return SourceDataError(system, f"NetSuite row {problem}", record_id=_rid(row), field=column)

    return FieldReader(fail, blank_is_none=True, flag_words=("T", "F"))


def required(row: Row, column: str, system: str) -> str:
    return reader(system).required_text(row, column)


def _us_or_iso_date(text: str) -> date:
    if "/" in text:
        month, day, year = (int(p) for p in text.split("/"))
        return date(year, month, day)
    return date.fromisoformat(text[:10])


def optional_date(row: Row, column: str, system: str) -> date | None:
    return reader(system).parsed(row, column, _us_or_iso_date)


def parse_date(row: Row, column: str, system: str) -> date:
    value = optional_date(row, column, system)
    if value is None:
        raise reader(system).fail(row, column, f"has no {column}")
    return value


def _iso_datetime(text: str) -> datetime:
    """ISO 8601 (`2025-03-31T17:02:11Z`, with or without an offset); a bare date means midnight UTC."""
    if "T" not in text:
        return datetime.combine(_us_or_iso_date(text), datetime.min.time(), tzinfo=UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_datetime(row: Row, column: str, system: str) -> datetime:
    value = reader(system).datetime(row, column, _iso_datetime)
    if value is None:
        raise reader(system).fail(row, column, f"has no {column}")
    return value


def parse_decimal(row: Row, column: str, system: str) -> Decimal:
    value = reader(system).number(row, column, finite=True)
    if value is None:
        raise reader(system).fail(row, column, f"has no {column}")
    return value


def parse_hours(row: Row, column: str, system: str) -> float:
    """Hours as a decimal (`7.5`) or a duration (`7:30`)."""
    text = required(row, column, system)
    if ":" in text:
        hours, _, minutes = text.partition(":")
        if is_digits(hours) and is_digits(minutes):
            return int(hours) + int(minutes) / 60
        raise reader(system).fail(row, column, f"has a {column} that is not a duration: {text!r}")
    return float(parse_decimal(row, column, system))


def parse_flag(row: Row, column: str, system: str, default: bool | None = None) -> bool:
    """A `T`/`F` column; absent is `default`, or an error when there is none."""
    read = reader(system)
    if read.text(row, column) is None and default is None:
        raise read.fail(row, column, f"has no {column}")
    return read.flag(row, column) if read.text(row, column) is not None else bool(default)


def currency_code(row: Row, currencies: Mapping[str, str], system: str, column: str = "currency") -> str:
    currency_id = required(row, column, system)
    code = currencies.get(currency_id)
    if code is None:
        raise reader(system).fail(row, column, f"has an unknown currency id {currency_id!r}")
    return code


def _money(row: Row, column: str, currency: str, system: str) -> Money:
    return Money.of(parse_decimal(row, column, system), currency)


# -- rows -> canonical models ------------------------------------------------------------------------


def customer_from_row(row: Row, system: str, currencies: Mapping[str, str]) -> ErpCustomer:
    read = reader(system)
    currency = currency_code(row, currencies, system)
    balance = read.number(row, "balance", finite=True)
    return ErpCustomer(
        system=system,
        id=read.required_text(row, "id"),
        name=read.required_text(row, "companyname"),
        client_id=read.text(row, "externalid"),
        legal_entity=read.text(row, "custentity_legal_entity"),
        currency=currency,
        balance=None if balance is None else Money.of(balance, currency),
    )


def billing_model(row: Row, system: str, column: str = "custentity_billing_model") -> BillingModel | None:
    label = reader(system).text(row, column)
    if label is None:
        return None
    model = _BILLING_BY_LABEL.get(label.lower())
    if model is None:
        raise reader(system).fail(row, column, f"has an unknown billing model {label!r}")
    return model


def job_from_row(row: Row, system: str, currencies: Mapping[str, str]) -> ErpJob:
    read = reader(system)
    value = read.number(row, "custentity_contract_value", finite=True)
    return ErpJob(
        system=system,
        id=read.required_text(row, "id"),
        code=read.required_text(row, "entityid"),
        name=read.required_text(row, "companyname"),
        customer_id=read.required_text(row, "parent"),
        opportunity_id=read.text(row, "externalid"),
        is_inactive=parse_flag(row, "isinactive", system, default=False),
        contract_value=None if value is None else Money.of(value, currency_code(row, currencies, system)),
        billing_model=billing_model(row, system),
        practice=read.text(row, "custentity_practice"),
        start_date=optional_date(row, "startdate", system),
        end_date=optional_date(row, "projectedenddate", system),
    )


def invoice_status(row: Row, system: str) -> InvoiceStatus:
    value = required(row, "status", system)
    status = INVOICE_STATUS_CODES.get(value) or _STATUS_LABELS.get(value.lower())
    if status is None:
        raise reader(system).fail(row, "status", f"has an unsupported invoice status {value!r}")
    return status


def line_from_row(row: Row, system: str, currency: str) -> InvoiceLine:
    """An item line; amounts are taken unsigned (NetSuite signs revenue lines by posting side)."""
    return InvoiceLine(
        description=reader(system).text(row, "memo") or "",
        quantity=abs(float(parse_decimal(row, "quantity", system))),
        rate=Money.of(abs(parse_decimal(row, "rate", system)), currency),
        amount=Money.of(abs(parse_decimal(row, "foreignamount", system)), currency),
    )


def _line_order(line: Row) -> int:
    sequence = line.get("linesequencenumber")
    return int(sequence) if isinstance(sequence, str) and is_digits(sequence) else 0


def invoice_from_row(row: Row, system: str, lines: Sequence[Row], currencies: Mapping[str, str]) -> Invoice:
    read = reader(system)
    currency = currency_code(row, currencies, system)
    return Invoice(
        system=system,
        id=read.required_text(row, "id"),
        number=read.required_text(row, "tranid"),
        customer_id=read.required_text(row, "entity"),
        job_id=read.text(row, "custbody_job"),
        status=invoice_status(row, system),
        issue_date=parse_date(row, "trandate", system),
        due_date=parse_date(row, "duedate", system),
        total=_money(row, "foreigntotal", currency, system),
        amount_due=_money(row, "foreignamountremaining", currency, system),
        lines=[line_from_row(ln, system, currency) for ln in sorted(lines, key=_line_order)],
        psa_invoice_id=read.text(row, "externalid"),
    )


def invoice_total_from_row(row: Row, system: str, currencies: Mapping[str, str]) -> InvoiceTotal:
    """A `SUM(foreigntotal) AS total, COUNT(id) AS invoices` group; `issued` when grouped by it."""
    read = reader(system)
    return InvoiceTotal(
        customer_id=read.required_text(row, "entity"),
        job_id=read.text(row, "custbody_job"),
        issue_date=optional_date(row, "issued", system),
        total=_money(row, "total", currency_code(row, currencies, system), system),
        invoices=int(parse_decimal(row, "invoices", system)),
    )


def time_posting_from_row(row: Row, system: str) -> TimePosting:
    """A `timebill` row; its external id is the PSA time entry's id."""
    read = reader(system)
    return TimePosting(
        system=system,
        id=read.required_text(row, "id"),
        time_entry_id=read.text(row, "externalid"),
        job_id=read.text(row, "customer"),
        date=parse_date(row, "trandate", system),
        hours=parse_hours(row, "hours", system),
    )


def period_from_row(row: Row, system: str) -> AccountingPeriod:
    read = reader(system)
    return AccountingPeriod(
        system=system,
        id=read.required_text(row, "id"),
        name=read.required_text(row, "periodname"),
        start=parse_date(row, "startdate", system),
        end=parse_date(row, "enddate", system),
        closed=parse_flag(row, "closed", system),
    )


def exchange_rate_from_row(row: Row, system: str, currencies: Mapping[str, str]) -> ExchangeRate:
    """A `consolidatedexchangerate` row: 1 `fromcurrency` = rate x `tocurrency` in `postingperiod`."""
    rates = {c: parse_decimal(row, c, system) for c in _RATE_COLUMNS}
    for column, rate in rates.items():
        if rate <= 0:
            raise reader(system).fail(row, column, f"has a {column} that is not positive: {rate}")
    return ExchangeRate(
        from_currency=currency_code(row, currencies, system, "fromcurrency"),
        to_currency=currency_code(row, currencies, system, "tocurrency"),
        period_id=required(row, "postingperiod", system),
        average_rate=rates["averagerate"],
        current_rate=rates["currentrate"],
        historical_rate=rates["historicalrate"],
    )
