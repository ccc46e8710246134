"""Harvest writes of the PSA port used by submitTimeEntries: creating a person's entries, and
withdrawing them again (its compensation).

`HarvestTimeWrites` is a mixin of `HarvestClient`. Harvest has neither idempotency keys nor a bulk
endpoint for time entries, so a batch is one `POST /v2/time_entries` per entry, each carrying an
`external_reference` whose id derives from the caller's idempotency key and the entry's place in the
batch (`<key>#<n>`), and whose `group_id` is the correlation id. Before it writes, the batch reads
the person's entries over its dates once and skips those whose reference is there already: a
repeat (a step resumed after a crash) answers the entries the first attempt made. Harvest's
refusals (422 `{"message"}`) are `SourceRejected`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opsgraph.connectors.errors import SourceDataError, SourceRejected
from opsgraph.connectors.harvest.host import HarvestHost
from opsgraph.connectors.harvest.mapping import harvest_id, time_entry_from_record, time_entry_to_payload
from opsgraph.connectors.harvest.resources import TASK_ASSIGNMENTS, TIME_ENTRIES
from opsgraph.context import current_correlation_id
from opsgraph.model import TimeEntry
from opsgraph.roles.drafts import TimeEntryDraft


def reference_id(idempotency_key: str, n: int) -> str:
    """The external reference of the batch's `n`th entry."""
    return f"{idempotency_key}#{n}"


def _vendor_id(host: HarvestHost, value: str, what: str) -> int:
    found = harvest_id(value)
    if found is None:
        raise SourceRejected(host.system, f"not a Harvest {what} id: {value!r}")
    return found


async def _entries_of(host: HarvestHost, drafts: Sequence[TimeEntryDraft]) -> list[dict[str, Any]]:
    """The raw entries of the drafts' people over the drafts' dates (one listing per person)."""
    out: list[dict[str, Any]] = []
    for user in sorted({d.user_id for d in drafts}):
        dates = [d.date for d in drafts if d.user_id == user]
        params = {
            "user_id": str(_vendor_id(host, user, "user")),
            "from": min(dates).isoformat(),
            "to": max(dates).isoformat(),
        }
        out += await host.collect(TIME_ENTRIES, params)
    return out


def _reference(record: Mapping[str, Any]) -> str | None:
    ref = record.get("external_reference")
    value = ref.get("id") if isinstance(ref, Mapping) else None
    return None if value is None else str(value)


async def _task_id(host: HarvestHost, project_id: int, task: str | None, cache: dict[int, list[Any]]) -> int:
    """The project's active task named `task` (case-insensitive), else its first active billable one."""
    if project_id not in cache:
        path = TASK_ASSIGNMENTS.path.format(project_id=project_id)
        cache[project_id] = [a for a in await host.collect(TASK_ASSIGNMENTS, path=path) if a.get("is_active")]
    active = cache[project_id]
    if task is not None:
        for a in active:
            if str(a["task"]["name"]).casefold() == task.casefold():
                return int(a["task"]["id"])
        raise SourceRejected(host.system, f"project {project_id} has no active task {task!r}")
    billable = [a for a in active if a.get("billable")] or active
    if not billable:
        raise SourceRejected(host.system, f"project {project_id} has no active task")
    return int(min(billable, key=lambda a: int(a["id"]))["task"]["id"])


class HarvestTimeWrites:
    async def engagement_tasks(self: HarvestHost, engagement_id: str) -> list[str]:
        """The names of the project's active tasks (what an entry's `task` may name)."""
        path = TASK_ASSIGNMENTS.path.format(project_id=_vendor_id(self, engagement_id, "project"))
        return [
            str(a["task"]["name"])
            for a in await self.collect(TASK_ASSIGNMENTS, path=path)
            if a.get("is_active")
        ]

    async def submit_time_entries(
        self: HarvestHost, entries: Sequence[TimeEntryDraft], *, idempotency_key: str
    ) -> list[TimeEntry]:
        """Create the entries in order, each referenced `<key>#<n>`; those made before are answered."""
        existing = {_reference(r): r for r in await _entries_of(self, entries)}
        tasks: dict[int, list[Any]] = {}
        made: list[TimeEntry] = []
        for n, draft in enumerate(entries):
            ref = reference_id(idempotency_key, n)
            record = existing.get(ref)
            if record is None:
                project_id = _vendor_id(self, draft.engagement_id, "project")
                payload = time_entry_to_payload(
                    project_id=project_id,
                    task_id=await _task_id(self, project_id, draft.task, tasks),
                    spent_date=draft.date,
                    hours=draft.hours,
                    notes=draft.notes,
                    user_id=_vendor_id(self, draft.user_id, "user"),
                    external_reference={"id": ref, "group_id": current_correlation_id()},
                )
                response = await self.request("POST", TIME_ENTRIES.path, json=payload, retry=False, ok=(201,))
                record = response.body
                if not isinstance(record, Mapping):
                    raise SourceDataError(self.system, "the new time entry is no object")
            made.append(time_entry_from_record(dict(record), self.system))
        return made

    async def withdraw_time_entries(
        self: HarvestHost, entries: Sequence[TimeEntryDraft], *, idempotency_key: str
    ) -> list[str]:
        """Delete the entries `submit_time_entries(entries, idempotency_key=...)` made (those it made
        before failing part way included); answers their ids. Safe to repeat."""
        refs = {reference_id(idempotency_key, n) for n in range(len(entries))}
        gone: list[str] = []
        for record in await _entries_of(self, entries):
            if _reference(record) not in refs:
                continue
            try:
                await self.request("DELETE", f"{TIME_ENTRIES.path}/{record['id']}", retry=True)
            except SourceRejected as exc:
                if exc.status != 404:
                    raise
            gone.append(str(record["id"]))
        return gone
