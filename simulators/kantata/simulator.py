"""A Kantata OX (Mavenlink) API v1 simulator serving a region's delivery side under Kantata's own ids:
workspaces, users, stories, participations, time entries and invoices.

Bearer auth (`Authorization: Bearer <oauth token>`); paths end in `.json` below `/api/v1`; answers in
Kantata's shape (`sim_wire.py`); errors as `{"errors": [{"type", "message"}]}`; the rate limit (off
unless `faults.rate_limit` is set) answers 429 with `Retry-After`. Projection: `sim_state.py`; reads:
`sim_routes.py`; writes: `sim_writes.py`; UI events: `sim_events.py`. Wire contract:
VENDOR_APIS_MORE.md section 3.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators.kantata import sim_events, sim_writes
from simulators.kantata.sim_routes import Reads
from simulators.kantata.sim_state import SCHEMA, load_world
from simulators.kantata.sim_wire import error_response
from simulators.simkit.admin import Faults, RateWindow, build_simulator_app, retry_after_header
from simulators.simkit.routing import Handler, method_routes
from simulators.simkit.serve import SimulatorInfo
from simulators.simkit.store import Store
from simulators.world import World

ACCESS_TOKEN = "sim-kantata-oauth-token"
CREDENTIALS = {"access_token": ACCESS_TOKEN}
API = "/api/v1"


class KantataSimulator:
    """The `Vendor` for simkit, and Kantata's routes over one SQLite projection."""

    name = "kantata"

    def __init__(self, world: World) -> None:
        self.world = world
        self.store = Store(SCHEMA)
        load_world(self.store, world)

    def check_auth(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != ACCESS_TOKEN:
            return error_response(401, "You must be logged in to access this resource.", "authentication")
        return None

    def error(self, status: int, code: str, message: str) -> Response:
        return error_response(status, message)

    def rate_limited(self, retry_after_s: float, window: RateWindow, faults: Faults) -> Response:
        response = error_response(429, "Too many requests. Please retry after a short delay.", "rate_limit")
        response.headers["Retry-After"] = retry_after_header(retry_after_s)
        return response

    def decorate(self, response: Response, window: RateWindow, faults: Faults) -> None:
        return None

    def public_paths(self) -> Sequence[str]:
        return ()

    async def reset(self) -> None:
        self.store.wipe()
        load_world(self.store, self.world)

    async def event(self, body: dict[str, Any]) -> dict[str, Any]:
        return sim_events.apply(self.store, body)

    def routes(self) -> list[Route]:
        reads, s = Reads(self.store), self.store

        def write(fn: Callable[[Store, Request], Awaitable[Response]]) -> Handler:
            return lambda request: fn(s, request)

        table: list[tuple[str, Handler, str]] = [
            ("/workspaces.json", reads.workspaces, "GET"),
            ("/workspaces.json", write(sim_writes.create_workspaces), "POST"),
            ("/workspaces/{id:int}.json", reads.workspace, "GET"),
            ("/workspaces/{id:int}.json", write(sim_writes.update_workspace), "PUT"),
            ("/workspace_groups.json", reads.workspace_groups, "GET"),
            ("/custom_field_values.json", write(sim_writes.create_custom_field_values), "POST"),
            ("/users.json", reads.users, "GET"),
            ("/users/me.json", reads.me, "GET"),
            ("/stories.json", reads.stories, "GET"),
            ("/participations.json", reads.participations, "GET"),
            ("/participations.json", write(sim_writes.create_participations), "POST"),
            ("/participations/{id:int}.json", write(sim_writes.update_participation), "PUT"),
            ("/time_entries.json", reads.time_entries, "GET"),
            ("/time_entries.json", write(sim_writes.create_time_entries), "POST"),
            ("/time_entries/{id:int}.json", reads.time_entry, "GET"),
            ("/time_entries/{id:int}.json", write(sim_writes.delete_time_entry), "DELETE"),
            ("/invoices.json", reads.invoices, "GET"),
            ("/invoices.json", write(sim_writes.create_invoices), "POST"),
        ]
        return method_routes(API, table)


def create_app(world: World) -> Starlette:
    sim = KantataSimulator(world)
    return build_simulator_app(sim, sim.routes())


SIMULATOR = SimulatorInfo(
    vendor="kantata", create_app=create_app, credentials=CREDENTIALS, api_path=API, connector_path=API
)
