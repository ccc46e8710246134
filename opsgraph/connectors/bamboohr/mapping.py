"""BambooHR records to canonical models. Pure functions: no I/O.

BambooHR sends nearly every value as a string (ids, dates, rates) and `null` for an empty field.
One mapper serves both employee shapes: `GET /employees/{id}` (`id`, `jobTitle`, ...) and the list
endpoint (`employeeId`, `jobTitleName`, ...). Every mapper takes the configured system's name and
sets it on the record; a missing or malformed required field is a `SourceDataError` naming the
record and the BambooHR field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.toolkit.fields import FieldReader
from opsgraph.model import Money, Resource, ResourceStatus, TimeOff

HOURS_PER_DAY = 8.0  # for time off booked in hours
EMPTY_DATE = "0000-00-00"  # BambooHR's unset date
_STATUS = {"active": ResourceStatus.ACTIVE, "inactive": ResourceStatus.INACTIVE}

Raw = Mapping[str, Any]


def _record_id(record: Raw) -> str | None:
    for name in ("id", "employeeId"):
        value = record.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value) != "":
            return str(value)
    return None


@cache
def _reader(system: str) -> FieldReader:
    """One reader per configured system, so its errors name that system."""

    def fail(record: Raw, field: str, problem: str) -> SourceDataError:
        return SourceDataError(
            system, f"BambooHR record {problem}", record_id=_record_id(record), field=field
        )

    return FieldReader(fail, blank_is_none=True)


def _date(read: FieldReader, record: Raw, field: str) -> date | None:
    return None if read.text(record, field) == EMPTY_DATE else read.date(record, field)


def _currency(pay_rate: str | None) -> str:
    """The currency of `payRate` ("145000.00 USD"), USD when absent."""
    if pay_rate and " " in pay_rate:
        return pay_rate.rsplit(" ", 1)[1].upper()
    return "USD"


def cost_rate(record: Raw, system: str) -> Money | None:
    """The hourly cost rate from the `customCostRate` custom field, in the pay currency."""
    read = _reader(system)
    raw = read.text(record, "customCostRate")
    if raw is None:
        return None
    try:
        amount = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0:
        raise read.fail(
            record, "customCostRate", f"has a cost rate that is not a non-negative amount: {raw!r}"
        )
    return Money.of(amount, _currency(read.text(record, "payRate")))


def employee_to_resource(record: Raw, system: str) -> Resource:
    """One employee record (either of BambooHR's shapes) as a `Resource` of `system`."""
    read = _reader(system)
    record_id = _record_id(record)
    if record_id is None:
        raise SourceDataError(system, "BambooHR employee record has no id", field="id")
    first = read.required_text(record, "firstName")
    last = read.required_text(record, "lastName")
    status = ResourceStatus.ACTIVE
    status_text = read.text(record, "status")
    if status_text is not None:
        found = _STATUS.get(status_text.lower())
        if found is None:
            raise read.fail(record, "status", f"has an unknown status {status_text!r}")
        status = found
    preferred = read.text(record, "preferredName")
    return Resource(
        system=system,
        id=record_id,
        name=read.text(record, "displayName") or f"{preferred or first} {last}",
        first_name=first,
        last_name=last,
        email=read.required_text(record, "workEmail"),
        title=read.text(record, "jobTitle") or read.text(record, "jobTitleName"),
        department=read.text(record, "department") or read.text(record, "departmentName"),
        division=read.text(record, "division") or read.text(record, "divisionName"),
        location=read.text(record, "location") or read.text(record, "locationName"),
        status=status,
        manager_id=read.text(record, "supervisorEid"),
        hire_date=_date(read, record, "hireDate"),
        cost_rate=cost_rate(record, system),
    )


def _part(read: FieldReader, record: Raw, field: str) -> Raw:
    value = record.get(field)
    if not isinstance(value, Mapping):
        raise read.fail(record, field, f"has no {field} object")
    return value


def time_off_from_record(record: Raw, system: str) -> TimeOff:
    """One time off request (`GET /time_off/requests/`) as a `TimeOff` of `system`."""
    read = _reader(system)
    record_id = read.text(record, "id")
    if not record_id:
        raise SourceDataError(system, "BambooHR time off request has no id", field="id")
    status = read.text(_part(read, record, "status"), "status")
    kind = read.text(_part(read, record, "type"), "name")
    amount = _part(read, record, "amount")
    if not status:
        raise read.fail(record, "status", "has no status")
    if not kind:
        raise read.fail(record, "type", "has no type name")
    raw_amount = amount.get("amount")
    try:
        quantity = float(raw_amount) if isinstance(raw_amount, str) else math.nan
    except ValueError:
        quantity = math.nan
    if not math.isfinite(quantity):
        raise read.fail(record, "amount", f"has a malformed amount: {amount.get('amount')!r}")
    unit = (read.text(amount, "unit") or "days").lower()
    if unit not in ("days", "hours"):
        raise read.fail(record, "amount", f"has an unknown amount unit {unit!r}")
    start, end = read.date(record, "start"), read.date(record, "end")
    if start is None:
        raise read.fail(record, "start", "has no start")
    if end is None:
        raise read.fail(record, "end", "has no end")
    days = quantity if unit == "days" else quantity / HOURS_PER_DAY
    return TimeOff(
        system=system,
        id=record_id,
        resource_id=read.required_text(record, "employeeId"),
        start=start,
        end=end,
        amount_days=days,
        kind=kind,
        status=status,
    )
