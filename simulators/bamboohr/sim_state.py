"""The BambooHR simulator's state: the world's people projected into BambooHR's employee fields, in SQLite.

Values leave here the way BambooHR sends them: strings for ids, dates, rates and money,
`null` for empty fields. Only people with a `bamboo_id` are employees (the PSA-only person
is the seeded drift). The world is read, never mutated; writes go to SQLite only.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from opsgraph.connectors.ids import is_digits
from simulators.simkit.store import Row, Store, utc_now
from simulators.world import Person, World

# Stored fields, by their BambooHR API names. `supervisorEid` is the supervisor's employee id.
STORED_FIELDS: tuple[str, ...] = (
    "firstName",
    "lastName",
    "preferredName",
    "jobTitle",
    "workEmail",
    "department",
    "division",
    "location",
    "supervisorEid",
    "hireDate",
    "payRate",
    "payType",
    "status",
    "customCostRate",
    "customSkills",
)
# Computed on read.
DERIVED_FIELDS: frozenset[str] = frozenset({"id", "employeeId", "displayName", "supervisor", "lastChanged"})
# The list endpoint's field names for the classic ones.
ALIASES: dict[str, str] = {
    "jobTitleName": "jobTitle",
    "departmentName": "department",
    "divisionName": "division",
    "locationName": "location",
}
KNOWN_FIELDS: frozenset[str] = frozenset(STORED_FIELDS) | DERIVED_FIELDS | frozenset(ALIASES)
# Every record of `GET /employees` carries these, plus whatever `fields` asks for.
LIST_DEFAULT_FIELDS: tuple[str, ...] = (
    "employeeId",
    "firstName",
    "lastName",
    "preferredName",
    "jobTitleName",
    "status",
)
STATUSES = ("Active", "Inactive")
TIME_OFF_TYPES = {"Vacation": "1", "Sick": "2", "Training": "3"}
TIME_OFF_STATUSES = ("approved", "denied", "superseded", "requested", "canceled")
SKILLS = {
    "Strategy": "Market Sizing, Operating Model",
    "Technology": "Cloud Architecture, Data Engineering",
    "Operations": "Lean, Supply Chain",
    "Finance Advisory": "Valuation, FP&A",
    "Finance": "Accounting",
    "People": "Recruiting",
    "Sales": "Account Management",
}

SCHEMA = """
CREATE TABLE employee (
    id INTEGER PRIMARY KEY,
    firstName TEXT NOT NULL,
    lastName TEXT NOT NULL,
    preferredName TEXT,
    jobTitle TEXT,
    workEmail TEXT,
    department TEXT,
    division TEXT,
    location TEXT,
    supervisorEid INTEGER,
    hireDate TEXT,
    payRate TEXT,
    payType TEXT,
    status TEXT NOT NULL,
    customCostRate TEXT,
    customSkills TEXT,
    lastChanged TEXT NOT NULL,
    action TEXT NOT NULL DEFAULT 'Updated'
);
CREATE INDEX employee_last_changed ON employee (lastChanged);
CREATE TABLE deleted_employee (
    id INTEGER PRIMARY KEY,
    lastChanged TEXT NOT NULL
);
CREATE INDEX employee_status ON employee (status, id);
CREATE TABLE time_off (
    id INTEGER PRIMARY KEY,
    employeeId INTEGER NOT NULL,
    start TEXT NOT NULL,
    "end" TEXT NOT NULL,
    days REAL NOT NULL,
    typeName TEXT NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    lastChanged TEXT NOT NULL
);
CREATE INDEX time_off_start ON time_off (start, "end");
CREATE INDEX time_off_employee ON time_off (employeeId, start);
"""

_SELECT = """
SELECT e.*, CASE WHEN s.id IS NULL THEN NULL
                 ELSE coalesce(s.preferredName, s.firstName) || ' ' || s.lastName END AS supervisorName
