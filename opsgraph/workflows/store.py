"""Our one table beside DBOS's own (same database): what DBOS does not keep.

DBOS keeps each workflow's inputs, checkpoints, queue state and result. This table adds the
mutation's view of it: kind, caller, idempotency key and input fingerprint (the CONFLICT check),
correlation id, our status values (COMPENSATED, PARKED, RESOLVED are not DBOS's), step summaries,
the failing step and the operator's note. Rows are written only by the engine and the workflow
itself; every write sets absolute values, so a workflow replayed by DBOS rewrites the same row.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from opsgraph.workflows.records import StepRecord, WorkflowRecord, WorkflowStatus

log = logging.getLogger("opsgraph.workflows")

METADATA = sa.MetaData()

WORKFLOWS = sa.Table(
    "opsgraph_workflows",
    METADATA,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("caller", sa.String(200), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("correlation_id", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("input", sa.Text, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("steps", sa.Text, nullable=False, default="[]"),
    sa.Column("error", sa.Text),
    sa.Column("failing_step", sa.String(200)),
    sa.Column("note", sa.Text),
    sa.Column("result", sa.Text),
    sa.Index("opsgraph_workflows_status_kind", "status", "kind", "started_at"),
)

_JSON_COLUMNS = ("input", "steps", "result")


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _record(row: sa.Row[Any]) -> WorkflowRecord:
    data = dict(row._mapping)
    data["input"] = json.loads(data["input"])
    data["steps"] = tuple(StepRecord.model_validate(s) for s in json.loads(data["steps"]))
    data["result"] = None if data["result"] is None else json.loads(data["result"])
    data["started_at"] = _aware(data["started_at"])
    data["finished_at"] = _aware(data["finished_at"])
    return WorkflowRecord.model_validate(data)


def _row(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for column in _JSON_COLUMNS:
        if column in out and out[column] is not None:
            value = out[column]
            if column == "steps":
                value = [s.model_dump(mode="json") for s in value]
            out[column] = json.dumps(value, sort_keys=True, default=str)
    if "status" in out:
        out["status"] = str(out["status"])
    return out


def _write_ahead_log(engine: sa.Engine) -> None:
    """SQLite in WAL mode: readers (status reads, DBOS's polls) no longer block the one writer, nor it
    them, so concurrent workflows wait less on each other's locks. The mode is the file's: set before
    DBOS opens it, its connections use it too. A file SQLite cannot switch (another process holds it
    open in the old mode, or it is on a file system without shared memory) stays as it is."""
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode=WAL").scalar()
    if str(mode).lower() != "wal":
        log.warning("the workflow store %s stays in journal mode %s (not WAL)", engine.url.database, mode)


class WorkflowStore:
    """Blocking SQLAlchemy calls, each run in a worker thread by the async methods."""

    def __init__(self, url: str) -> None:
        parsed = sa.make_url(url)
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        elif parsed.get_backend_name() == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # the driver DBOS uses (psycopg 3)
        self.engine = sa.create_engine(parsed, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            _write_ahead_log(self.engine)
        METADATA.create_all(self.engine)
        self.listeners: list[Callable[[str, WorkflowStatus], None]] = []
        """Called (on the event loop) after each write that sets a workflow's status."""

    def _notify(self, workflow_id: str, status: WorkflowStatus) -> None:
        for listener in self.listeners:
            listener(workflow_id, WorkflowStatus(status))

    def close(self) -> None:
        self.engine.dispose()

    # -- blocking ----------------------------------------------------------------------------------

    def _insert(self, record: WorkflowRecord) -> tuple[WorkflowRecord, bool]:
        try:
            with self.engine.begin() as conn:
                conn.execute(WORKFLOWS.insert().values(**_row(record.model_dump())))
            return record, True
        except sa.exc.IntegrityError:
            existing = self._get(record.id)
            assert existing is not None, "an insert clashed with a row that is not there"
            return existing, False

    def _get(self, workflow_id: str) -> WorkflowRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(WORKFLOWS).where(WORKFLOWS.c.id == workflow_id)).first()
        return None if row is None else _record(row)

    def _update(self, workflow_id: str, fields: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(WORKFLOWS.update().where(WORKFLOWS.c.id == workflow_id).values(**_row(fields)))

    def _list(
        self, statuses: Sequence[WorkflowStatus] | None, kind: str | None, limit: int, after: str | None
    ) -> list[WorkflowRecord]:
        query = sa.select(WORKFLOWS).order_by(WORKFLOWS.c.started_at, WORKFLOWS.c.id).limit(limit)
        if statuses:
            query = query.where(WORKFLOWS.c.status.in_([str(s) for s in statuses]))
        if kind is not None:
            query = query.where(WORKFLOWS.c.kind == kind)
        if after is not None:
            anchor = sa.select(WORKFLOWS.c.started_at).where(WORKFLOWS.c.id == after).scalar_subquery()
            query = query.where(
                sa.or_(
                    WORKFLOWS.c.started_at > anchor,
                    sa.and_(WORKFLOWS.c.started_at == anchor, WORKFLOWS.c.id > after),
                )
            )
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def _count(self, statuses: Sequence[WorkflowStatus] | None, kind: str | None) -> int:
        query = sa.select(sa.func.count()).select_from(WORKFLOWS)
        if statuses:
            query = query.where(WORKFLOWS.c.status.in_([str(s) for s in statuses]))
        if kind is not None:
            query = query.where(WORKFLOWS.c.kind == kind)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- async -------------------------------------------------------------------------------------

    async def insert(self, record: WorkflowRecord) -> tuple[WorkflowRecord, bool]:
        """Insert the record; (the row already there, False) when its id exists."""
        stored, inserted = await asyncio.to_thread(self._insert, record)
        if inserted:
            self._notify(record.id, record.status)
        return stored, inserted

    async def get(self, workflow_id: str) -> WorkflowRecord | None:
        return await asyncio.to_thread(self._get, workflow_id)

    async def update(self, workflow_id: str, **fields: Any) -> None:
        await asyncio.to_thread(self._update, workflow_id, fields)
        if "status" in fields:
            self._notify(workflow_id, fields["status"])

    async def list(
        self,
        statuses: Sequence[WorkflowStatus] | None = None,
        kind: str | None = None,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> list[WorkflowRecord]:
        """Workflows oldest first, filtered; `after` is the id of the last one of the previous page."""
        return await asyncio.to_thread(self._list, statuses, kind, limit, after)

    async def count(self, statuses: Sequence[WorkflowStatus] | None = None, kind: str | None = None) -> int:
        return await asyncio.to_thread(self._count, statuses, kind)
