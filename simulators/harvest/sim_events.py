"""Things people do in Harvest's own UI, posted to `/_sim/events` (they are not API calls).

- `approve_time_entries`: a manager approves entries, by `ids`, or by `project_id` up to `to` (and
  from `from`).
- `update_project`: someone edits a project; `fields` as in `PATCH /v2/projects/{id}`.
- `update_user_assignment`: someone edits a user assignment: `is_active`, `hourly_rate`, `budget`.

Each stamps the `updated_at` of what it changed, as Harvest does, so `updated_since` polling sees it.
A bad event raises `ValueError` (the admin route answers 400).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from simulators.harvest import sim_writes
from simulators.harvest.sim_paging import HarvestReject
from simulators.simkit.store import Store

EVENT_TYPES = ("approve_time_entries", "update_project", "update_user_assignment")


def apply(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    kind = body.get("type")
    try:
        if kind == "approve_time_entries":
            return {"type": kind, "approved": approve_time_entries(store, body)}
        if kind == "update_project":
            return {"type": kind, "updated": update_project(store, body)}
        if kind == "update_user_assignment":
            return {"type": kind, "updated": update_user_assignment(store, body)}
    except HarvestReject as reject:
        raise ValueError(str(reject.body.get("message", reject.body))) from None
    raise ValueError(f"unknown event type {kind!r}; known: {', '.join(EVENT_TYPES)}")


def approve_time_entries(store: Store, body: dict[str, Any]) -> int:
    where, params = ["is_closed = 0"], list[Any]()
    if "ids" in body:
        if not isinstance(body["ids"], list) or not all(isinstance(i, int) for i in body["ids"]):
            raise ValueError("`ids` must be a list of time entry ids")
        where.append(f"id IN ({', '.join('?' for _ in body['ids'])})" if body["ids"] else "0")
        params += body["ids"]
    elif isinstance(body.get("project_id"), int):
        where.append("project_id = ?")
        params.append(body["project_id"])
        for key, op in (("from", ">="), ("to", "<=")):
            if body.get(key) is not None:
                where.append(f"spent_date {op} ?")
                params.append(date.fromisoformat(str(body[key])).isoformat())
    else:
        raise ValueError("approve_time_entries needs `ids` or an integer `project_id`")
    cur = store.execute(
        f"UPDATE time_entries SET is_closed = 1, updated_at = ? WHERE {' AND '.join(where)}",
        [sim_writes.now(), *params],
    )
    return cur.rowcount


def _target(store: Store, table: str, body: dict[str, Any]) -> int:
    row_id = body.get("id")
    if type(row_id) is not int:
        raise ValueError(f"`id` must be the integer id of a row of {table}")
    if store.row(f"SELECT id FROM {table} WHERE id = ?", [row_id]) is None:
        raise ValueError(f"no {table} row {row_id}")
    return row_id


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    fields = body.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ValueError("`fields` must be a JSON object of the fields to change")
    return fields


def update_project(store: Store, body: dict[str, Any]) -> int:
    project_id = _target(store, "projects", body)
    values = sim_writes.project_values(store, _fields(body))
    return store.update("projects", "id", project_id, {**values, "updated_at": sim_writes.now()})


_ASSIGNMENT_FIELDS = frozenset({"is_active", "hourly_rate", "budget"})


def update_user_assignment(store: Store, body: dict[str, Any]) -> int:
    assignment_id = _target(store, "user_assignments", body)
    fields = _fields(body)
    unknown = set(fields) - _ASSIGNMENT_FIELDS
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))} of a user assignment")
    values: dict[str, Any] = {}
    if "is_active" in fields:
        values["is_active"] = sim_writes.bool_field(fields, "is_active")
        if values["is_active"] is None:
            raise ValueError("is_active must be true or false")
    for name in ("hourly_rate", "budget"):
        if name in fields:
            values[name] = sim_writes.num_field(fields, name)
    return store.update("user_assignments", "id", assignment_id, {**values, "updated_at": sim_writes.now()})
