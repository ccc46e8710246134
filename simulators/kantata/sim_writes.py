"""Kantata writes: the plural key holds an array of up to 100 records (`{"time_entries": [...]}`); an
update is `PUT /<type>/<id>.json {"<type singular>": {...}}`. The answer is the written records in
Kantata's shape. A refused item is a 422 `{"errors": [{"type": "validation", "message", "field"}]}` and
nothing of the batch is written.

Simulator choices (the public facts are thin): a time entry or a workspace may carry
`external_reference` (`{"service_name", "service_model_ref"}`, listed back with the
`external_reference` filter, a comma list of refs); an invoice is made from `time_entry_ids`, which
marks them invoiced (an entry already invoiced is refused); custom field values are set with
`POST /custom_field_values.json`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from simulators.kantata import sim_wire as wire
from simulators.kantata.sim_state import ts
from simulators.kantata.sim_wire import CUSTOM_FIELDS, KantataReject
from simulators.simkit.store import Row, Store, utc_now

MAX_BATCH = 100
Obj = dict[str, Any]


def _invalid(message: str, field: str | None = None) -> KantataReject:
    return KantataReject(422, message, "validation", field)


async def _batch(request: Request, key: str) -> list[Obj]:
    try:
        body = await request.json()
    except ValueError:
        raise KantataReject(400, "The request body is not JSON") from None
    items = body.get(key) if isinstance(body, dict) else None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise _invalid(f"{key} must be an array of objects", key)
    if len(items) > MAX_BATCH:
        raise _invalid(f"at most {MAX_BATCH} {key} per request, got {len(items)}", key)
    return items


async def _one(request: Request, key: str) -> Obj:
    try:
        body = await request.json()
    except ValueError:
        raise KantataReject(400, "The request body is not JSON") from None
    item = body.get(key) if isinstance(body, dict) else None
    if not isinstance(item, dict):
        raise _invalid(f"the body needs a {key!r} object", key)
    return item


def _answer(store: Store, key: str, ids: list[int], render: Callable[[Row], Obj]) -> Response:
    rows = [store.row(f"SELECT * FROM {key} WHERE id = ?", [i]) for i in ids]
    objs = {str(r["id"]): render(r) for r in rows if r is not None}
    return JSONResponse(
        {"count": len(objs), "results": [{"key": key, "id": i} for i in objs], key: objs, "meta": {}}
    )


def _int(item: Mapping[str, Any], field: str, *, required: bool = True) -> int | None:
    value = item.get(field)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise _invalid(f"{field} must be an id or a whole number", field)
    return int(value)


def _day(item: Mapping[str, Any], field: str, *, required: bool = True) -> str | None:
    value = item.get(field)
    if value is None and not required:
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise _invalid(f"{field} must be a date (YYYY-MM-DD)", field) from None


def _row(store: Store, table: str, record_id: int | None, field: str) -> Row:
    row = None if record_id is None else store.row(f"SELECT * FROM {table} WHERE id = ?", [record_id])
    if row is None:
        raise _invalid(f"{field} {record_id} does not exist", field)
    return row


def _reference(item: Mapping[str, Any]) -> str | None:
    """The `service_model_ref` of an item's `external_reference`, if it carries one."""
    ref = item.get("external_reference")
    text = ref.get("service_model_ref") if isinstance(ref, dict) else None
    return text if isinstance(text, str) else None


