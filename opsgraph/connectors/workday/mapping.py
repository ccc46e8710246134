"""Workday report rows to canonical models, through the configured column map. Pure functions: no I/O.

RaaS JSON sends every value as a string and leaves an empty field out of the row; dates may carry the
tenant's offset (`2019-03-04-08:00`). Each canonical field is read from its configured column, so every
`SourceDataError` names the report and the column (the tenant's name for it), never a canonical name.
A configured column that no row of a non-empty report carries is the report lacking it: an error, not a
column of nulls (`check_columns`; a filtered run may lack a column only some workers fill).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.toolkit.fields import FieldReader
from opsgraph.connectors.workday.resources import TIME_OFF_STATUSES
from opsgraph.connectors.workday.settings import Report
from opsgraph.model import Money, Resource, ResourceStatus, TimeOff

HOURS_PER_DAY = 8.0  # for time off counted in hours
_ACTIVE = {"1": ResourceStatus.ACTIVE, "0": ResourceStatus.INACTIVE}
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?$")
_UNITS = {"days": 1.0, "hours": 1 / HOURS_PER_DAY}

Row = Mapping[str, Any]


class ReportRows:
    """Typed values of one report's rows, read by canonical field through the column map."""

    def __init__(self, system: str, report: Report) -> None:
        self.system = system
        self.report = report
        self.read = FieldReader(self._fail, blank_is_none=True)

    def _fail(self, row: Row, column: str, problem: str) -> SourceDataError:
        id_column = self.report.column("id") or ""
        record_id = row.get(id_column) if isinstance(row.get(id_column), str) else None
        return SourceDataError(
            self.system, f"Workday report {self.report.name} row {problem}", record_id=record_id, field=column
        )

    def text(self, row: Row, field: str) -> str | None:
        column = self.report.column(field)
        return None if column is None else self.read.text(row, column)

    def required(self, row: Row, field: str) -> str:
        return self.read.required_text(row, self.report.columns[field])

    def parsed(self, row: Row, field: str, parse: Callable[[str], Any]) -> Any:
        column = self.report.column(field)
        return None if column is None else self.read.parsed(row, column, parse)

    def fail(self, row: Row, field: str, problem: str) -> SourceDataError:
        return self._fail(row, self.report.column(field) or field, problem)


def check_columns(system: str, report: Report, rows: Sequence[Row], *, complete: bool) -> None:
    """Every configured column is in the report: some row of a non-empty report carries it.

    A filtered run (`complete` False: a prompt narrowed it) may lack a sparse field's column.
    """
    if not rows:
        return
    seen = {key for row in rows for key in row}
    for field, column in report.columns.items():
        if column and column not in seen and (complete or field not in report.sparse):
            raise SourceDataError(
                system,
                f"Workday report {report.name} has no column {column!r} "
                f'(options.{report.key}.columns.{field}); rename it in the settings or set it to ""',
                field=column,
            )


def report_date(text: str) -> date:
    """`2019-03-04` or `2019-03-04-08:00` (a date with the tenant's offset)."""
    match = _DATE.match(text)
    if match is None:
        raise ValueError(text)
    return date.fromisoformat(match.group(1))


def report_moment(text: str) -> datetime:
    """`2026-11-21T10:15:00.000-08:00`; a moment must carry its offset."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment


def _amount(text: str) -> Decimal:
    amount = Decimal(text.replace(",", ""))
    if not amount.is_finite() or amount < 0:
        raise ValueError(text)
    return amount


def worker_to_resource(row: Row, rows: ReportRows) -> Resource:
    """One row of the workers report as a `Resource`."""
    status = _ACTIVE.get(rows.required(row, "active"))
    if status is None:
        found = rows.text(row, "active")
        raise rows.fail(row, "active", f"has an active status that is not 1 or 0: {found!r}")
    rate = rows.parsed(row, "cost_rate", _amount)
    return Resource(
        system=rows.system,
        id=rows.required(row, "id"),
        name=rows.required(row, "name"),
        first_name=rows.text(row, "first_name"),
        last_name=rows.text(row, "last_name"),
        email=rows.required(row, "email"),
        title=rows.text(row, "title"),
        department=rows.text(row, "department"),
        division=rows.text(row, "division"),
        location=rows.text(row, "location"),
        status=status,
        manager_id=rows.text(row, "manager_id"),
        hire_date=rows.parsed(row, "hire_date", report_date),
        cost_rate=None if rate is None else Money.of(rate, rows.text(row, "cost_rate_currency") or "USD"),
    )


def last_updated(row: Row, rows: ReportRows) -> datetime:
    stamp: datetime | None = rows.parsed(row, "last_updated", report_moment)
    if stamp is None:
        raise rows.fail(row, "last_updated", "has no last-updated moment")
    return stamp


def time_off_from_row(row: Row, rows: ReportRows) -> TimeOff:
    """One row of the time off report as a `TimeOff`."""
    status = TIME_OFF_STATUSES.get(rows.required(row, "status"))
    if status is None:
        raise rows.fail(row, "status", f"has an unknown status {rows.text(row, 'status')!r}")
    unit = (rows.text(row, "unit") or "Days").lower()
    if unit not in _UNITS:
        raise rows.fail(row, "unit", f"has an unknown unit of time {unit!r}")
    quantity = rows.parsed(row, "quantity", float)
    if quantity is None or quantity != quantity or quantity in (float("inf"), float("-inf")):
        raise rows.fail(row, "quantity", f"has no finite quantity: {rows.text(row, 'quantity')!r}")
    start, end = rows.parsed(row, "start", report_date), rows.parsed(row, "end", report_date)
    if start is None or end is None:
        raise rows.fail(row, "start" if start is None else "end", "has no first or last day")
    return TimeOff(
        system=rows.system,
        id=rows.required(row, "id"),
        resource_id=rows.required(row, "resource_id"),
        start=start,
        end=end,
        amount_days=quantity * _UNITS[unit],
        kind=rows.required(row, "kind"),
        status=status,
    )