FROM employee e LEFT JOIN employee s ON s.id = e.supervisorEid
"""


class FieldError(ValueError):
    """A field name or value BambooHR would reject: the simulator answers 400."""


def iso(ts: datetime) -> str:
    """BambooHR's timestamp form: `2026-11-20T14:02:11+00:00`."""
    return ts.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_iso(text: str) -> datetime:
    """An ISO 8601 timestamp; a naive one is taken as UTC."""
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def encode_cursor(employee_id: int) -> str:
    return base64.urlsafe_b64encode(f"employee:{employee_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "employee":
            raise ValueError(raw)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise FieldError(f"Invalid cursor: {cursor!r}") from exc


def _pay_rate(person: Person) -> str:
    """Annual salary behind the loaded hourly cost rate: about 1,600 paid hours a year."""
    annual = (person.cost_rate * 1600).quantize(Decimal("1000"))
    return f"{annual:.2f} USD"


def _employee_row(person: Person) -> Row:
    assert person.bamboo_id is not None
    supervisor = person.supervisor
    return {
        "id": int(person.bamboo_id),
        "firstName": person.first,
        "lastName": person.last,
        "preferredName": None,
        "jobTitle": person.title,
        "workEmail": person.email,
        "department": person.department,
        "division": person.division,
        "location": person.location,
        "supervisorEid": int(supervisor.bamboo_id) if supervisor and supervisor.bamboo_id else None,
        "hireDate": person.hire_date.isoformat(),
        "payRate": _pay_rate(person),
        "payType": "Salary",
        "status": person.status,
        "customCostRate": f"{person.cost_rate:.2f}",
        "customSkills": f"{SKILLS.get(person.department, '')}, {person.title}".lstrip(", "),
        "lastChanged": iso(person.modified_at),
        "action": "Updated",
    }


def _validate(field: str, value: Any) -> Any:
    """One written value, as BambooHR would store it; raises `FieldError` on a bad one."""
    if field not in STORED_FIELDS:
        raise FieldError(f"Invalid field: {field!r}")
    if value is None or value == "":
        if field in ("firstName", "lastName", "status"):
            raise FieldError(f"Field {field!r} cannot be empty")
        return None
    if not isinstance(value, str | int | float):
        raise FieldError(f"Field {field!r} must be a string")
    text = str(value)
    if field == "status" and text not in STATUSES:
        raise FieldError(f"Invalid value for status: {text!r}")
    if field == "hireDate":
        try:
            date.fromisoformat(text)
        except ValueError as exc:
            raise FieldError(f"Invalid date for hireDate: {text!r}") from exc
    if field == "customCostRate":
        try:
            return f"{Decimal(text):.2f}"
        except InvalidOperation as exc:
            raise FieldError(f"Invalid number for customCostRate: {text!r}") from exc
    if field == "supervisorEid":
        if not is_digits(text):
            raise FieldError(f"Invalid employee id for supervisorEid: {text!r}")
        return int(text)
    return text


class HrState:
    """Employees and time off requests for one simulator."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.store = Store(SCHEMA)
        self._clock = datetime.min.replace(tzinfo=UTC)
        self.load()

    def load(self) -> None:
        self.store.wipe()
        people = [p for p in self.world.people if p.bamboo_id is not None]
        self.store.insert_many("employee", (_employee_row(p) for p in people))
        self.store.insert_many(
            "time_off",
            (
                {
                    "id": t.id,
                    "employeeId": int(t.person.bamboo_id),
                    "start": t.start.isoformat(),
                    "end": t.end.isoformat(),
                    "days": t.days,
                    "typeName": t.kind,
                    "status": t.status,
                    "created": (t.start - timedelta(days=21)).isoformat(),
                    "lastChanged": (t.start - timedelta(days=20)).isoformat(),
                }
                for t in self.world.time_off
                if t.person.bamboo_id is not None
            ),
        )
        self._clock = max((p.modified_at for p in people), default=utc_now())

    def stamp(self) -> str:
        """Now, but strictly after every earlier stamp, so change polling never misses a write."""
        self._clock = max(utc_now(), self._clock + timedelta(seconds=1)).replace(microsecond=0)
        return iso(self._clock)

    # -- reads ---------------------------------------------------------------------------------

    def employee(self, employee_id: int) -> Row | None:
        return self.store.row(_SELECT + " WHERE e.id = ?", [employee_id])

    def directory(self) -> list[Row]:
        return self.store.rows(_SELECT + " WHERE e.status = 'Active' ORDER BY e.id")

    def page(
        self,
        *,
        ids: Sequence[int] | None,
        status: str | None,
        after: int | None,
        before: int | None,
        limit: int,
    ) -> tuple[list[Row], int, bool, bool]:
        """One page in id order: (rows, total matching, more after, more before)."""
        where, params = self._list_filter(ids, status)
        total = int(self.store.scalar(f"SELECT count(*) FROM employee e WHERE {where}", params))
        if before is not None:
            rows = self.store.rows(
                _SELECT + f" WHERE {where} AND e.id < ? ORDER BY e.id DESC LIMIT ?",
                [*params, before, limit + 1],
            )
            more_before = len(rows) > limit
            rows = list(reversed(rows[:limit]))
            return rows, total, True, more_before
        floor = after if after is not None else -1
        rows = self.store.rows(
            _SELECT + f" WHERE {where} AND e.id > ? ORDER BY e.id LIMIT ?", [*params, floor, limit + 1]
        )
        return rows[:limit], total, len(rows) > limit, after is not None and bool(rows)

    @staticmethod
    def _list_filter(ids: Sequence[int] | None, status: str | None) -> tuple[str, list[Any]]:
        clauses, params = ["1 = 1"], list[Any]()
        if ids is not None:
            clauses.append("e.id IN (SELECT value FROM json_each(?))")
            params.append("[" + ",".join(str(i) for i in ids) + "]")
        if status is not None:
            clauses.append("e.status = ?")
            params.append(status)
        return " AND ".join(clauses), params

    def changed_since(self, since: datetime) -> list[Row]:
        """Inserted and updated employees, and deleted ones (action `Deleted`), changed after `since`."""
        return self.store.rows(
            "SELECT id, action, lastChanged FROM employee WHERE lastChanged > ? UNION ALL "
            "SELECT id, 'Deleted' AS action, lastChanged FROM deleted_employee WHERE lastChanged > ? "
            "ORDER BY id",
            [iso(since), iso(since)],
        )

    def time_off(self, start: date, end: date, status: str | None, employee_id: int | None) -> list[Row]:
        sql = """SELECT t.*, coalesce(e.preferredName, e.firstName) || ' ' || e.lastName AS name
                 FROM time_off t JOIN employee e ON e.id = t.employeeId
                 WHERE t.start <= ? AND t."end" >= ?"""
        params: list[Any] = [end.isoformat(), start.isoformat()]
        if status is not None:
            sql += " AND t.status = ?"
            params.append(status)
        if employee_id is not None:
            sql += " AND t.employeeId = ?"
            params.append(employee_id)
        return self.store.rows(sql + " ORDER BY t.start, t.id", params)

    # -- writes --------------------------------------------------------------------------------

    def update(self, employee_id: int, fields: Mapping[str, Any]) -> str | None:
        """Set fields on one employee; the new `lastChanged`, or None when there is no such employee."""
        values = self._clean(fields)
        if self.employee(employee_id) is None:
            return None
        stamp = self.stamp()
        self.store.update("employee", "id", employee_id, {**values, "lastChanged": stamp})
        return stamp

    def create(self, fields: Mapping[str, Any]) -> int:
        values = self._clean(fields)
        for required in ("firstName", "lastName"):
            if not values.get(required):
                raise FieldError(f"Field {required!r} is required")
        new_id = int(
            self.store.scalar(
                "SELECT coalesce(max(id), 0) + 1 "
                "FROM (SELECT id FROM employee UNION ALL SELECT id FROM deleted_employee)"
            )
        )
        values.setdefault("status", "Active")
        self.store.insert(
            "employee", {"id": new_id, **values, "lastChanged": self.stamp(), "action": "Inserted"}
        )
        return new_id

    def delete(self, employee_id: int) -> str | None:
        """Delete one employee and their time off (the changed feed then reports `Deleted`); the
        deletion's `lastChanged`, or None when there is no such employee."""
        if self.employee(employee_id) is None:
            return None
        stamp = self.stamp()
        self.store.execute("DELETE FROM time_off WHERE employeeId = ?", [employee_id])
        self.store.execute("DELETE FROM employee WHERE id = ?", [employee_id])
        self.store.insert("deleted_employee", {"id": employee_id, "lastChanged": stamp})
        return stamp

    def _clean(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        values = {field: _validate(field, value) for field, value in fields.items()}
        supervisor = values.get("supervisorEid")
        if supervisor is not None and self.employee(supervisor) is None:
            raise FieldError(f"No employee with id {supervisor} for supervisorEid")
        return values


def field_value(row: Row, field: str) -> Any:
    """One field of an employee row, as BambooHR renders it (strings, or null when empty)."""
    name = ALIASES.get(field, field)
    if name in ("id", "employeeId"):
        return str(row["id"])
    if name == "displayName":
        return f"{row['preferredName'] or row['firstName']} {row['lastName']}"
    if name == "supervisor":
        return row["supervisorName"]
    if name == "supervisorEid":
        return None if row["supervisorEid"] is None else str(row["supervisorEid"])
    value = row.get(name)
    return None if value is None else str(value)


def render(row: Row, fields: Iterable[str], *, unknown_as_null: bool = True) -> dict[str, Any]:
    """The fields asked for; an unknown name comes back as null (or raises `FieldError`)."""
    out: dict[str, Any] = {}
    for field in fields:
        if field in KNOWN_FIELDS:
            out[field] = field_value(row, field)
        elif unknown_as_null:
            out[field] = None
        else:
            raise FieldError(f"Invalid field: {field!r}")
    return out
