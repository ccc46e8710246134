"""BambooHR records to canonical models. Pure functions: no I/O.

BambooHR sends nearly every value as a string (ids, dates, rates) and `null` for an empty
field. One mapper serves the three employee shapes: `GET /employees/{id}` and the directory
(`id`, `jobTitle`, ...) and the list endpoint (`employeeId`, `jobTitleName`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.model import Money, Resource, ResourceStatus, SourceName, TimeOff

SOURCE = SourceName.BAMBOOHR
HOURS_PER_DAY = 8.0  # for time off booked in hours
_STATUS = {"active": ResourceStatus.ACTIVE, "inactive": ResourceStatus.INACTIVE}
EMPLOYEE_FIELDS: tuple[str, ...] = (
    "firstName",
    "lastName",
    "preferredName",
    "displayName",
    "workEmail",
    "jobTitle",
    "department",
    "division",
    "location",
    "status",
    "supervisorEid",
    "hireDate",
    "payRate",
    "customCostRate",
)
"""What the client asks for on every employee read: enough for `employee_to_resource`."""


def _text(record: Mapping[str, Any], *names: str) -> str | None:
    """The first non-empty value among `names`, as text."""
    for name in names:
        value = record.get(name)
        if value is not None and str(value).strip() != "":
            return str(value).strip()
    return None


def _required(record: Mapping[str, Any], record_id: str | None, *names: str) -> str:
    value = _text(record, *names)
    if value is None:
        raise SourceDataError(
            SOURCE, "required field is missing or empty", record_id=record_id, field=names[0]
        )
    return value


def _date(value: str | None, record_id: str, field: str) -> date | None:
    if value is None or value == "0000-00-00":  # BambooHR's empty date
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise SourceDataError(
            SOURCE, f"not a YYYY-MM-DD date: {value!r}", record_id=record_id, field=field
        ) from exc


def _currency(pay_rate: str | None) -> str:
    """The currency of `payRate` ("145000.00 USD"), USD when absent."""
    if pay_rate and " " in pay_rate:
        return pay_rate.rsplit(" ", 1)[1].upper()
    return "USD"


def cost_rate(record: Mapping[str, Any], record_id: str) -> Money | None:
    """The hourly cost rate from the `customCostRate` custom field, in the pay currency."""
    raw = _text(record, "customCostRate")
    if raw is None:
        return None
    try:
        amount = Decimal(raw.replace(",", ""))
    except InvalidOperation as exc:
        raise SourceDataError(
            SOURCE, f"cost rate is not a number: {raw!r}", record_id=record_id, field="customCostRate"
        ) from exc
    if not amount.is_finite() or amount < 0:
        raise SourceDataError(
            SOURCE,
            f"cost rate is not a non-negative amount: {raw!r}",
            record_id=record_id,
            field="customCostRate",
        )
    return Money.of(amount, _currency(_text(record, "payRate")))


def employee_to_resource(record: Mapping[str, Any]) -> Resource:
    """One employee record (any of BambooHR's shapes) as a `Resource`."""
    record_id = _text(record, "id", "employeeId")
    if record_id is None:
        raise SourceDataError(SOURCE, "employee record has no id", field="id")
    first = _required(record, record_id, "firstName")
    last = _required(record, record_id, "lastName")
    email = _required(record, record_id, "workEmail")
    status_text = _text(record, "status")
    status = ResourceStatus.ACTIVE
    if status_text is not None:
        if status_text.lower() not in _STATUS:
            raise SourceDataError(
                SOURCE, f"unknown employee status {status_text!r}", record_id=record_id, field="status"
            )
        status = _STATUS[status_text.lower()]
    preferred = _text(record, "preferredName")
    return Resource(
        id=record_id,
        name=_text(record, "displayName") or f"{preferred or first} {last}",
        first_name=first,
        last_name=last,
        email=email,
        title=_text(record, "jobTitle", "jobTitleName"),
        department=_text(record, "department", "departmentName"),
        division=_text(record, "division", "divisionName"),
        location=_text(record, "location", "locationName"),
        status=status,
        manager_id=_text(record, "supervisorEid"),
        hire_date=_date(_text(record, "hireDate"), record_id, "hireDate"),
        cost_rate=cost_rate(record, record_id),
    )


def time_off_from_record(record: Mapping[str, Any]) -> TimeOff:
    """One time off request (`GET /time_off/requests/`) as a `TimeOff`."""
    record_id = _text(record, "id")
    if record_id is None:
        raise SourceDataError(SOURCE, "time off request has no id", field="id")
    status = record.get("status")
    kind = record.get("type")
    amount = record.get("amount")
    if not isinstance(status, Mapping) or not _text(status, "status"):
        raise SourceDataError(SOURCE, "time off request has no status", record_id=record_id, field="status")
    if not isinstance(kind, Mapping) or not _text(kind, "name"):
        raise SourceDataError(SOURCE, "time off request has no type", record_id=record_id, field="type")
    if not isinstance(amount, Mapping):
        raise SourceDataError(SOURCE, "time off request has no amount", record_id=record_id, field="amount")
    raw_amount = _required(amount, record_id, "amount")
    try:
        quantity = float(raw_amount)
    except ValueError as exc:
        raise SourceDataError(
            SOURCE, f"amount is not a number: {raw_amount!r}", record_id=record_id, field="amount"
        ) from exc
    unit = (_text(amount, "unit") or "days").lower()
    if unit not in ("days", "hours"):
        raise SourceDataError(SOURCE, f"unknown amount unit {unit!r}", record_id=record_id, field="amount")
    start = _date(_required(record, record_id, "start"), record_id, "start")
    end = _date(_required(record, record_id, "end"), record_id, "end")
    if start is None or end is None:
        raise SourceDataError(SOURCE, "time off request has no dates", record_id=record_id, field="start")
    return TimeOff(
        id=record_id,
        resource_id=_required(record, record_id, "employeeId"),
        start=start,
        end=end,
        amount_days=quantity if unit == "days" else quantity / HOURS_PER_DAY,
        kind=_required(kind, record_id, "name"),
        status=_required(status, record_id, "status"),
    )
