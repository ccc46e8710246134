"""The Workday simulator's state: the world's people as one tenant's workers, and the reports over them.

Values leave here as RaaS JSON sends them: every value a string, an empty field left out of the row,
dates with the tenant's offset (`2019-03-04-08:00`), moments with milliseconds and the offset. Only people
with an HR id are workers (the PSA-only person is the seeded drift); their `Employee_ID` is that id. The
report definitions (column aliases) are the ones the README documents; a tenant's report author may
rename or drop a column (`rename_columns`, `drop_columns` events), which the connector must then be told.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from simulators.simkit.store import utc_now
from simulators.world import Person, World

TENANT_ZONE = timezone(timedelta(hours=-8))  # the tenant's time zone, in its dates and moments
TIME_OFF_STATUS = {
    "approved": "Approved",
    "requested": "Submitted",
    "denied": "Denied",
    "canceled": "Canceled",
}

WORKER_COLUMNS: dict[str, str] = {
    "employee_id": "Employee_ID",
    "wid": "WID",
    "worker": "Worker",
    "first": "First_Name",
    "last": "Last_Name",
    "email": "Email_-_Primary_Work",
    "title": "Business_Title",
    "department": "Supervisory_Organization",
    "division": "Division",
    "location": "Location",
    "active": "Active_Status",
    "manager": "Manager_Employee_ID",
    "hire_date": "Hire_Date",
    "weekly_hours": "Scheduled_Weekly_Hours",
    "cost_rate": "Hourly_Cost_Rate",
    "currency": "Cost_Rate_Currency",
    "updated": "Last_Updated",
}
"""The documented workers report: the simulator's field -> the column alias."""
TIME_OFF_COLUMNS: dict[str, str] = {
    "id": "Request_ID",
    "employee_id": "Employee_ID",
    "worker": "Worker",
    "start": "First_Day",
    "end": "Last_Day",
    "units": "Total_Units",
    "unit": "Unit_of_Time",
    "kind": "Time_Off_Type",
    "status": "Status",
}
"""The documented time off report."""
EDITABLE = frozenset({"title", "department", "division", "location", "active", "cost_rate", "email"})


def wid(kind: str, key: str) -> str:
    """A Workday ID: 32 hex digits, stable for a record."""
    return hashlib.md5(f"{kind}:{key}".encode(), usedforsecurity=False).hexdigest()


def tenant_date(day: date) -> str:
    return f"{day.isoformat()}-08:00"


def tenant_moment(moment: datetime) -> str:
    return moment.astimezone(TENANT_ZONE).isoformat(timespec="milliseconds")


def _worker(person: Person) -> dict[str, Any]:
    assert person.bamboo_id is not None
    manager = person.supervisor.bamboo_id if person.supervisor is not None else None
    return {
        "employee_id": person.bamboo_id,
        "wid": wid("worker", person.bamboo_id),
        "worker": person.name,
        "first": person.first,
        "last": person.last,
        "email": person.email,
        "title": person.title,
        "department": person.department,
        "division": person.division,
        "location": person.location,
        "active": "1" if person.status == "Active" else "0",
        "manager": manager,
        "hire_date": tenant_date(person.hire_date),
        "weekly_hours": f"{person.weekly_capacity_hours:g}",
        "cost_rate": f"{person.cost_rate:.2f}",
        "currency": "USD",
        "updated": person.modified_at.astimezone(UTC),
    }


@dataclass
class TenantState:
    """One tenant: its workers, time off requests, report definitions and issued tokens."""

    world: World
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    time_off: list[dict[str, Any]] = field(default_factory=list)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    _clock: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        self.load()

    def load(self) -> None:
        people = [p for p in self.world.people if p.bamboo_id is not None]
        self.workers = {str(p.bamboo_id): _worker(p) for p in people}
        self.time_off = [
            {
                "id": str(t.id),
                "employee_id": t.person.bamboo_id,
                "worker": t.person.name,
                "start": t.start,
                "end": t.end,
                "units": f"{t.days:g}",
                "unit": "Days",
                "kind": t.kind,
                "status": TIME_OFF_STATUS[t.status],
            }
            for t in self.world.time_off
            if t.person.bamboo_id is not None
        ]
        self.columns = {"workers": dict(WORKER_COLUMNS), "time_off": dict(TIME_OFF_COLUMNS)}
        self.tokens = set()
        self._clock = max((p.modified_at for p in people), default=utc_now())

    def stamp(self) -> datetime:
        """Now, but strictly after every earlier stamp, so change polling never misses a write."""
        self._clock = max(utc_now(), self._clock + timedelta(seconds=1)).replace(microsecond=0)
        return self._clock

    # -- reports -------------------------------------------------------------------------------

    def worker_rows(self, updated_since: date | None) -> list[dict[str, Any]]:
        rows = sorted(self.workers.values(), key=lambda r: int(r["employee_id"]))
        if updated_since is not None:
            rows = [r for r in rows if r["updated"].astimezone(TENANT_ZONE).date() >= updated_since]
        return [self._render("workers", r) for r in rows]

    def time_off_rows(
        self, start: date, end: date, status: str | None, employee_id: str | None
    ) -> list[dict[str, Any]]:
        rows = [
            r
            for r in self.time_off
            if r["start"] <= end
            and r["end"] >= start
            and (status is None or r["status"] == status)
            and (employee_id is None or r["employee_id"] == employee_id)
        ]
        rows.sort(key=lambda r: (r["start"], int(r["id"])))
        return [self._render("time_off", r) for r in rows]

    def _render(self, report: str, row: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, column in self.columns[report].items():
            value = row.get(name)
            if value is None or value == "":
                continue  # RaaS leaves an empty field out of the row
            if isinstance(value, datetime):
                value = tenant_moment(value)
            elif isinstance(value, date):
                value = tenant_date(value)
            out[column] = value
        return out

    # -- changes -------------------------------------------------------------------------------

    def change_worker(self, employee_id: str, fields: Mapping[str, Any]) -> str:
        row = self.workers.get(employee_id)
        if row is None:
            raise ValueError(f"no worker with Employee_ID {employee_id!r}")
        for name, value in fields.items():
            if name not in EDITABLE:
                raise ValueError(f"cannot change {name!r}; editable: {', '.join(sorted(EDITABLE))}")
            if name == "cost_rate":
                value = f"{Decimal(str(value)):.2f}"
            row[name] = None if value is None else str(value)
        row["updated"] = self.stamp()
        return tenant_moment(row["updated"])

    def rename_columns(self, report: str, renames: Mapping[str, str]) -> dict[str, str]:
        columns = self._report_columns(report)
        by_alias = {alias: name for name, alias in columns.items()}
        for old, new in renames.items():
            if old not in by_alias or not isinstance(new, str) or not new:
                raise ValueError(f"report {report} has no column {old!r} (or the new name is empty)")
            columns[by_alias[old]] = new
        return dict(columns)

    def drop_columns(self, report: str, aliases: Iterable[str]) -> dict[str, str]:
        columns = self._report_columns(report)
        for alias in aliases:
            name = next((n for n, a in columns.items() if a == alias), None)
            if name is None:
                raise ValueError(f"report {report} has no column {alias!r}")
            del columns[name]
        return dict(columns)

    def _report_columns(self, report: str) -> dict[str, str]:
        if report not in self.columns:
            raise ValueError(f"no report {report!r}; reports: {', '.join(self.columns)}")
        return self.columns[report]
