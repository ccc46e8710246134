"""A simulator's mutable state: one in-memory SQLite database per simulator.

SQLite gives the simulators indexes, ordering and paging for free, so a page of
2000 rows or a batch of 200 ids costs a few milliseconds even at the `large` profile.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]
Params = Sequence[Any] | Mapping[str, Any]

INT64 = range(-(2**63), 2**63)


def bindable(params: Params) -> Params:
    """Parameters SQLite can bind. An int beyond 64 bits (an absurd id from a client) cannot be an
    INTEGER; bound as text it matches no row, so the vendor's answer follows: a 404 or an empty list,
    never an `OverflowError` 500."""

    def fix(value: Any) -> Any:
        return str(value) if isinstance(value, int) and value not in INT64 else value

    if isinstance(params, Mapping):
        return {k: fix(v) for k, v in params.items()}
    return [fix(v) for v in params]


class Store:
    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.executescript(self.schema)
        return db

    def wipe(self) -> None:
        """Drop all data and recreate the schema."""
        self.db.close()
        self.db = self._open()

    def rows(self, sql: str, params: Params = ()) -> list[Row]:
        return [dict(r) for r in self.execute(sql, params)]

    def row(self, sql: str, params: Params = ()) -> Row | None:
        r = self.execute(sql, params).fetchone()
        return dict(r) if r is not None else None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        r = self.execute(sql, params).fetchone()
        return r[0] if r is not None else None

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, bindable(params))

    def insert(self, table: str, row: Mapping[str, Any]) -> int:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cur = self.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(row.values()))
        return int(cur.lastrowid or 0)

    def insert_many(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        it = iter(rows)
        first = next(it, None)
        if first is None:
            return
        cols = list(first)
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
        self.db.execute("BEGIN")
        self.db.executemany(sql, ([r[c] for c in cols] for r in [first, *it]))
        self.db.execute("COMMIT")

    def update(self, table: str, key: str, key_value: Any, values: Mapping[str, Any]) -> int:
        sets = ", ".join(f"{c} = ?" for c in values)
        cur = self.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?", [*values.values(), key_value])
        return cur.rowcount


def utc_now() -> datetime:
    return datetime.now(UTC)
