"""SOQL for the simulator: compile with simkit.query, run on SQLite, page with server-side cursors.

A query's result set (its row ids, in order) is kept under a query locator; each batch re-reads its
rows, so `GET /query/<locator>-<offset>` serves any batch of it until the cursor is evicted.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsgraph.connectors.ids import is_digits
from simulators.salesforce.sim_meta import API, SOBJECTS, TABLES, SObject
from simulators.salesforce.sim_state import OrgState, SimError
from simulators.simkit.query import CompiledQuery, QueryCompiler, QueryError
from simulators.simkit.store import Row
from simulators.world import salesforce_id

MAX_BATCH, MIN_BATCH = 2000, 200
MAX_OFFSET = 2000
MAX_CURSORS = 200
_JOIN = re.compile(r'LEFT JOIN "[^"]+" AS (t\d+) ON t\d+\."[^"]+" = t0\."([^"]+)"')
_LOCATOR = re.compile(r"(01g[A-Za-z0-9]{15})-(\d+)")


@dataclass(frozen=True)
class Parent:
    name: str  # relationship name, e.g. Account
    fk: str  # foreign key field, e.g. AccountId
    target: SObject


Step = tuple[Parent | None, str, str, Callable[[Any], Any] | None]  # (parent, field, SQL column, converter)
_CONVERT: dict[str, Callable[[Any], Any]] = {"boolean": bool, "currency": float, "percent": float}


@dataclass
class Cursor:
    sobject: SObject
    select: str  # SELECT ... FROM ... JOIN ... (no WHERE/ORDER): re-reads a batch by rowid
    rowids: list[int]
    batch_size: int
    plan: list[Step]


def batch_size(header: str | None) -> int:
    """`Sforce-Query-Options: batchSize=N` clamped to 200..2000 (Salesforce treats it as a hint)."""
    if header:
        for part in header.split(","):
            key, _, value = part.partition("=")
            if key.strip().lower() == "batchsize" and is_digits(value.strip()):
                return max(MIN_BATCH, min(MAX_BATCH, int(value.strip())))
    return MAX_BATCH


class SoqlEngine:
    def __init__(self, state: OrgState) -> None:
        self.state = state
        self.compiler = QueryCompiler(TABLES, "soql")
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self.counter = 0

    def reset(self) -> None:
        self.cursors.clear()

    def query(self, soql: str, size: int) -> dict[str, Any]:
        try:
            compiled = self.compiler.compile(soql)
        except QueryError as exc:
            raise SimError(400, exc.code, exc.message) from None
        if compiled.offset is not None and compiled.offset > MAX_OFFSET:
            raise SimError(400, "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        sobject = SOBJECTS[compiled.table.name]
        extra, select = self._instrument(compiled)
        sql = f"SELECT t0.rowid AS _rowid, {extra}{compiled.sql[len('SELECT ') :]}"
        params: list[object] = list(compiled.params)
        if compiled.limit is not None or compiled.offset is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [compiled.limit if compiled.limit is not None else -1, compiled.offset or 0]
        rows = self.state.store.rows(sql, params)
        cursor = Cursor(sobject, select, [r["_rowid"] for r in rows], size, _plan(sobject, compiled))
        locator = None
        if len(rows) > size:
            self.counter += 1
            locator = salesforce_id("01g", self.counter)
            self.cursors[locator] = cursor
            while len(self.cursors) > MAX_CURSORS:
                self.cursors.popitem(last=False)
        return self._batch(cursor, locator, 0, rows[:size])

    def more(self, locator_and_offset: str, size: int | None) -> dict[str, Any]:
        m = _LOCATOR.fullmatch(locator_and_offset)
        cursor = self.cursors.get(m.group(1)) if m else None
        if m is None or cursor is None or int(m.group(2)) >= len(cursor.rowids):
            raise SimError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        self.cursors.move_to_end(m.group(1))
        offset = int(m.group(2))
        size = size or cursor.batch_size
        wanted = cursor.rowids[offset : offset + size]
        marks = ", ".join("?" for _ in wanted)
        found = {
            r["_rowid"]: r
            for r in self.state.store.rows(f"{cursor.select} WHERE t0.rowid IN ({marks})", wanted)
        }
        rows = [found[i] for i in wanted if i in found]  # a row deleted since the query is skipped
        return self._batch(cursor, m.group(1), offset, rows)

    def _instrument(self, compiled: CompiledQuery) -> tuple[str, str]:
        """Extra columns (root Id, each joined parent's Id) and the query's SELECT..JOIN head."""
        extra = 't0."Id" AS _id, '
        for alias, fk in _JOIN.findall(compiled.sql):
            extra += f'{alias}."Id" AS "_fk_{fk}", '
        head = re.split(r" WHERE | ORDER BY ", compiled.sql, maxsplit=1)[0]
        return extra, f"SELECT t0.rowid AS _rowid, {extra}{head[len('SELECT ') :]}"

    def _batch(self, cursor: Cursor, locator: str | None, offset: int, rows: list[Row]) -> dict[str, Any]:
        end = offset + len(rows)
        body: dict[str, Any] = {"totalSize": len(cursor.rowids), "done": end >= len(cursor.rowids)}
        if not body["done"]:
            body["nextRecordsUrl"] = f"{API}/query/{locator}-{end}"
        body["records"] = [self._record(cursor, row) for row in rows]
        return body

    def _record(self, cursor: Cursor, row: Row) -> dict[str, Any]:
        s = cursor.sobject
        out: dict[str, Any] = {"attributes": {"type": s.name, "url": s.url(row["_id"])}}
        for rel, name, column, convert in cursor.plan:
            value = row[column]
            if value is not None and convert is not None:
                value = convert(value)
            if rel is None:
                out[name] = value
                continue
            parent_id = row[f"_fk_{rel.fk}"]
            if parent_id is None:
                out[rel.name] = None
                continue
            nested = out.get(rel.name)
            if nested is None:
                nested = out[rel.name] = {
                    "attributes": {"type": rel.target.name, "url": rel.target.url(parent_id)}
                }
            nested[name] = value
        return out


def _plan(s: SObject, compiled: CompiledQuery) -> list[Step]:
    """How to turn each selected column into JSON, worked out once per query rather than per row."""
    plan: list[Step] = []
    for sel in compiled.selected:
        rel: Parent | None = None
        target = s
        if len(sel.path) == 2:
            target_name, fk = s.relationships[sel.path[0]]
            target = SOBJECTS[target_name]
            rel = Parent(sel.path[0], fk, target)
        f = target.field(sel.path[-1])
        assert f is not None
        plan.append((rel, f.name, sel.column, _CONVERT.get(f.kind)))
    return plan