def _next_id(store: Store, table: str) -> int:
    return int(store.scalar(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"))


# -- time entries ---------------------------------------------------------------------------------


async def create_time_entries(store: Store, request: Request) -> Response:
    items = await _batch(request, "time_entries")
    me = int(store.scalar("SELECT MIN(id) FROM users"))
    rows: list[Row] = []
    for item in items:
        workspace = _row(store, "workspaces", _int(item, "workspace_id"), "workspace_id")
        user_id = _int(item, "user_id", required=False) or me
        person = _row(store, "users", user_id, "user_id")
        minutes = _int(item, "time_in_minutes")
        if not minutes or minutes > 24 * 60:
            raise _invalid("time_in_minutes must be between 1 and 1440", "time_in_minutes")
        story_id = _int(item, "story_id", required=False)
        if (
            story_id is not None
            and _row(store, "stories", story_id, "story_id")["workspace_id"] != workspace["id"]
        ):
            raise _invalid("story_id is not a story of the workspace", "story_id")
        part = store.row(
            "SELECT rate_in_cents FROM participations WHERE workspace_id = ? AND user_id = ?",
            [workspace["id"], person["id"]],
        )
        if part is None:
            raise _invalid("the user is not a participant of the workspace", "user_id")
        now = ts(utc_now())
        rows.append(
            {
                "workspace_id": workspace["id"],
                "user_id": person["id"],
                "story_id": story_id,
                "date_performed": _day(item, "date_performed"),
                "time_in_minutes": minutes,
                "billable": int(item.get("billable", True) is not False),
                "notes": item.get("notes") if isinstance(item.get("notes"), str) else None,
                "rate_in_cents": part["rate_in_cents"],
                "cost_rate_in_cents": person["cost_rate_in_cents"],
                "currency": workspace["currency"],
                "approved": 0,
                "is_invoiced": 0,
                "invoice_id": None,
                "external_ref": _reference(item),
                "created_at": now,
                "updated_at": now,
            }
        )
    first = _next_id(store, "time_entries")
    ids = list(range(first, first + len(rows)))
    store.insert_many("time_entries", ({"id": i, **row} for i, row in zip(ids, rows, strict=True)))
    return _answer(store, "time_entries", ids, wire.time_entry)


async def delete_time_entry(store: Store, request: Request) -> Response:
    """Delete an entry; an invoiced one is refused (it is on an invoice)."""
    entry = store.row("SELECT * FROM time_entries WHERE id = ?", [int(request.path_params["id"])])
    if entry is None:
        raise KantataReject(
            404, f"No time_entries record with id {request.path_params['id']} was found", "not_found"
        )
    if entry["is_invoiced"]:
        raise _invalid("an invoiced time entry cannot be deleted", "id")
    store.execute("DELETE FROM time_entries WHERE id = ?", [entry["id"]])
    return Response(status_code=204)


# -- workspaces, custom fields, participations -------------------------------------------------------


async def create_workspaces(store: Store, request: Request) -> Response:
    items = await _batch(request, "workspaces")
    ids = []
    for item in items:
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            raise _invalid("title can't be blank", "title")
        now = ts(utc_now())
        record_id = _next_id(store, "workspaces")
        store.insert(
            "workspaces",
            {
                "id": record_id,
                "title": title,
                "description": item.get("description"),
                "archived": 0,
                "start_date": _day(item, "start_date", required=False),
                "due_date": _day(item, "due_date", required=False),
                "budgeted": int(bool(item.get("budgeted", True))),
                "price_in_cents": _int(item, "price_in_cents", required=False),
                "currency": str(item.get("currency") or "USD"),
                "default_rate": None if item.get("default_rate") is None else str(item["default_rate"]),
                "group_id": None,
                "code": None,
                "billing_model": None,
                "external_ref": _reference(item),
                "created_at": now,
                "updated_at": now,
            },
        )
        ids.append(record_id)
    return _answer(store, "workspaces", ids, lambda r: wire.workspace(r, set()))


async def update_workspace(store: Store, request: Request) -> Response:
    record_id = int(request.path_params["id"])
    _row(store, "workspaces", record_id, "id")
    item = await _one(request, "workspace")
    allowed = {"title", "description", "archived", "due_date", "price_in_cents", "default_rate", "budgeted"}
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise _invalid(f"{unknown[0]} cannot be updated", unknown[0])
    values = {k: int(v) if isinstance(v, bool) else v for k, v in item.items()}
    store.update("workspaces", "id", record_id, {**values, "updated_at": ts(utc_now())})
    return _answer(store, "workspaces", [record_id], lambda r: wire.workspace(r, set()))


async def create_custom_field_values(store: Store, request: Request) -> Response:
    items = await _batch(request, "custom_field_values")
    columns = {field_id: column for field_id, _, column in CUSTOM_FIELDS}
    for item in items:
        if item.get("subject_type") != "Workspace":
            raise _invalid("subject_type must be Workspace", "subject_type")
        column = columns.get(str(item.get("custom_field_id")))
        if column is None:
            raise _invalid("custom_field_id does not exist", "custom_field_id")
        workspace_id = _int(item, "subject_id")
        _row(store, "workspaces", workspace_id, "subject_id")
        store.update(
            "workspaces", "id", workspace_id, {column: str(item.get("value")), "updated_at": ts(utc_now())}
        )
    return JSONResponse({"count": len(items), "results": [], "meta": {}})


async def create_participations(store: Store, request: Request) -> Response:
    items = await _batch(request, "participations")
    ids = []
    for item in items:
        workspace = _row(store, "workspaces", _int(item, "workspace_id"), "workspace_id")
        person = _row(store, "users", _int(item, "user_id"), "user_id")
        if store.row(
            "SELECT id FROM participations WHERE workspace_id = ? AND user_id = ?",
            [workspace["id"], person["id"]],
        ):
            raise _invalid("User is already a participant in this workspace", "user_id")
        now = ts(utc_now())
        record_id = _next_id(store, "participations")
        store.insert(
            "participations",
            {
                "id": record_id,
                "workspace_id": workspace["id"],
                "user_id": person["id"],
                "role": str(item.get("role") or "maven"),
                "active": 1,
                "rate_in_cents": _int(item, "rate_in_cents", required=False),
                "currency": workspace["currency"],
                "estimated_minutes": _int(item, "estimated_minutes", required=False),
                "created_at": now,
                "updated_at": now,
            },
        )
        ids.append(record_id)
    return _answer(store, "participations", ids, wire.participation)


async def update_participation(store: Store, request: Request) -> Response:
    record_id = int(request.path_params["id"])
    _row(store, "participations", record_id, "id")
    item = await _one(request, "participation")
    unknown = sorted(set(item) - {"active", "rate_in_cents", "estimated_minutes"})
    if unknown:
        raise _invalid(f"{unknown[0]} cannot be updated", unknown[0])
    values = {k: int(v) if isinstance(v, bool) else v for k, v in item.items()}
    store.update("participations", "id", record_id, {**values, "updated_at": ts(utc_now())})
    return _answer(store, "participations", [record_id], wire.participation)


# -- invoices ---------------------------------------------------------------------------------------


async def create_invoices(store: Store, request: Request) -> Response:
    items = await _batch(request, "invoices")
    ids = []
    for item in items:
        entry_ids = item.get("time_entry_ids")
        if not isinstance(entry_ids, list) or not entry_ids:
            raise _invalid("time_entry_ids must be a non-empty array", "time_entry_ids")
        entries = [_row(store, "time_entries", _int({"id": i}, "id"), "time_entry_ids") for i in entry_ids]
        if any(e["is_invoiced"] for e in entries):
            raise _invalid("a time entry is already invoiced", "time_entry_ids")
        now = ts(utc_now())
        record_id = _next_id(store, "invoices")
        store.insert(
            "invoices",
            {
                "id": record_id,
                "workspace_id": entries[0]["workspace_id"],
                "invoice_date": _day(item, "invoice_date", required=False) or now[:10],
                "your_reference": item.get("your_reference"),
                "currency": entries[0]["currency"],
                "created_at": now,
                "updated_at": now,
            },
        )
        marks = ", ".join("?" for _ in entries)
        store.execute(
            f"UPDATE time_entries SET is_invoiced = 1, invoice_id = ?, updated_at = ? WHERE id IN ({marks})",
            [record_id, now, *[e["id"] for e in entries]],
        )
        ids.append(record_id)
    return _answer(store, "invoices", ids, wire.invoice)
