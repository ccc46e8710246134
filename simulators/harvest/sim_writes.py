"""The Harvest simulator's writes: time entries, projects and user assignments (invoices: `sim_invoices`).

Every write stamps `updated_at` so that `updated_since` polling sees it. Validation failures are 422
`{"message": ...}`, as Harvest answers them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from simulators.harvest.sim_paging import HarvestReject, document, not_found, unprocessable
from simulators.harvest.sim_state import ts
from simulators.harvest.sim_wire import CLIENTS, PROJECTS, TIME_ENTRIES, USER_ASSIGNMENTS, locked_reason
from simulators.simkit.store import Row, Store, utc_now

BILL_BY = ("Project", "Tasks", "People", "none")
BUDGET_BY = ("project", "project_cost", "task", "task_fees", "person", "none")
_NO_REFERENCE: dict[str, str | None] = dict.fromkeys(
    ("ext_id", "ext_group_id", "ext_account_id", "ext_permalink")
)


def now() -> str:
    return ts(utc_now())


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise HarvestReject(400, {"message": "The request body is not valid JSON"}) from None
    if not isinstance(body, dict):
        raise HarvestReject(400, {"message": "The request body must be a JSON object"})
    return body


# -- field validation ----------------------------------------------------------------------------


def int_field(body: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise unprocessable(f"{name.replace('_', ' ').capitalize()} can't be blank")
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise unprocessable(f"{name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise unprocessable(f"{name} must be an integer") from None


def num_field(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise unprocessable(f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise unprocessable(f"{name} must be a number") from None
    if number < 0:
        raise unprocessable(f"{name.replace('_', ' ').capitalize()} can't be negative")
    return number


def bool_field(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise unprocessable(f"{name} must be true or false")
    return int(value)


def date_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise unprocessable(f"{name.replace('_', ' ').capitalize()} can't be blank")
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise unprocessable(f"{name} must be a date (YYYY-MM-DD)") from None


def choice_field(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> str | None:
    value = body.get(name)
    if value is not None and value not in choices:
        raise unprocessable(f"{name} must be one of {', '.join(choices)}")
    return value


def text_field(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return None if value is None else str(value)


# -- time entries --------------------------------------------------------------------------------


def _entry(store: Store, entry_id: int) -> Row:
    row = store.row("SELECT * FROM time_entries WHERE id = ?", [entry_id])
    if row is None:
        raise not_found()
    return row


def _external_reference(body: dict[str, Any]) -> dict[str, str | None]:
    """The `ext_*` columns for the body's `external_reference` (all None when it is null or absent)."""
    ref = body.get("external_reference")
    if ref is None:
        return dict(_NO_REFERENCE)
    if not isinstance(ref, dict) or ref.get("id") in (None, ""):
        raise unprocessable("External reference must be an object with an id")
    return {
        "ext_id": str(ref["id"]),
        "ext_group_id": None if ref.get("group_id") is None else str(ref["group_id"]),
        "ext_account_id": None if ref.get("account_id") is None else str(ref["account_id"]),
        "ext_permalink": None if ref.get("permalink") is None else str(ref["permalink"]),
    }


def _task_on_project(store: Store, project_id: int, task_id: int) -> Row:
    ta = store.row(
        "SELECT * FROM task_assignments WHERE project_id = ? AND task_id = ? AND is_active = 1",
        [project_id, task_id],
    )
    if ta is None:
        raise unprocessable(f"Task {task_id} is not assigned to project {project_id}")
    return ta


