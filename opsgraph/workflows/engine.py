"""The workflow engine: DBOS configured from our settings, and what the schema's mutations call.

    engine = WorkflowEngine(WorkflowSettings(), sources, invalidate=cache.invalidate)
    async with engine.running():            # or `lifespan=engine.lifespan` in the Starlette app
        result = await engine.start("postApprovedTime", {...}, idempotency_key="k1", caller="alice")

`start` validates (user errors make no write and record nothing), then starts or joins the workflow
whose id derives from (caller, kind, key): the same key with the same input answers that workflow,
with another input raises `WorkflowConflict`. DBOS is a process-wide singleton: one engine per process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from dbos import DBOS, DBOSConfig, SetWorkflowID
from pydantic import ValidationError

from opsgraph.context import correlation_id as correlation_var
from opsgraph.context import current_correlation_id
from opsgraph.workflows import durable, runtime
from opsgraph.workflows.ids import fingerprint, workflow_id
from opsgraph.workflows.kinds import Systems, kind_named
from opsgraph.workflows.records import (
    FINAL,
    UserError,
    WorkflowConflict,
    WorkflowNotFound,
    WorkflowNotParked,
    WorkflowRecord,
    WorkflowResult,
    WorkflowStatus,
)
from opsgraph.workflows.runtime import Invalidate, Runtime
from opsgraph.workflows.settings import WorkflowSettings
from opsgraph.workflows.store import WorkflowStore, now

log = logging.getLogger("opsgraph.workflows")


def dbos_config(settings: WorkflowSettings) -> DBOSConfig:
    """DBOS's configuration from ours: no config file, no Conductor, no OTLP export. Without an
    executor id DBOS keeps its own default, and a process recovers the workflows of that id."""
    config: DBOSConfig = {
        "name": settings.app_name,
        "system_database_url": settings.url(),
        "notification_listener_polling_interval_sec": settings.poll_interval_s,
        "log_level": "WARNING",
        "enable_otlp": False,
        "application_version": settings.app_version,
    }
    if settings.executor_id is not None:
        config["executor_id"] = settings.executor_id
    return config


def _user_errors(exc: ValidationError) -> list[UserError]:
    return [
        UserError(field=tuple(str(p) for p in err["loc"]), message=err["msg"], code="BAD_USER_INPUT")
        for err in exc.errors()
    ]


class WorkflowEngine:
    def __init__(
        self, settings: WorkflowSettings, systems: Systems, *, invalidate: Invalidate | None = None
    ) -> None:
        self.settings = settings
        self.systems = systems
        self.invalidate = invalidate
        self._runtime: Runtime | None = None
        self.listeners: list[Callable[[str, WorkflowStatus], None]] = []
        """Told each status a workflow moves to (the events publish `workflowChanged`)."""

    # -- lifecycle --------------------------------------------------------------------------------

    async def launch(self) -> None:
        """Open the store and launch DBOS in the running event loop (workflows, recovered ones too,
        run on it, beside the systems' clients). Pending workflows of this process resume now."""
        store = await asyncio.to_thread(WorkflowStore, self.settings.url())
        store.listeners = self.listeners
        self._runtime = Runtime(store, self.systems, self.settings, self.invalidate)
        runtime.bind(self._runtime)
        DBOS(config=dbos_config(self.settings))
        DBOS.launch()

    async def shutdown(self) -> None:
        """Stop DBOS; running workflows stay PENDING in the store and resume at the next launch."""
        DBOS.destroy()
        # DBOS made its (now shut down) thread pool this loop's default executor: give the loop a
        # working one, or every `asyncio.to_thread` (and aiohttp's DNS lookups) fails from here on.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(thread_name_prefix="asyncio"))
        runtime.bind(None)
        if self._runtime is not None:
            self._runtime.store.close()
            self._runtime = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[WorkflowEngine]:
        await self.launch()
        try:
            yield self
        finally:
            await self.shutdown()

    @asynccontextmanager
    async def lifespan(self, app: object) -> AsyncIterator[None]:
        """A Starlette lifespan (or a piece of one)."""
        async with self.running():
            yield

    @property
    def store(self) -> WorkflowStore:
        if self._runtime is None:
            raise RuntimeError("the workflow engine is not launched")
        return self._runtime.store

    # -- the mutations' API -----------------------------------------------------------------------

    async def start(
        self,
        kind: str,
        data: Mapping[str, Any],
        *,
        idempotency_key: str,
        caller: str,
        correlation_id: str | None = None,
        wait: bool = True,
    ) -> WorkflowResult:
        """Validate and run mutation `kind`, or answer the workflow this key started before.

        `correlation_id` (the request's when not given) goes with the validation reads, on the
        workflow record and with every write; a system failing during validation raises its
        `SourceError` and records nothing."""
        token = correlation_var.set(correlation_id or current_correlation_id())
        try:
            return await self._start(kind, data, idempotency_key, caller, correlation_var.get() or "", wait)
        finally:
            correlation_var.reset(token)

    async def _start(
        self,
        kind: str,
        data: Mapping[str, Any],
        idempotency_key: str,
        caller: str,
        correlation: str,
        wait: bool,
    ) -> WorkflowResult:
        k = kind_named(kind)
        try:
            parsed = k.parse(data)
        except ValidationError as exc:
            return WorkflowResult(user_errors=tuple(_user_errors(exc)))
        canonical = parsed.model_dump(mode="json")
        digest = fingerprint(canonical)
        wid = workflow_id(caller, kind, idempotency_key)
        existing = await self.store.get(wid)
        if existing is None:
            errors = await k.validate(self.systems, parsed)
            if errors:
                return WorkflowResult(user_errors=tuple(errors))
            record = WorkflowRecord(
                id=wid,
                kind=kind,
                caller=caller,
                idempotency_key=idempotency_key,
                fingerprint=digest,
                correlation_id=correlation,
                status=WorkflowStatus.PENDING,
                input=canonical,
                started_at=now(),
            )
            existing, _ = await self.store.insert(record)
        if existing.fingerprint != digest:
            raise WorkflowConflict(
                f"idempotency key {idempotency_key!r} was used for {kind} with another input", workflow_id=wid
            )
        # Idempotent: joins the workflow when it runs or ran (also after a crash before this point).
        with SetWorkflowID(wid):
            await DBOS.start_workflow_async(
                durable.run_mutation, wid, kind, existing.input, existing.correlation_id
            )
        return WorkflowResult(workflow=await self._settled(wid, 1) if wait else await self._get(wid))

    async def get(self, workflow_id: str) -> WorkflowRecord | None:
        return await self.store.get(workflow_id)

    async def list(
        self,
        status: Sequence[WorkflowStatus] | None = None,
        kind: str | None = None,
        *,
        first: int = 100,
        after: str | None = None,
    ) -> list[WorkflowRecord]:
        """Workflows oldest first; `status=[PARKED]` is the exception queue."""
        return await self.store.list(status, kind, limit=first, after=after)

    async def count(self, status: Sequence[WorkflowStatus] | None = None, kind: str | None = None) -> int:
        """How many workflows `list` would page through."""
        return await self.store.count(status, kind)

    async def replay(self, workflow_id: str, *, wait: bool = True) -> WorkflowResult:
        """Resume a PARKED workflow from its first undone step (its writes are idempotent)."""
        return await self._operate(workflow_id, {"action": "replay"}, wait)

    async def resolve(self, workflow_id: str, note: str, *, wait: bool = True) -> WorkflowResult:
        """Close a PARKED workflow by hand: whatever it left in the systems stays, the note says why."""
        return await self._operate(workflow_id, {"action": "resolve", "note": note}, wait)

    # -- internals --------------------------------------------------------------------------------

    async def _get(self, workflow_id: str) -> WorkflowRecord:
        record = await self.store.get(workflow_id)
        if record is None:
            raise WorkflowNotFound(f"no workflow {workflow_id!r}", workflow_id=workflow_id)
        return record

    async def _rounds(self, workflow_id: str) -> int:
        events = await DBOS.get_all_events_async(workflow_id)
        return sum(1 for key in events if key.startswith("settled:"))

    async def _settled(self, workflow_id: str, round_no: int) -> WorkflowRecord:
        """The record once round `round_no` has settled, or as it is when `wait_s` runs out."""
        await DBOS.get_event_async(
            workflow_id, durable.settled_key(round_no), timeout_seconds=self.settings.wait_s
        )
        return await self._get(workflow_id)

    async def _operate(self, workflow_id: str, message: dict[str, Any], wait: bool) -> WorkflowResult:
        record = await self._get(workflow_id)
        if record.status is not WorkflowStatus.PARKED:
            what = "closed" if record.status in FINAL else "running"
            raise WorkflowNotParked(
                f"workflow {workflow_id} is {record.status} ({what}), not PARKED", workflow_id=workflow_id
            )
        rounds = await self._rounds(workflow_id)
        await DBOS.send_async(workflow_id, message, durable.OPERATOR_TOPIC)
        if not wait:
            return WorkflowResult(workflow=record)
        return WorkflowResult(workflow=await self._settled(workflow_id, rounds + 1))
