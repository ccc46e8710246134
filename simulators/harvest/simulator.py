"""A Harvest API v2 simulator serving the world's delivery side: projects, people, time and invoices.

Auth is Harvest's: `Authorization: Bearer <token>` plus `Harvest-Account-Id` (or the `access_token` /
`account_id` query parameters), and a `User-Agent` naming the app; a missing User-Agent is a 400. The
rate limit (Harvest's is 100 requests per 15 s) only applies when `faults.rate_limit` is set; over it
the answer is 429 with `Retry-After` in seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.harvest import sim_events, sim_invoices, sim_reports, sim_writes
from simulators.harvest.sim_paging import Filters, document, list_page, not_found
from simulators.harvest.sim_state import SCHEMA, load_world
from simulators.harvest.sim_wire import (
    CLIENTS,
    INVOICES,
    PROJECTS,
    TASK_ASSIGNMENTS,
    TASKS,
    TIME_ENTRIES,
    USER_ASSIGNMENTS,
    USERS,
)
from simulators.simkit.admin import Faults, RateWindow, build_simulator_app, retry_after_header
from simulators.simkit.routing import Handler, method_routes
from simulators.simkit.serve import SimulatorInfo
from simulators.simkit.store import Store
from simulators.world import World

CREDENTIALS = {
    "access_token": "sim-harvest-token",
    "account_id": "1121001",
    "user_agent": "opsgraph (ops@opsgraph-firm.example)",
}
API = "/v2"
INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid for other "
    "reasons.",
}


class HarvestSimulator:
    """The `Vendor` for simkit, and the routes of Harvest API v2 over one SQLite projection."""

    name = "harvest"

    def __init__(self, world: World) -> None:
        self.world = world
        self.store = Store(SCHEMA)
        load_world(self.store, world)
        self.me = world.people[0].harvest_user_id  # the token's owner: an administrator

    # -- Vendor protocol ---------------------------------------------------------------------------

    def check_auth(self, request: Request) -> Response | None:
        if not request.headers.get("user-agent", "").strip():
            return JSONResponse(
                {
                    "message": "Missing User-Agent header: name your application and give a link or email, "
                    "for example 'MyApp (me@example.com)'."
                },
                status_code=400,
            )
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            token = request.query_params.get("access_token", "")
        account = request.headers.get("harvest-account-id") or request.query_params.get("account_id", "")
        if token.strip() != CREDENTIALS["access_token"] or account.strip() != CREDENTIALS["account_id"]:
            return JSONResponse(INVALID_TOKEN, status_code=401)
        return None

    def error(self, status: int, code: str, message: str) -> Response:
        if status == 404:
            return not_found().response()
        if status >= 500 or status == 405:
            return JSONResponse({"status": status, "error": message}, status_code=status)
        return JSONResponse({"message": message}, status_code=status)

    def rate_limited(self, retry_after_s: float, window: RateWindow, faults: Faults) -> Response:
        wait = retry_after_header(retry_after_s)
        return JSONResponse(
            {
                "message": f"API rate limit exceeded: {faults.rate_limit} requests per "
                f"{faults.rate_window_s:g} seconds. Retry after {wait} seconds."
            },
            status_code=429,
            headers={"Retry-After": wait},
        )

    def decorate(self, response: Response, window: RateWindow, faults: Faults) -> None:
        return None

    def public_paths(self) -> Sequence[str]:
        return ()

    async def reset(self) -> None:
        self.store.wipe()
        load_world(self.store, self.world)

    async def event(self, body: dict[str, Any]) -> dict[str, Any]:
        """Something done in Harvest's UI (`sim_events`): approve time, edit a project or an assignment."""
        return sim_events.apply(self.store, body)

    # -- reads -------------------------------------------------------------------------------------

    def _project_or_404(self, project_id: int) -> None:
        if self.store.row("SELECT id FROM projects WHERE id = ?", [project_id]) is None:
            raise not_found()

    async def list_clients(self, request: Request) -> Response:
        f = Filters(request.query_params)
        f.boolean("is_active", "c.is_active")
        f.updated_since("c.updated_at")
        return list_page(request, self.store, CLIENTS, f)

    async def get_client(self, request: Request) -> Response:
        return document(self.store, CLIENTS, request.path_params["id"])

    async def list_projects(self, request: Request) -> Response:
        f = Filters(request.query_params)
        f.boolean("is_active", "p.is_active")
        f.integer("client_id", "p.client_id")
        f.updated_since("p.updated_at")
        return list_page(request, self.store, PROJECTS, f)

    async def get_project(self, request: Request) -> Response:
        return document(self.store, PROJECTS, request.path_params["id"])

    async def list_users(self, request: Request) -> Response:
        f = Filters(request.query_params)
        f.boolean("is_active", "u.is_active")
        f.updated_since("u.updated_at")
        return list_page(request, self.store, USERS, f)

    async def get_me(self, request: Request) -> Response:
        return document(self.store, USERS, self.me)

    async def get_user(self, request: Request) -> Response:
        return document(self.store, USERS, request.path_params["id"])

    async def list_tasks(self, request: Request) -> Response:
        f = Filters(request.query_params)
        f.boolean("is_active", "t.is_active")
        f.updated_since("t.updated_at")
        return list_page(request, self.store, TASKS, f)

    async def list_user_assignments(self, request: Request) -> Response:
        f = Filters(request.query_params)
        if "id" in request.path_params:
            self._project_or_404(request.path_params["id"])
            f.add("ua.project_id = ?", request.path_params["id"])
        f.boolean("is_active", "ua.is_active")
        f.integer("user_id", "ua.user_id")
        f.updated_since("ua.updated_at")
        return list_page(request, self.store, USER_ASSIGNMENTS, f)

    async def list_task_assignments(self, request: Request) -> Response:
        self._project_or_404(request.path_params["id"])
        f = Filters(request.query_params)
        f.add("ta.project_id = ?", request.path_params["id"])
        f.boolean("is_active", "ta.is_active")
        f.updated_since("ta.updated_at")
        return list_page(request, self.store, TASK_ASSIGNMENTS, f)

    async def list_time_entries(self, request: Request) -> Response:
        f = Filters(request.query_params)
        for name in ("user_id", "client_id", "project_id", "task_id"):
            f.integer(name, f"te.{name}")
        if "external_reference_id" in f.query:
            f.add("te.ext_id = ?", f.query["external_reference_id"])
        f.boolean("is_billed", "(te.invoice_id IS NOT NULL)")
        if f.flag("is_running"):
            f.add("0")  # no timer runs in the simulated account
        f.updated_since("te.updated_at")
        f.day("from", "te.spent_date", ">=")
        f.day("to", "te.spent_date", "<=")
        return list_page(request, self.store, TIME_ENTRIES, f)

    async def get_time_entry(self, request: Request) -> Response:
        return document(self.store, TIME_ENTRIES, request.path_params["id"])

    async def list_invoices(self, request: Request) -> Response:
        f = Filters(request.query_params)
        f.integer("client_id", "inv.client_id")
        f.integer("project_id", "inv.id IN (SELECT invoice_id FROM invoice_line_items WHERE project_id = ?)")
        if "state" in f.query:
            states = f.query["state"].split(",")
            f.add(f"inv.state IN ({', '.join('?' for _ in states)})", *states)
        f.updated_since("inv.updated_at")
        f.day("from", "inv.issue_date", ">=")
        f.day("to", "inv.issue_date", "<=")
        return list_page(request, self.store, INVOICES, f)

    async def get_invoice(self, request: Request) -> Response:
        return document(self.store, INVOICES, request.path_params["id"])

    async def projects_time_report(self, request: Request) -> Response:
        return sim_reports.projects_time_report(self.store, request)

    async def uninvoiced_report(self, request: Request) -> Response:
        return sim_reports.uninvoiced_report(self.store, request)

    # -- routes ------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        s = self.store

        def write(fn: Callable[..., Awaitable[Response]], *args: Any) -> Handler:
            return lambda request: fn(s, *args, request)

        table: list[tuple[str, Handler, str]] = [
            ("/clients", self.list_clients, "GET"),
            ("/clients", write(sim_writes.create_client), "POST"),
            ("/clients/{id:int}", self.get_client, "GET"),
            ("/projects", self.list_projects, "GET"),
            ("/projects", write(sim_writes.create_project), "POST"),
            ("/projects/{id:int}", self.get_project, "GET"),
            ("/projects/{id:int}", write(sim_writes.update_project), "PATCH"),
            ("/projects/{id:int}/user_assignments", self.list_user_assignments, "GET"),
            ("/projects/{id:int}/user_assignments", write(sim_writes.create_user_assignment), "POST"),
            ("/projects/{id:int}/task_assignments", self.list_task_assignments, "GET"),
            ("/users", self.list_users, "GET"),
            ("/users/me", self.get_me, "GET"),
            ("/users/{id:int}", self.get_user, "GET"),
            ("/tasks", self.list_tasks, "GET"),
            ("/user_assignments", self.list_user_assignments, "GET"),
            ("/time_entries", self.list_time_entries, "GET"),
            ("/time_entries", write(sim_writes.create_time_entry, self.me), "POST"),
            ("/time_entries/{id:int}", self.get_time_entry, "GET"),
            ("/time_entries/{id:int}", write(sim_writes.update_time_entry), "PATCH"),
            ("/time_entries/{id:int}", write(sim_writes.delete_time_entry), "DELETE"),
            ("/invoices", self.list_invoices, "GET"),
            ("/invoices", write(sim_invoices.create_invoice), "POST"),
            ("/invoices/{id:int}", self.get_invoice, "GET"),
            ("/invoices/{id:int}", write(sim_invoices.delete_invoice), "DELETE"),
            ("/reports/time/projects", self.projects_time_report, "GET"),
            ("/reports/uninvoiced", self.uninvoiced_report, "GET"),
        ]
        return method_routes(API, table)


def create_app(world: World) -> Starlette:
    sim = HarvestSimulator(world)
    return build_simulator_app(sim, sim.routes())


SIMULATOR = SimulatorInfo(vendor="harvest", create_app=create_app, credentials=CREDENTIALS, api_path=API)