async def create_time_entry(store: Store, me: int, request: Request) -> Response:
    body = await json_body(request)
    project_id = int_field(body, "project_id", required=True)
    task_id = int_field(body, "task_id", required=True)
    spent_date = date_field(body, "spent_date", required=True)
    user_id = int_field(body, "user_id") or me
    hours = num_field(body, "hours") or 0.0
    project = store.row("SELECT * FROM projects WHERE id = ?", [project_id])
    if project is None:
        raise unprocessable(f"Project {project_id} does not exist")
    if store.row("SELECT id FROM tasks WHERE id = ?", [task_id]) is None:
        raise unprocessable(f"Task {task_id} does not exist")
    assert project_id is not None and task_id is not None
    ta = _task_on_project(store, project_id, task_id)
    user = store.row("SELECT * FROM users WHERE id = ?", [user_id])
    if user is None:
        raise unprocessable(f"User {user_id} does not exist")
    ua = store.row(
        "SELECT * FROM user_assignments WHERE project_id = ? AND user_id = ?", [project_id, user_id]
    )
    if ua is None:
        raise unprocessable(f"User {user_id} is not assigned to project {project_id}")
    billable = bool(project["is_billable"] and ta["billable"])
    rate = {"People": ua["hourly_rate"], "Project": project["hourly_rate"], "Tasks": ta["hourly_rate"]}.get(
        project["bill_by"]
    )
    stamp = now()
    new_id = store.insert(
        "time_entries",
        {
            "spent_date": spent_date,
            "user_id": user_id,
            "client_id": project["client_id"],
            "project_id": project_id,
            "task_id": task_id,
            "hours": hours,
            "notes": text_field(body, "notes"),
            "is_closed": 0,
            "invoice_id": None,
            "billable": int(billable),
            "billable_rate": rate if billable else None,
            "cost_rate": user["cost_rate"],
            **_external_reference(body),
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    return document(store, TIME_ENTRIES, new_id, status=201)


def _refuse_locked(entry: Row) -> None:
    reason = locked_reason(entry)
    if reason is not None:
        raise unprocessable(f"Entry is locked ({reason}) and cannot be changed")


async def update_time_entry(store: Store, request: Request) -> Response:
    entry = _entry(store, request.path_params["id"])
    body = await json_body(request)
    _refuse_locked(entry)
    values: dict[str, Any] = {}
    if "hours" in body:
        values["hours"] = num_field(body, "hours") or 0.0
    if "notes" in body:
        values["notes"] = text_field(body, "notes")
    if "spent_date" in body:
        values["spent_date"] = date_field(body, "spent_date", required=True)
    if "task_id" in body:
        task_id = int_field(body, "task_id", required=True)
        assert task_id is not None
        _task_on_project(store, entry["project_id"], task_id)
        values["task_id"] = task_id
    if "external_reference" in body:
        values.update(_external_reference(body))
    store.update("time_entries", "id", entry["id"], {**values, "updated_at": now()})
    return document(store, TIME_ENTRIES, entry["id"])


async def delete_time_entry(store: Store, request: Request) -> Response:
    entry = _entry(store, request.path_params["id"])
    _refuse_locked(entry)
    store.execute("DELETE FROM time_entries WHERE id = ?", [entry["id"]])
    return Response(status_code=200)


# -- clients, projects and assignments -------------------------------------------------------------


async def create_client(store: Store, request: Request) -> Response:
    """`POST /v2/clients`: a name is required and unique (Harvest: 422 "Name has already been taken")."""
    body = await json_body(request)
    name = text_field(body, "name")
    if not name:
        raise unprocessable("Name can't be blank")
    if store.row("SELECT id FROM clients WHERE name = ?", [name]) is not None:
        raise unprocessable("Name has already been taken")
    currency = text_field(body, "currency") or "USD"
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise unprocessable("Currency is not included in the list")
    stamp = now()
    row = {
        "name": name,
        "is_active": 1 if body.get("is_active") is None else bool_field(body, "is_active"),
        "address": text_field(body, "address"),
        "currency": currency,
        "created_at": stamp,
        "updated_at": stamp,
    }
    return document(store, CLIENTS, store.insert("clients", row), status=201)


_PROJECT_FIELDS = ("name", "code", "notes")


def project_values(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _PROJECT_FIELDS:
        if name in body:
            values[name] = text_field(body, name)
    for name in ("is_active", "is_billable", "is_fixed_fee", "budget_is_monthly"):
        if name in body:
            values[name] = bool_field(body, name)
    for name in ("budget", "hourly_rate", "fee", "cost_budget"):
        if name in body:
            values[name] = num_field(body, name)
    for name in ("starts_on", "ends_on"):
        if name in body:
            values[name] = date_field(body, name)
    if "bill_by" in body:
        values["bill_by"] = choice_field(body, "bill_by", BILL_BY)
    if "budget_by" in body:
        values["budget_by"] = choice_field(body, "budget_by", BUDGET_BY)
    if "client_id" in body:
        client_id = int_field(body, "client_id", required=True)
        if store.row("SELECT id FROM clients WHERE id = ?", [client_id]) is None:
            raise unprocessable(f"Client {client_id} does not exist")
        values["client_id"] = client_id
    return values


def _project(store: Store, project_id: int) -> Row:
    row = store.row("SELECT * FROM projects WHERE id = ?", [project_id])
    if row is None:
        raise not_found()
    return row


async def create_project(store: Store, request: Request) -> Response:
    body = await json_body(request)
    for name in ("client_id", "name", "is_billable", "bill_by", "budget_by"):
        if body.get(name) is None:
            raise unprocessable(f"{name.replace('_', ' ').capitalize()} can't be blank")
    values = project_values(store, body)
    stamp = now()
    row = {
        "is_active": 1,
        "is_fixed_fee": 0,
        "budget_is_monthly": 0,
        **values,
        "created_at": stamp,
        "updated_at": stamp,
    }
    new_id = store.insert("projects", row)
    for task in store.rows("SELECT * FROM tasks WHERE is_default = 1 AND is_active = 1 ORDER BY id"):
        store.insert(
            "task_assignments",
            {
                "project_id": new_id,
                "task_id": task["id"],
                "is_active": 1,
                "billable": task["billable_by_default"],
                "hourly_rate": None,
                "budget": None,
                "created_at": stamp,
                "updated_at": stamp,
            },
        )
    return document(store, PROJECTS, new_id, status=201)


async def update_project(store: Store, request: Request) -> Response:
    project = _project(store, request.path_params["id"])
    values = project_values(store, await json_body(request))
    if "name" in values and not values["name"]:
        raise unprocessable("Name can't be blank")
    store.update("projects", "id", project["id"], {**values, "updated_at": now()})
    return document(store, PROJECTS, project["id"])


async def create_user_assignment(store: Store, request: Request) -> Response:
    project = _project(store, request.path_params["id"])
    body = await json_body(request)
    user_id = int_field(body, "user_id", required=True)
    user = store.row("SELECT * FROM users WHERE id = ?", [user_id])
    if user is None:
        raise unprocessable(f"User {user_id} does not exist")
    taken = "SELECT id FROM user_assignments WHERE project_id = ? AND user_id = ?"
    if store.row(taken, [project["id"], user_id]) is not None:
        raise unprocessable("User has already been assigned to this project")
    use_default = bool_field(body, "use_default_rates")
    rate = num_field(body, "hourly_rate")
    if rate is None and use_default is not False:
        rate = user["default_hourly_rate"]
    stamp = now()
    assignment = {
        "project_id": project["id"],
        "user_id": user_id,
        "is_active": 1 if body.get("is_active") is None else bool_field(body, "is_active"),
        "is_project_manager": bool_field(body, "is_project_manager") or 0,
        "use_default_rates": 1 if use_default is None else use_default,
        "hourly_rate": rate,
        "budget": num_field(body, "budget"),
        "created_at": stamp,
        "updated_at": stamp,
    }
    new_id = store.insert("user_assignments", assignment)
    store.update("projects", "id", project["id"], {"updated_at": stamp})
    return document(store, USER_ASSIGNMENTS, new_id, status=201)
