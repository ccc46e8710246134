"""Kantata's response shape over the simulator's rows: `results` in order, objects keyed by id per type,
included associations under their own keys, and `meta` with the page count.

`{"count": 2, "results": [{"key": "workspaces", "id": "10"}, ...], "workspaces": {"10": {...}},
"custom_field_values": {...}, "meta": {"count": 2, "page_count": 1, "page_number": 1, "page_size": 20}}`.
Ids are strings on the wire; money is integer cents with the currency beside it; time is minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from simulators.simkit.routing import Refused
from simulators.simkit.store import Row, Store

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200  # the page size the public tap uses; larger asks are cut to it
CUSTOM_FIELDS = (("101", "Engagement Code", "code"), ("102", "Billing Model", "billing_model"))
"""The workspace custom fields: (custom field id, name, the workspaces column holding its value)."""

Obj = dict[str, Any]


class KantataReject(Refused):
    """A request Kantata refuses: its status and its `errors` body."""

    def __init__(self, status: int, message: str, kind: str = "system", field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.field = status, message, kind, field

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, self.kind, self.field)


def error_response(status: int, message: str, kind: str = "system", field: str | None = None) -> JSONResponse:
    item: Obj = {"type": kind, "message": message}
    if field is not None:
        item["field"] = field
    return JSONResponse({"errors": [item]}, status_code=status)


def sid(value: Any) -> str | None:
    return None if value is None else str(value)


def flag(value: Any) -> bool:
    return bool(value)


# -- objects -----------------------------------------------------------------------------------------


def workspace(row: Row, includes: set[str]) -> Obj:
    obj: Obj = {
        "id": str(row["id"]),
        "title": row["title"],
        "description": row["description"],
        "archived": flag(row["archived"]),
        "start_date": row["start_date"],
        "due_date": row["due_date"],
        "budgeted": flag(row["budgeted"]),
        "price_in_cents": row["price_in_cents"],
        "price": None if row["price_in_cents"] is None else f"{row['price_in_cents'] / 100:.2f}",
        "currency": row["currency"],
        "currency_base_unit": 100,
        "default_rate": row["default_rate"],
        "stories_are_fixed_fee_by_default": row["billing_model"] == "Fixed Fee",
        "external_reference": external_reference(row),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    if "custom_field_values" in includes:
        obj["custom_field_value_ids"] = [cfv["id"] for cfv in custom_field_values(row)]
    if "workspace_groups" in includes:
        obj["workspace_group_ids"] = [] if row["group_id"] is None else [str(row["group_id"])]
    return obj


def external_reference(row: Row) -> Obj | None:
    ref = row["external_ref"]
    return None if ref is None else {"service_name": "opsgraph", "service_model_ref": ref}


def custom_field_values(row: Row) -> list[Obj]:
    return [
        {
            "id": f"{row['id']}{field_id[-1]}",
            "subject_type": "Workspace",
            "subject_id": str(row["id"]),
            "custom_field_id": field_id,
            "custom_field_name": name,
            "type": "string",
            "value": row[column],
        }
        for field_id, name, column in CUSTOM_FIELDS
        if row[column] is not None
    ]


def workspace_group(row: Row) -> Obj:
    return {"id": str(row["id"]), "name": row["name"], "company": flag(row["company"])}


def user(row: Row) -> Obj:
    return {
        "id": str(row["id"]),
        "full_name": row["full_name"],
        "email_address": row["email_address"],
        "headline": row["headline"],
        "disabled": flag(row["disabled"]),
        "weekly_capacity_in_minutes": row["weekly_capacity_in_minutes"],
        "bill_rate_in_cents": row["bill_rate_in_cents"],
        "cost_rate_in_cents": row["cost_rate_in_cents"],
        "currency": row["currency"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def story(row: Row) -> Obj:
    return {
        "id": str(row["id"]),
        "workspace_id": str(row["workspace_id"]),
        "title": row["title"],
        "story_type": row["story_type"],
        "billable": flag(row["billable"]),
    }


def participation(row: Row) -> Obj:
    return {
        "id": str(row["id"]),
        "workspace_id": str(row["workspace_id"]),
        "user_id": str(row["user_id"]),
        "role": row["role"],
        "active": flag(row["active"]),
        "rate_in_cents": row["rate_in_cents"],
        "currency": row["currency"],
        "currency_base_unit": 100,
        "estimated_minutes": row["estimated_minutes"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def time_entry(row: Row) -> Obj:
    return {
        "id": str(row["id"]),
        "workspace_id": str(row["workspace_id"]),
        "user_id": str(row["user_id"]),
        "story_id": sid(row["story_id"]),
        "date_performed": row["date_performed"],
        "time_in_minutes": row["time_in_minutes"],
        "billable": flag(row["billable"]),
        "notes": row["notes"],
        "rate_in_cents": row["rate_in_cents"],
        "cost_rate_in_cents": row["cost_rate_in_cents"],
        "currency": row["currency"],
        "currency_base_unit": 100,
        "approved": flag(row["approved"]),
        "is_invoiced": flag(row["is_invoiced"]),
        "invoice_id": sid(row["invoice_id"]),
        "taxable": False,
        "active_submission_id": None,
        "external_reference": external_reference(row),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def invoice(row: Row) -> Obj:
    return {
        "id": str(row["id"]),
        "workspace_ids": [str(row["workspace_id"])],
        "invoice_date": row["invoice_date"],
        "your_reference": row["your_reference"],
        "currency": row["currency"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


# -- includes -----------------------------------------------------------------------------------------

Include = Callable[[Store, Sequence[Row]], Mapping[str, Obj]]
TYPES = {"user": "users", "story": "stories", "workspace": "workspaces"}
"""Where an included association's objects go: under their type's key, whatever the association's name."""


