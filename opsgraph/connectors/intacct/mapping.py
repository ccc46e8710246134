"""Sage Intacct records (flat field dicts from the XML gateway) <-> canonical models. Pure, no I/O.

Every value arrives as text: dates as `MM/DD/YYYY`, datetimes as `MM/DD/YYYY HH:MM:SS` (the company's
time zone, UTC here), booleans `true`/`false`, money as decimals in the record's `CURRENCY`, an
empty element for no value. Record ids are `RECORDNO`s; references are the `...KEY` fields. A required
value that is missing or malformed raises `SourceDataError` naming the record and the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.intacct.xmlwire import Record
from opsgraph.connectors.netsuite.mapping import BILLING_MODEL_LABELS
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
    Money,
    TimePosting,
)

BILLING_MODELS = {label.lower(): model for model, label in BILLING_MODEL_LABELS.items()}
"""The `BILLING_MODEL` picklist: the same labels the firm uses in every ERP."""
INVOICE_STATES = {
    "posted": InvoiceStatus.OPEN,
    "partially paid": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
}


@cache
def reader(system: str) -> FieldReader:
    def fail(record: Mapping[str, Any], field: str, problem: str) -> SourceDataError:
        return SourceDataError(
            system, f"Intacct record {problem}", record_id=record.get("RECORDNO") or None, field=field
        )

    return FieldReader(fail, blank_is_none=True, strings_only=True, flag_words=("true", "false"))


def wire_date(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def wire_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%m/%d/%Y %H:%M:%S")


def _date(text: str) -> date:
    return datetime.strptime(text, "%m/%d/%Y").date()


def _datetime(text: str) -> datetime:
    return datetime.strptime(text, "%m/%d/%Y %H:%M:%S").replace(tzinfo=UTC)


def _required_date(record: Record, field: str, system: str) -> date:
    value = reader(system).parsed(record, field, _date)
    if value is None:
        raise reader(system).fail(record, field, f"has no {field}")
    return value


def modified_at(record: Record, field: str, system: str) -> datetime:
    value = reader(system).datetime(record, field, _datetime)
    if value is None:
        raise reader(system).fail(record, field, f"has no {field}")
    return value


def _decimal(record: Record, field: str, system: str) -> Decimal:
    value = reader(system).number(record, field, finite=True)
    if value is None:
        raise reader(system).fail(record, field, f"has no {field}")
    return value


def _currency(record: Record, system: str, field: str = "CURRENCY") -> str:
    code = reader(system).required_text(record, field)
    if len(code) != 3 or not code.isalpha():
        raise reader(system).fail(record, field, f"has a currency that is no ISO code: {code!r}")
    return code.upper()


def _inactive(record: Record, system: str) -> bool:
    status = (reader(system).text(record, "STATUS") or "active").lower()
    if status not in ("active", "inactive"):
        raise reader(system).fail(record, "STATUS", f"has an unknown status {status!r}")
    return status == "inactive"


def customer(record: Record, system: str) -> ErpCustomer:
    read = reader(system)
    currency = _currency(record, system)
    due = read.number(record, "TOTALDUE", finite=True)
    return ErpCustomer(
        system=system,
        id=read.required_text(record, "RECORDNO"),
        name=read.required_text(record, "NAME"),
        client_id=read.text(record, "CUSTOMERID"),
        legal_entity=read.text(record, "LEGAL_ENTITY"),
        currency=currency,
        balance=None if due is None else Money.of(due, currency),
    )


def billing_model(record: Record, system: str) -> BillingModel | None:
    label = reader(system).text(record, "BILLING_MODEL")
    if label is None:
        return None
    model = BILLING_MODELS.get(label.lower())
    if model is None:
        raise reader(system).fail(record, "BILLING_MODEL", f"has an unknown billing model {label!r}")
    return model


def job(record: Record, system: str) -> ErpJob:
    read = reader(system)
    value = read.number(record, "CONTRACT_VALUE", finite=True)
    return ErpJob(
        system=system,
        id=read.required_text(record, "RECORDNO"),
        code=read.required_text(record, "PROJECTID"),
        name=read.required_text(record, "NAME"),
        customer_id=read.required_text(record, "CUSTOMERKEY"),
        opportunity_id=read.text(record, "OPPORTUNITY_ID"),
        is_inactive=_inactive(record, system),
        contract_value=None if value is None else Money.of(value, _currency(record, system)),
        billing_model=billing_model(record, system),
        practice=read.text(record, "PRACTICE"),
        start_date=read.parsed(record, "BEGINDATE", _date),
        end_date=read.parsed(record, "ENDDATE", _date),
    )


def _line_no(line: Record) -> int:
    text = line.get("LINE_NO") or "0"
    return int(text) if text.isdigit() else 0


def invoice(record: Record, system: str, lines: Sequence[Record]) -> Invoice:
    read = reader(system)
    currency = _currency(record, system)
    state = read.required_text(record, "STATE")
    status = INVOICE_STATES.get(state.lower())
    if status is None:
        raise read.fail(record, "STATE", f"has an unsupported invoice state {state!r}")
    return Invoice(
        system=system,
        id=read.required_text(record, "RECORDNO"),
        number=read.required_text(record, "RECORDID"),
        customer_id=read.required_text(record, "CUSTOMERKEY"),
        job_id=read.text(record, "PROJECTKEY"),
        status=status,
        issue_date=_required_date(record, "WHENCREATED", system),
        due_date=_required_date(record, "WHENDUE", system),
        total=Money.of(_decimal(record, "TOTALENTERED", system), currency),
        amount_due=Money.of(_decimal(record, "TOTALDUE", system), currency),
        lines=[
            InvoiceLine(
                description=read.text(ln, "MEMO") or "",
                quantity=float(_decimal(ln, "QUANTITY", system)),
                rate=Money.of(_decimal(ln, "PRICE", system), currency),
                amount=Money.of(_decimal(ln, "AMOUNT", system), currency),
            )
            for ln in sorted(lines, key=_line_no)
        ],
        psa_invoice_id=read.text(record, "DOCNUMBER"),
    )


def time_posting(record: Record, system: str) -> TimePosting:
    read = reader(system)
    return TimePosting(
        system=system,
        id=read.required_text(record, "RECORDNO"),
        time_entry_id=read.text(record, "PSA_ENTRY_ID"),
        job_id=read.text(record, "PROJECTKEY"),
        date=_required_date(record, "ENTRYDATE", system),
        hours=float(_decimal(record, "QTY", system)),
    )


def period(record: Record, system: str) -> AccountingPeriod:
    read = reader(system)
    return AccountingPeriod(
        system=system,
        id=read.required_text(record, "RECORDNO"),
        name=read.required_text(record, "NAME"),
        start=_required_date(record, "START_DATE", system),
        end=_required_date(record, "END_DATE", system),
        closed=read.flag(record, "CLOSED"),
    )


def exchange_rate(record: Record, system: str) -> ExchangeRate:
    rates = {f: _decimal(record, f, system) for f in ("AVERAGE_RATE", "CURRENT_RATE", "HISTORICAL_RATE")}
    for field, rate in rates.items():
        if rate <= 0:
            raise reader(system).fail(record, field, f"has a {field} that is not positive: {rate}")
    return ExchangeRate(
        from_currency=_currency(record, system, "FROM_CURRENCY"),
        to_currency=_currency(record, system, "TO_CURRENCY"),
        period_id=reader(system).required_text(record, "PERIODKEY"),
        average_rate=rates["AVERAGE_RATE"],
        current_rate=rates["CURRENT_RATE"],
        historical_rate=rates["HISTORICAL_RATE"],
    )
