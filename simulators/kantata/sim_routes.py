"""The Kantata API v1 read routes: listings with their filters, `only=` (the read by ids), `include=`,
`page`/`per_page` paging, and one record by id.

Filters (VENDOR_APIS_MORE section 3; those marked there as unconfirmed are the simulator's choice):
workspaces `only`, `include_archived` (archived workspaces are left out unless asked for), `archived`,
`updated_after`, `external_reference`; users `only`, `updated_after`; participations `only`,
`workspace_id` (one id or a comma list), `active`, `updated_after`; time entries `only`,
`workspace_id`, `user_id`, `date_performed_between=YYYY-MM-DD:YYYY-MM-DD`, `billable`, `approved`,
`is_invoiced`, `updated_after`, `created_after`, `external_reference`. `updated_after` is strictly
after the instant, to the second.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from simulators.kantata import sim_wire as wire
from simulators.kantata.sim_state import ts
from simulators.kantata.sim_wire import KantataReject
from simulators.simkit.store import Store

WORKSPACE_INCLUDES = {
    "custom_field_values": wire.include_custom_field_values,
    "workspace_groups": wire.include_workspace_groups,
}
TIME_ENTRY_INCLUDES = {
    "user": wire.include_users,
    "story": wire.include_stories,
    "workspace": wire.include_workspaces,
}
PARTICIPATION_INCLUDES = {"user": wire.include_users, "workspace": wire.include_workspaces}


class Query:
    """A listing's WHERE clause, built from the request's filters."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.where: list[str] = []
        self.params: list[Any] = []

    def get(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        return None if value is None or value == "" else value

    def add(self, clause: str, *params: Any) -> None:
        self.where.append(clause)
        self.params.extend(params)

    def ids(self, name: str, column: str) -> None:
        raw = self.get(name)
        if raw is None:
            return
        ids = [int(i) for i in raw.split(",") if i.strip().isdigit() and len(i.strip()) <= 18]
        if not ids:
            self.add("0")
            return
        self.add(f"{column} IN ({', '.join('?' for _ in ids)})", *ids)

    def boolean(self, name: str, column: str | None = None) -> bool | None:
        raw = self.get(name)
        if raw is None:
            return None
        if raw not in ("true", "false"):
            raise KantataReject(400, f"{name} must be true or false", field=name)
        if column is not None:
            self.add(f"{column} = ?", int(raw == "true"))
        return raw == "true"

    def after(self, name: str, column: str) -> None:
        raw = self.get(name)
        if raw is not None:
            self.add(f"{column} > ?", _instant(raw, name))

    def references(self) -> None:
        """The `external_reference` filter: records carrying one of a comma list of refs."""
        refs = self.get("external_reference")
        if refs is not None:
            values = refs.split(",")
            self.add(f"external_ref IN ({', '.join('?' for _ in values)})", *values)


def _instant(raw: str, name: str) -> str:
    text = raw.strip().replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise KantataReject(400, f"{name} must be an ISO 8601 time", field=name) from None
    return ts(moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))


def _between(raw: str) -> tuple[str, str]:
    start, sep, end = raw.partition(":")
    try:
        a, b = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise KantataReject(
            400, "date_performed_between must be YYYY-MM-DD:YYYY-MM-DD", field="date_performed_between"
        ) from None
    if not sep or b < a:
        raise KantataReject(400, "date_performed_between is not a range", field="date_performed_between")
    return a.isoformat(), b.isoformat()


class Reads:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def workspaces(self, request: Request) -> Response:
        q = Query(request)
        q.ids("only", "id")
        archived = q.boolean("archived", "archived")
        if archived is None and q.get("include_archived") != "true":
            q.add("archived = 0")
        q.after("updated_after", "updated_at")
        q.references()
        return self._page(request, q, "workspaces", "id", wire.workspace, WORKSPACE_INCLUDES)

    async def workspace(self, request: Request) -> Response:
        return self._one(request, "workspaces", wire.workspace, WORKSPACE_INCLUDES)

    async def workspace_groups(self, request: Request) -> Response:
        q = Query(request)
        q.ids("only", "id")
        return self._page(request, q, "workspace_groups", "id", lambda r, _: wire.workspace_group(r), {})

    async def users(self, request: Request) -> Response:
        q = Query(request)
        q.ids("only", "id")
        q.after("updated_after", "updated_at")
        return self._page(request, q, "users", "id", lambda r, _: wire.user(r), {})

    async def me(self, request: Request) -> Response:
        row = self.store.row("SELECT * FROM users ORDER BY id LIMIT 1")
        assert row is not None
        key = str(row["id"])
        return JSONResponse(
            {"count": 1, "results": [{"key": "users", "id": key}], "users": {key: wire.user(row)}, "meta": {}}
        )

    async def stories(self, request: Request) -> Response:
        q = Query(request)
        q.ids("only", "id")
        q.ids("workspace_id", "workspace_id")
        return self._page(request, q, "stories", "id", lambda r, _: wire.story(r), {})

    async def participations(self, request: Request) -> Response:
        q = Query(request)
        q.ids("only", "id")
        q.ids("workspace_id", "workspace_id")
        q.boolean("active", "active")
        q.after("updated_after", "updated_at")
        render = lambda r, _: wire.participation(r)  # noqa: E731
        return self._page(request, q, "participations", "id", render, PARTICIPATION_INCLUDES)

    async def time_entries(self, request: Request) -> Response:
        q = Query(request)
        q.ids("only", "id")
        q.ids("workspace_id", "workspace_id")
        q.ids("user_id", "user_id")
        between = q.get("date_performed_between")
        if between is not None:
            q.add("date_performed BETWEEN ? AND ?", *_between(between))
        for name in ("billable", "approved", "is_invoiced"):
            q.boolean(name, name)
        q.after("updated_after", "updated_at")
        q.after("created_after", "created_at")
        q.references()
        render = lambda r, _: wire.time_entry(r)  # noqa: E731
        return self._page(request, q, "time_entries", "date_performed DESC, id", render, TIME_ENTRY_INCLUDES)

    async def time_entry(self, request: Request) -> Response:
        return self._one(request, "time_entries", lambda r, _: wire.time_entry(r), TIME_ENTRY_INCLUDES)

    async def invoices(self, request: Request) -> Response:
        q = Query(request)
        q.ids("only", "id")
        q.after("updated_after", "updated_at")
        return self._page(request, q, "invoices", "id", lambda r, _: wire.invoice(r), {})

    def _page(self, request: Request, q: Query, key: str, order: str, render: Any, allowed: Any) -> Response:
        return wire.page_of(
            self.store,
            request,
            key=key,
            table=key,
            where=q.where,
            params=q.params,
            order=order,
            render=render,
            allowed=allowed,
        )

    def _one(self, request: Request, table: str, render: Any, allowed: Any) -> Response:
        includes = wire.includes_of(request, allowed)
        record_id = request.path_params["id"]
        row = self.store.row(f"SELECT * FROM {table} WHERE id = ?", [record_id])
        if row is None:
            raise KantataReject(404, f"No {table} record with id {record_id} was found", "not_found")
        key = str(row["id"])
        body: dict[str, Any] = {
            "count": 1,
            "results": [{"key": table, "id": key}],
            table: {key: render(row, includes)},
        }
        for name in sorted(includes):
            body.setdefault(wire.TYPES.get(name, name), {}).update(allowed[name](self.store, [row]))
        body["meta"] = {"count": 1, "page_count": 1, "page_number": 1, "page_size": 1}
        return JSONResponse(body)


def ids_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [str(r["id"]) for r in rows]