def _by_ids(store: Store, table: str, ids: Iterable[Any], render: Callable[[Row], Obj]) -> dict[str, Obj]:
    wanted = sorted({i for i in ids if i is not None})
    out: dict[str, Obj] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in store.rows(f"SELECT * FROM {table} WHERE id IN ({marks})", chunk):
            out[str(row["id"])] = render(row)
    return out


def include_users(store: Store, rows: Sequence[Row]) -> dict[str, Obj]:
    return _by_ids(store, "users", (r["user_id"] for r in rows), user)


def include_stories(store: Store, rows: Sequence[Row]) -> dict[str, Obj]:
    return _by_ids(store, "stories", (r["story_id"] for r in rows), story)


def include_workspaces(store: Store, rows: Sequence[Row]) -> dict[str, Obj]:
    return _by_ids(store, "workspaces", (r["workspace_id"] for r in rows), lambda row: workspace(row, set()))


def include_custom_field_values(store: Store, rows: Sequence[Row]) -> dict[str, Obj]:
    return {cfv["id"]: cfv for row in rows for cfv in custom_field_values(row)}


def include_workspace_groups(store: Store, rows: Sequence[Row]) -> dict[str, Obj]:
    return _by_ids(store, "workspace_groups", (r["group_id"] for r in rows), workspace_group)


# -- paging --------------------------------------------------------------------------------------------


def _positive(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise KantataReject(400, f"{name} must be a positive integer", field=name)
    return int(raw)


def includes_of(request: Request, allowed: Mapping[str, Include]) -> set[str]:
    raw = request.query_params.get("include", "")
    asked = {name.strip() for name in raw.split(",") if name.strip()}
    unknown = sorted(asked - set(allowed))
    if unknown:
        raise KantataReject(400, f"Cannot include {', '.join(unknown)}", field="include")
    return asked


def page_of(
    store: Store,
    request: Request,
    *,
    key: str,
    table: str,
    where: Sequence[str],
    params: Sequence[Any],
    order: str,
    render: Callable[[Row, set[str]], Obj],
    allowed: Mapping[str, Include],
) -> JSONResponse:
    """One page of a listing in Kantata's shape, with the asked includes."""
    includes = includes_of(request, allowed)
    number = _positive(request, "page", 1)
    size = min(MAX_PER_PAGE, _positive(request, "per_page", DEFAULT_PER_PAGE))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    total = int(store.scalar(f"SELECT COUNT(*) FROM {table}{clause}", list(params)))
    rows = store.rows(
        f"SELECT * FROM {table}{clause} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, size, (number - 1) * size],
    )
    body: Obj = {
        "count": total,
        "results": [{"key": key, "id": str(row["id"])} for row in rows],
        key: {str(row["id"]): render(row, includes) for row in rows},
    }
    for name in sorted(includes):
        body.setdefault(TYPES.get(name, name), {}).update(allowed[name](store, rows))
    body["meta"] = {
        "count": total,
        "page_count": max(1, -(-total // size)),
        "page_number": number,
        "page_size": size,
    }
    return JSONResponse(body)
