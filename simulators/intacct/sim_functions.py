"""The simulated gateway's functions over the SQLite projection: `readByQuery`, `readMore`, `create`,
`update`, `delete`.

`readByQuery` runs Intacct's query language (SQL-like conditions: `=`, `<>`, `<`, `>=`, `IN`, `LIKE`,
`AND`, `OR`; dates `'MM/DD/YYYY'`, datetimes `'MM/DD/YYYY HH:MM:SS'`) through simkit's query compiler,
ordered by `RECORDNO`, and keeps the rest of the answer behind a `resultId` for `readMore`. A single
hit is one object, as on the real gateway. Writes keep totals in step: an invoice's `TOTALDUE`, its
customer's `TOTALDUE`; every write stamps `WHENMODIFIED`.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element

from simulators.intacct.sim_state import OBJECTS, TABLES, Obj, invoice_state, stamp, stored, wire
from simulators.intacct.sim_wire import (
    BAD_QUERY,
    DUPLICATE,
    INVALID,
    NOT_FOUND,
    UNKNOWN_RESULT,
    GatewayError,
    data,
)
from simulators.simkit.query import QueryCompiler, QueryError
from simulators.simkit.store import Row, Store, utc_now

MAX_PAGE = 2000
DEFAULT_PAGE = 100
_DATETIME = re.compile(r"'(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2}):(\d{2})'")
_compiler = QueryCompiler(TABLES, "suiteql", aggregates=False)  # readByQuery: conditions only


def _iso_literal(m: re.Match[str]) -> str:
    month, day, year, hh, mm, ss = m.groups()
    return f"'{year}-{month}-{day}T{hh}:{mm}:{ss}.000+0000'"


def _obj(name: str | None) -> Obj:
    obj = OBJECTS.get((name or "").strip().upper())
    if obj is None:
        raise GatewayError(INVALID, f"unknown object {name!r}")
    return obj


def _wire_row(obj: Obj, row: Row, fields: list[str]) -> dict[str, str]:
    return {f: wire(obj.fields[f], row[f.lower()]) for f in fields}


class Functions:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.cursors: dict[str, tuple[Obj, list[Row], list[str], int, int]] = {}
        self._ids = itertools.count(10_000_000)
        self.writes: Counter[str] = Counter()
        """Writes done, by function and object (`create PROJECT`): the `write_counts` event answers them."""

    # -- reads ---------------------------------------------------------------------------------

    def _fields(self, obj: Obj, text: str) -> list[str]:
        names = [f.strip().upper() for f in text.split(",") if f.strip()]
        if not names or names == ["*"]:
            return list(obj.fields)
        unknown = [n for n in names if n not in obj.fields]
        if unknown:
            raise GatewayError(INVALID, f"unknown field {unknown[0]} of {obj.name}")
        return names

    def read_by_query(self, call: Element) -> Element:
        obj = _obj(call.findtext("object"))
        fields = self._fields(obj, call.findtext("fields") or "*")
        where = (call.findtext("query") or "").strip()
        size_text = (call.findtext("pagesize") or str(DEFAULT_PAGE)).strip()
        if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE:
            raise GatewayError(INVALID, f"pagesize must be 1 to {MAX_PAGE}, not {size_text!r}")
        sql = f"SELECT * FROM {obj.name}" + (f" WHERE {_DATETIME.sub(_iso_literal, where)}" if where else "")
        try:
            compiled = _compiler.compile(sql + " ORDER BY RECORDNO")
        except QueryError as exc:
            raise GatewayError(BAD_QUERY, f"Query Failed: {exc.message}") from None
        rows = [
            {sel.path[-1].lower(): r[sel.column] for sel in compiled.selected}
            for r in self.store.rows(compiled.sql, compiled.params)
        ]
        return self._page(obj, rows, fields, int(size_text), 0)

    def _page(self, obj: Obj, rows: list[Row], fields: list[str], size: int, served: int) -> Element:
        page = rows[served : served + size]
        remaining = len(rows) - served - len(page)
        attrs = {"totalcount": str(len(rows)), "numremaining": str(remaining)}
        if remaining > 0:
            result_id = f"{uuid.uuid4().hex}"
            self.cursors[result_id] = (obj, rows, fields, size, served + len(page))
            attrs["resultId"] = result_id
        return data(obj.name.lower(), [_wire_row(obj, r, fields) for r in page], obj.name, **attrs)

    def read_more(self, call: Element) -> Element:
        result_id = (call.findtext("resultId") or "").strip()
        cursor = self.cursors.pop(result_id, None)
        if cursor is None:
            raise GatewayError(UNKNOWN_RESULT, f"resultId {result_id!r} is unknown or used up")
        obj, rows, fields, size, served = cursor
        return self._page(obj, rows, fields, size, served)

    # -- writes --------------------------------------------------------------------------------

    def _values(self, obj: Obj, node: Element, allowed: frozenset[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for child in node:
            name = child.tag.upper()
            if len(child):
                continue  # a nested list (TIMESHEETENTRIES, ARINVOICEITEMS): read by its creator
            if name not in obj.fields or (allowed is not None and name not in allowed):
                raise GatewayError(INVALID, f"{obj.name} has no writable field {name}")
            try:
                out[name.lower()] = stored(obj.fields[name], (child.text or "").strip())
            except (ValueError, ArithmeticError):
                raise GatewayError(INVALID, f"{obj.name}.{name} is malformed: {child.text!r}") from None
        return out

    def _key_of(self, table: str, id_field: str, value: Any, what: str) -> int:
        found = self.store.scalar(f"SELECT recordno FROM {table} WHERE {id_field} = ?", [value])
        if found is None:
            raise GatewayError(NOT_FOUND, f"no {what} {value!r}")
        return int(found)

    def _require(self, values: dict[str, Any], *names: str, obj: str) -> None:
        missing = [n for n in names if values.get(n.lower()) in (None, "")]
        if missing:
            raise GatewayError(INVALID, f"{obj} requires {', '.join(missing)}")

    def create(self, call: Element) -> Element:
        if len(call) != 1:
            raise GatewayError(INVALID, "create takes one object")
        node = call[0]
        obj = _obj(node.tag)
        makers: dict[str, Callable[[Obj, Element], int]] = {
            "CUSTOMER": self._customer, "PROJECT": self._project, "TIMESHEET": self._timesheet,
            "ARINVOICE": self._invoice,
        }  # fmt: skip
        if obj.name not in makers:
            raise GatewayError(INVALID, f"create of {obj.name} is not supported")
        record_no = makers[obj.name](obj, node)
        self.writes[f"create {obj.name}"] += 1
        return data("objects", [{"RECORDNO": str(record_no)}], obj.name)

    def _stamped(self, values: dict[str, Any], obj: Obj) -> dict[str, Any]:
        now = stamp(utc_now())
        values["recordno"] = next(self._ids)
        values["whenmodified"] = now
        if obj.fields.get("WHENCREATED") == "datetime":
            values.setdefault("whencreated", now)
        return values

    def _unique(self, table: str, column: str, value: Any, what: str) -> None:
        if self.store.scalar(f"SELECT 1 FROM {table} WHERE {column} = ?", [value]):
            raise GatewayError(DUPLICATE, f"Another {what} with the value {value} already exists")

    def _customer(self, obj: Obj, node: Element) -> int:
        values = self._values(obj, node)
        self._require(values, "CUSTOMERID", "NAME", "CURRENCY", obj="CUSTOMER")
        self._unique("customer", "customerid", values["customerid"], "customer")
        values.update(totaldue=0.0, status=values.get("status") or "active")
        return self.store.insert("customer", self._stamped(values, obj))

    def _project(self, obj: Obj, node: Element) -> int:
        values = self._values(obj, node)
        self._require(values, "PROJECTID", "NAME", "CUSTOMERID", obj="PROJECT")
        self._unique("project", "projectid", values["projectid"], "project")
        values["customerkey"] = self._key_of("customer", "customerid", values["customerid"], "customer")
        values["status"] = values.get("status") or "active"
        return self.store.insert("project", self._stamped(values, obj))

    def _timesheet(self, obj: Obj, node: Element) -> int:
        values = self._values(obj, node)
        self._require(values, "EMPLOYEEID", "BEGINDATE", obj="TIMESHEET")
        self._key_of("employee", "employeeid", values["employeeid"], "employee")
        entry_obj = OBJECTS["TIMESHEETENTRY"]
        entries = []
        for item in node.iterfind("TIMESHEETENTRIES/TIMESHEETENTRY"):
            entry = self._values(entry_obj, item)
            self._require(entry, "ENTRYDATE", "QTY", "PROJECTID", obj="TIMESHEETENTRY")
            entry["projectkey"] = self._key_of("project", "projectid", entry["projectid"], "project")
            if entry.get("psa_entry_id"):
                self._unique("timesheetentry", "psa_entry_id", entry["psa_entry_id"], "time sheet entry")
            entries.append(entry)
        if not entries:
            raise GatewayError(INVALID, "a TIMESHEET needs TIMESHEETENTRIES")
        values["state"] = "Approved"
        sheet = self.store.insert("timesheet", self._stamped(values, obj))
        for entry in entries:
            entry.update(timesheetkey=sheet, employeeid=values["employeeid"], billable="true")
            self.store.insert("timesheetentry", self._stamped(entry, entry_obj))
        return sheet

    def _invoice(self, obj: Obj, node: Element) -> int:
        values = self._values(obj, node)
        self._require(values, "CUSTOMERID", "WHENCREATED", "WHENDUE", "CURRENCY", obj="ARINVOICE")
        values["customerkey"] = self._key_of("customer", "customerid", values["customerid"], "customer")
        if values.get("projectid"):
            values["projectkey"] = self._key_of("project", "projectid", values["projectid"], "project")
        item_obj = OBJECTS["ARINVOICEITEM"]
        items = [self._values(item_obj, i) for i in node.iterfind("ARINVOICEITEMS/arinvoiceitem")]
        if not items:
            raise GatewayError(INVALID, "an ARINVOICE needs ARINVOICEITEMS")
        total = sum((Decimal(str(i.get("amount") or 0)) for i in items), Decimal(0))
        values = self._stamped(values, obj)
        values.update(recordid=f"IN{values['recordno']}", auwhencreated=values["whenmodified"],
                      totalentered=float(total), totalpaid=0.0, totaldue=float(total),
                      state=invoice_state(total, Decimal(0)))  # fmt: skip
        record_no = self.store.insert("arinvoice", values)
        for n, item in enumerate(items, start=1):
            item.update(recordno=record_no * 100 + n, recordkey=record_no, line_no=n)
            self.store.insert("arinvoiceitem", item)
        self._customer_due(values["customerkey"])
        return record_no

    def _customer_due(self, customer_key: int) -> None:
        due = self.store.scalar(
            "SELECT COALESCE(SUM(totaldue), 0) FROM arinvoice WHERE customerkey = ?", [customer_key]
        )
        self.store.update(
            "customer", "recordno", customer_key, {"totaldue": float(due), "whenmodified": stamp(utc_now())}
        )

    def update(self, call: Element) -> Element:
        if len(call) != 1:
            raise GatewayError(INVALID, "update takes one object")
        node = call[0]
        obj = _obj(node.tag)
        if not obj.writable:
            raise GatewayError(INVALID, f"update of {obj.name} is not supported")
        key = (node.findtext("RECORDNO") or "").strip()
        values = self._values(obj, node, obj.writable | {"RECORDNO"})
        values.pop("recordno", None)
        if not key.isdigit() or not self.store.scalar(
            f"SELECT 1 FROM {obj.table} WHERE recordno = ?", [int(key)]
        ):
            raise GatewayError(NOT_FOUND, f"no {obj.name} with RECORDNO {key!r}")
        if "projectid" in values and obj.name == "TIMESHEETENTRY":
            values["projectkey"] = self._key_of("project", "projectid", values["projectid"], "project")
        values["whenmodified"] = stamp(utc_now())
        self.store.update(obj.table, "recordno", int(key), values)
        self.writes[f"update {obj.name}"] += 1
        return data("objects", [{"RECORDNO": key}], obj.name)

    def delete(self, call: Element) -> Element:
        obj = _obj(call.findtext("object"))
        if obj.name not in ("ARINVOICE", "TIMESHEETENTRY"):
            raise GatewayError(INVALID, f"delete of {obj.name} is not supported")
        keys = [k.strip() for k in (call.findtext("keys") or "").split(",") if k.strip()]
        for key in keys:
            row = (
                self.store.row(f"SELECT * FROM {obj.table} WHERE recordno = ?", [int(key)])
                if key.isdigit()
                else None
            )
            if row is None:
                raise GatewayError(NOT_FOUND, f"no {obj.name} with RECORDNO {key!r}")
            self.store.execute(f"DELETE FROM {obj.table} WHERE recordno = ?", [int(key)])
            if obj.name == "ARINVOICE":
                self.store.execute("DELETE FROM arinvoiceitem WHERE recordkey = ?", [int(key)])
                self._customer_due(row["customerkey"])
            self.writes[f"delete {obj.name}"] += 1
        return data("objects", [{"RECORDNO": k} for k in keys], obj.name)

    # -- UI events -----------------------------------------------------------------------------

    def pay_invoice(self, record_no: int, when: datetime | None = None) -> None:
        row = self.store.row("SELECT * FROM arinvoice WHERE recordno = ?", [record_no])
        if row is None:
            raise ValueError(f"no ARINVOICE {record_no}")
        self.store.update(
            "arinvoice", "recordno", record_no,
            {"totalpaid": row["totalentered"], "totaldue": 0.0, "state": "Paid",
             "whenmodified": stamp(when or utc_now())},
        )  # fmt: skip
        self._customer_due(row["customerkey"])
