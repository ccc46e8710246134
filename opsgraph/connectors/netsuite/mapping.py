"""NetSuite SuiteQL rows <-> canonical models. Pure functions, no I/O.

SuiteQL rows have lower-case keys and string values (`"T"`/`"F"` booleans, numbers as text) and
omit null columns. Dates come as `YYYY-MM-DD` or in the common `M/D/YYYY` account preference;
datetimes as ISO 8601. References (`parent`, `entity`, `currency`) are internal ids; currencies are
resolved through the account's `currency` table (`id -> symbol`), passed in as `currencies`.

Conventions of this kit (custom fields the firm's account defines): customer `custentity_legal_entity`;
job `custentity_contract_value`, `custentity_billing_model` (labels below) and `custentity_practice`;
invoice `custbody_job` (the project). A required value that is missing or malformed raises
`SourceDataError` naming the record and the field, never a silent None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.ids import is_digits
from opsgraph.model import (
    AccountingPeriod,
    BillingModel,
    ErpCustomer,
    ErpJob,
    ErpTimeBill,
    ExchangeRate,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Money,
    SourceName,
)

SOURCE = SourceName.NETSUITE
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


# -- field readers --------------------------------------------------------------------------------


def _rid(row: Row) -> str | None:
    value = row.get("id")
    return None if value is None else str(value)


def required(row: Row, column: str) -> str:
    value = row.get(column)
    if value is None or str(value).strip() == "":
        raise SourceDataError(SOURCE, f"{column} is missing", record_id=_rid(row), field=column)
    return str(value)


def optional(row: Row, column: str) -> str | None:
    value = row.get(column)
    return None if value is None or str(value).strip() == "" else str(value)


def parse_date(row: Row, column: str) -> date:
    text = required(row, column)
    try:
        if "/" in text:
            month, day, year = (int(p) for p in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text[:10])
    except ValueError:
        raise SourceDataError(
            SOURCE, f"{column} is not a date: {text!r}", record_id=_rid(row), field=column
        ) from None


def optional_date(row: Row, column: str) -> date | None:
    return None if optional(row, column) is None else parse_date(row, column)


def parse_datetime(row: Row, column: str) -> datetime:
    """ISO 8601 (`2025-03-31T17:02:11Z`, with or without an offset); a bare date means midnight UTC."""
    text = required(row, column)
    try:
        if "T" not in text:
            return datetime.combine(parse_date(row, column), datetime.min.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SourceDataError(
            SOURCE, f"{column} is not a datetime: {text!r}", record_id=_rid(row), field=column
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_decimal(row: Row, column: str) -> Decimal:
    text = required(row, column)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise SourceDataError(
            SOURCE, f"{column} is not a number: {text!r}", record_id=_rid(row), field=column
        ) from None
    if not value.is_finite():
        raise SourceDataError(SOURCE, f"{column} is not finite: {text!r}", record_id=_rid(row), field=column)
    return value


def parse_hours(row: Row, column: str) -> float:
    """Hours as a decimal (`7.5`) or a duration (`7:30`)."""
    text = required(row, column)
    if ":" in text:
        hours, _, minutes = text.partition(":")
        if is_digits(hours) and is_digits(minutes):
            return int(hours) + int(minutes) / 60
        raise SourceDataError(
            SOURCE, f"{column} is not a duration: {text!r}", record_id=_rid(row), field=column
        )
    return float(parse_decimal(row, column))


def parse_bool(row: Row, column: str, default: bool | None = None) -> bool:
    value = optional(row, column)
    if value is None and default is not None:
        return default
    if value in ("T", "F"):
        return value == "T"
    raise SourceDataError(
        SOURCE, f"{column} must be 'T' or 'F', not {value!r}", record_id=_rid(row), field=column
    )


def currency_code(row: Row, currencies: Mapping[str, str], column: str = "currency") -> str:
    currency_id = required(row, column)
    code = currencies.get(currency_id)
    if code is None:
        raise SourceDataError(
            SOURCE, f"unknown currency id {currency_id!r}", record_id=_rid(row), field=column
        )
    return code


def _money(row: Row, column: str, currency: str) -> Money:
    return Money.of(parse_decimal(row, column), currency)


# -- rows -> canonical models ------------------------------------------------------------------------


def customer_from_row(row: Row, currencies: Mapping[str, str]) -> ErpCustomer:
    currency = currency_code(row, currencies)
    return ErpCustomer(
        id=required(row, "id"),
        name=required(row, "companyname"),
        account_id=optional(row, "externalid"),
        legal_entity=optional(row, "custentity_legal_entity"),
        currency=currency,
        balance=_money(row, "balance", currency) if optional(row, "balance") is not None else None,
    )


def billing_model(row: Row, column: str = "custentity_billing_model") -> BillingModel | None:
    label = optional(row, column)
    if label is None:
        return None
    model = _BILLING_BY_LABEL.get(label.lower())
    if model is None:
        raise SourceDataError(SOURCE, f"unknown billing model {label!r}", record_id=_rid(row), field=column)
    return model


def job_from_row(row: Row, currencies: Mapping[str, str]) -> ErpJob:
    value = optional(row, "custentity_contract_value")
    return ErpJob(
        id=required(row, "id"),
        code=required(row, "entityid"),
        name=required(row, "companyname"),
        customer_id=required(row, "parent"),
        opportunity_id=optional(row, "externalid"),
        is_inactive=parse_bool(row, "isinactive", default=False),
        contract_value=None
        if value is None
        else _money(row, "custentity_contract_value", currency_code(row, currencies)),
        billing_model=billing_model(row),
        practice=optional(row, "custentity_practice"),
        start_date=optional_date(row, "startdate"),
        end_date=optional_date(row, "projectedenddate"),
    )


def invoice_status(row: Row) -> InvoiceStatus:
    value = required(row, "status")
    status = INVOICE_STATUS_CODES.get(value) or _STATUS_LABELS.get(value.lower())
    if status is None:
        raise SourceDataError(
            SOURCE, f"unsupported invoice status {value!r}", record_id=_rid(row), field="status"
        )
    return status


def _int_or_none(row: Row, column: str) -> int | None:
    value = optional(row, column)
    if value is None:
        return None
    if not is_digits(value):
        raise SourceDataError(
            SOURCE, f"{column} is not a numeric id: {value!r}", record_id=_rid(row), field=column
        )
    return int(value)


def line_from_row(row: Row, currency: str) -> InvoiceLine:
    """An item line; amounts are taken unsigned (NetSuite signs revenue lines by posting side)."""
    return InvoiceLine(
        description=optional(row, "memo") or "",
        quantity=abs(float(parse_decimal(row, "quantity"))),
        rate=Money.of(abs(parse_decimal(row, "rate")), currency),
        amount=Money.of(abs(parse_decimal(row, "foreignamount")), currency),
    )


def invoice_from_row(row: Row, lines: Sequence[Row], currencies: Mapping[str, str]) -> Invoice:
    currency = currency_code(row, currencies)
    ordered = sorted(lines, key=lambda ln: int(optional(ln, "linesequencenumber") or 0))
    return Invoice(
        id=required(row, "id"),
        number=required(row, "tranid"),
        customer_id=required(row, "entity"),
        job_id=optional(row, "custbody_job"),
        status=invoice_status(row),
        issue_date=parse_date(row, "trandate"),
        due_date=parse_date(row, "duedate"),
        total=_money(row, "foreigntotal", currency),
        amount_due=_money(row, "foreignamountremaining", currency),
        lines=[line_from_row(ln, currency) for ln in ordered],
        harvest_invoice_id=_int_or_none(row, "externalid"),
    )


def timebill_from_row(row: Row) -> ErpTimeBill:
    return ErpTimeBill(
        id=required(row, "id"),
        harvest_entry_id=_int_or_none(row, "externalid"),
        job_id=optional(row, "customer"),
        date=parse_date(row, "trandate"),
        hours=parse_hours(row, "hours"),
    )


def period_from_row(row: Row) -> AccountingPeriod:
    return AccountingPeriod(
        id=required(row, "id"),
        name=required(row, "periodname"),
        start=parse_date(row, "startdate"),
        end=parse_date(row, "enddate"),
        closed=parse_bool(row, "closed"),
    )


def exchange_rate_from_row(row: Row, currencies: Mapping[str, str]) -> ExchangeRate:
    """A `consolidatedexchangerate` row: 1 `fromcurrency` = rate x `tocurrency` in `postingperiod`."""
    rates = {c: parse_decimal(row, c) for c in ("averagerate", "currentrate", "historicalrate")}
    for column, rate in rates.items():
        if rate <= 0:
            raise SourceDataError(
                SOURCE, f"{column} is not positive: {rate}", record_id=_rid(row), field=column
            )
    return ExchangeRate(
        from_currency=currency_code(row, currencies, "fromcurrency"),
        to_currency=currency_code(row, currencies, "tocurrency"),
        period_id=required(row, "postingperiod"),
        average_rate=rates["averagerate"],
        current_rate=rates["currentrate"],
        historical_rate=rates["historicalrate"],
    )


# -- canonical values -> REST record bodies (for create / update / upsert) -------------------------


def _ref(internal_id: str) -> dict[str, str]:
    return {"id": internal_id}


def customer_record(*, name: str, legal_entity: str | None, currency_id: str) -> dict[str, Any]:
    """A customer body; upsert it on `eid:{Salesforce Account Id}` so a retry never creates a twin."""
    body: dict[str, Any] = {"companyName": name, "currency": _ref(currency_id)}
    if legal_entity:
        body["custentity_legal_entity"] = legal_entity
    return body


def job_record(
    *,
    code: str,
    name: str,
    customer_id: str,
    contract_value: Money | None = None,
    billing_model: BillingModel | None = None,
    practice: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """A job (project) body; the opportunity id goes in the URL of an upsert (`eid:`)."""
    body: dict[str, Any] = {"entityId": code, "companyName": name, "parent": _ref(customer_id)}
    if contract_value is not None:
        body["custentity_contract_value"] = float(contract_value.amount)
    if billing_model is not None:
        body["custentity_billing_model"] = BILLING_MODEL_LABELS[billing_model]
    if practice:
        body["custentity_practice"] = practice
    if start is not None:
        body["startDate"] = start.isoformat()
    if end is not None:
        body["projectedEndDate"] = end.isoformat()
    return body


def timebill_record(
    *, employee_id: str, job_id: str, day: date, hours: float, memo: str | None
) -> dict[str, Any]:
    """A time bill body; upsert it on `eid:{harvest entry id}`."""
    body: dict[str, Any] = {
        "employee": _ref(employee_id),
        "customer": _ref(job_id),
        "tranDate": day.isoformat(),
        "hours": hours,
    }
    if memo:
        body["memo"] = memo
    return body


def invoice_record(
    *,
    customer_id: str,
    job_id: str | None,
    issue_date: date,
    due_date: date | None,
    lines: Sequence[InvoiceLine],
    memo: str | None = None,
) -> dict[str, Any]:
    """An invoice body with its item lines; upsert it on `eid:{harvest invoice id}`."""
    body: dict[str, Any] = {
        "entity": _ref(customer_id),
        "tranDate": issue_date.isoformat(),
        "item": {
            "items": [
                {
                    "description": ln.description,
                    "quantity": ln.quantity,
                    "rate": float(ln.rate.amount),
                    "amount": float(ln.amount.amount),
                }
                for ln in lines
            ]
        },
    }
    if job_id is not None:
        body["custbody_job"] = _ref(job_id)
    if due_date is not None:
        body["dueDate"] = due_date.isoformat()
    if memo:
        body["memo"] = memo
    return body
