"""Things done in Kantata's own UI (`POST /_sim/events`): edit a workspace or a participation, approve
time. Each stamps `updated_at` with the wall clock, as Kantata would."""

from __future__ import annotations

from typing import Any

from simulators.kantata.sim_state import ts
from simulators.simkit.store import Store, utc_now

EDITABLE = {
    "workspaces": {"title", "description", "archived", "due_date", "price_in_cents", "default_rate"},
    "participations": {"active", "rate_in_cents", "estimated_minutes"},
}


def apply(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    kind = body.get("type")
    if kind == "update_workspace":
        return {"type": kind, "id": _update(store, "workspaces", body)}
    if kind == "update_participation":
        return {"type": kind, "id": _update(store, "participations", body)}
    if kind == "approve_time_entries":
        ids = body.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, int | str) for i in ids):
            raise ValueError("approve_time_entries needs 'ids': a list of time entry ids")
        marks = ", ".join("?" for _ in ids)
        cur = store.execute(
            f"UPDATE time_entries SET approved = 1, updated_at = ? WHERE approved = 0 AND id IN ({marks})",
            [ts(utc_now()), *[int(i) for i in ids]],
        )
        return {"type": kind, "approved": cur.rowcount}
    raise ValueError(
        f"unknown event type {kind!r}; use update_workspace, update_participation, approve_time_entries"
    )


def _update(store: Store, table: str, body: dict[str, Any]) -> str:
    record_id, fields = body.get("id"), body.get("fields")
    if not isinstance(fields, dict) or not fields or not set(fields) <= EDITABLE[table]:
        raise ValueError(f"'fields' must be an object of {sorted(EDITABLE[table])}")
    if store.row(f"SELECT id FROM {table} WHERE id = ?", [record_id]) is None:
        raise ValueError(f"no {table[:-1]} {record_id!r}")
    values = {k: int(v) if isinstance(v, bool) else v for k, v in fields.items()}
    store.update(table, "id", record_id, {**values, "updated_at": ts(utc_now())})
    return str(record_id)
