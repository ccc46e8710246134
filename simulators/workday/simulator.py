"""A Workday simulator: one tenant (`opsgraph_firm`) of the seeded world.

- RaaS: `GET /ccx/service/customreport2/{tenant}/{owner}/{report}?format=json&<prompts>` answers
  `{"Report_Entry": [...]}` in one body (no paging). The two documented reports: `OpsGraph_Workers`
  (prompt `Updated_Since`, a date) and `OpsGraph_Time_Off` (prompts `Start_Date` and `End_Date`,
  required, `Status` and `Worker!Employee_ID`). A prompt the report does not define, a malformed date or
  a missing required prompt is a 400; another format than json (this simulator serves no csv or XML)
  is a 400 too.
- Auth: Basic as the integration system user (`ISU_OpsGraph`, also `ISU_OpsGraph@opsgraph_firm`), or a
  bearer from `POST /ccx/oauth2/{tenant}/token` (`grant_type=refresh_token`, the API client's id and
  secret as Basic). A bad user or bearer is a 401; a bad client 401 `invalid_client`, a bad refresh
  token 400 `invalid_grant`.
- REST: `GET /ccx/api/v1/{tenant}/workers?limit=&offset=` (`limit` default 20, max 100) and
  `/workers/{WID}`, bearer only, as `{"total", "data": [{"id", "descriptor", "href", ...}]}`.
- Errors: `{"error": ..., "errors": [{"error": ...}]}` (the vendor's REST shape; the RaaS one is
  unconfirmed); over the rate limit a 429 with `Retry-After` (Workday's limits are not published).

Events: `change_worker` (`id`, `fields` of title, department, division, location, active, cost_rate,
email), `rename_columns` (`report`, `columns`: old alias -> new), `drop_columns` (`report`, `columns`),
`revoke_tokens`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from simulators.simkit.admin import Faults, RateWindow, build_simulator_app, retry_after_header
from simulators.simkit.serve import SimulatorInfo
from simulators.workday.sim_state import TIME_OFF_STATUS, TenantState
from simulators.world import World

TENANT = "opsgraph_firm"
ISU_USER = "ISU_OpsGraph"
ISU_PASSWORD = "sim-workday-isu-password"
CLIENT_ID = "sim-workday-client"
CLIENT_SECRET = "sim-workday-secret"
REFRESH_TOKEN = "sim-workday-refresh-token"
REPORTS_PATH = f"/ccx/service/customreport2/{TENANT}"
REST_PATH = f"/ccx/api/v1/{TENANT}"
TOKEN_PATH = f"/ccx/oauth2/{TENANT}/token"
WORKERS_REPORT, TIME_OFF_REPORT = "OpsGraph_Workers", "OpsGraph_Time_Off"
REST_DEFAULT_LIMIT, REST_MAX_LIMIT = 20, 100
STATUSES = frozenset(TIME_OFF_STATUS.values())


def workday_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message, "errors": [{"error": message}]}, status, headers=headers)


class PromptError(ValueError):
    """A prompt the report would reject: a 400."""


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


class WorkdayVendor:
    name = "workday"

    def __init__(self, world: World) -> None:
        self.state = TenantState(world)

    def _bearer(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token in self.state.tokens

    def check_auth(self, request: Request) -> Response | None:
        if self._bearer(request):
            return None
        if request.url.path.startswith(REST_PATH):
            return workday_error(401, "invalid_token")  # REST takes an API client's bearer only
        basic = _basic(request)
        if basic is not None:
            user, password = basic
            if user in (ISU_USER, f"{ISU_USER}@{TENANT}") and hmac.compare_digest(password, ISU_PASSWORD):
                return None
        return workday_error(401, "Invalid username or password")

    def error(self, status: int, code: str, message: str) -> Response:
        return workday_error(status, message)

    def rate_limited(self, retry_after_s: float, window: RateWindow, faults: Faults) -> Response:
        return workday_error(429, "Too many requests", {"Retry-After": retry_after_header(retry_after_s)})

    def decorate(self, response: Response, window: RateWindow, faults: Faults) -> None:
        return None

    def public_paths(self) -> Sequence[str]:
        return ("/ccx/oauth2/",)

    async def reset(self) -> None:
        self.state.load()

    async def event(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("type")
        if kind == "change_worker":
            fields = body.get("fields")
            if not isinstance(fields, dict) or not fields:
                raise ValueError("change_worker needs a non-empty 'fields' object")
            stamp = self.state.change_worker(str(body.get("id", "")), fields)
            return {"id": str(body.get("id")), "Last_Updated": stamp}
        if kind in ("rename_columns", "drop_columns"):
            report, columns = str(body.get("report", "")), body.get("columns")
            if kind == "rename_columns" and isinstance(columns, dict):
                return {"columns": self.state.rename_columns(report, columns)}
            if kind == "drop_columns" and isinstance(columns, list):
                return {"columns": self.state.drop_columns(report, [str(c) for c in columns])}
            raise ValueError(f"{kind} needs 'report' and 'columns'")
        if kind == "revoke_tokens":
            revoked = len(self.state.tokens)
            self.state.tokens.clear()
            return {"revoked": revoked}
        raise ValueError(f"unknown event type {kind!r}")


def _prompts(request: Request, allowed: set[str]) -> dict[str, str]:
    params = request.query_params
    fmt = params.get("format", "json")
    if fmt != "json":
        raise PromptError(f"this tenant serves format=json only, not {fmt!r}")
    prompts = {k: v for k, v in params.items() if k != "format"}
    unknown = sorted(set(prompts) - allowed)
    if unknown:
        raise PromptError(f"The report has no prompt {unknown[0]!r}")
    return prompts


def _day(prompts: dict[str, str], name: str, *, required: bool = False) -> date | None:
    value = prompts.get(name)
    if value is None:
        if required:
            raise PromptError(f"Missing required prompt {name!r}")
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise PromptError(f"Invalid date for prompt {name!r}: {value!r}") from exc


Handler = Callable[[Request], Awaitable[Response]]


def _rejecting(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except PromptError as exc:
            return workday_error(400, str(exc))

    return wrapped


def _routes(vendor: WorkdayVendor) -> list[BaseRoute]:
    state = vendor.state

    async def report(request: Request) -> Response:
        owner, name = request.path_params["owner"], request.path_params["report"]
        if owner != ISU_USER or name not in (WORKERS_REPORT, TIME_OFF_REPORT):
            return workday_error(404, f"Report {owner}/{name} is not a web service report of this tenant")
        if name == WORKERS_REPORT:
            prompts = _prompts(request, {"Updated_Since"})
            return JSONResponse({"Report_Entry": state.worker_rows(_day(prompts, "Updated_Since"))})
        prompts = _prompts(request, {"Start_Date", "End_Date", "Status", "Worker!Employee_ID"})
        start, end = _day(prompts, "Start_Date", required=True), _day(prompts, "End_Date", required=True)
        assert start is not None and end is not None
        status = prompts.get("Status")
        if status is not None and status not in STATUSES:
            raise PromptError(f"Invalid value for prompt 'Status': {status!r}")
        rows = state.time_off_rows(start, end, status, prompts.get("Worker!Employee_ID"))
        return JSONResponse({"Report_Entry": rows})

    def rest_worker(row: dict[str, Any], request: Request) -> dict[str, Any]:
        href = f"{request.url.scheme}://{request.url.netloc}{REST_PATH}/workers/{row['wid']}"
        return {
            "id": row["wid"],
            "descriptor": row["worker"],
            "href": href,
            "workerId": row["employee_id"],
            "primaryWorkEmail": row["email"],
            "businessTitle": row["title"],
            "location": {"descriptor": row["location"]},
            "isManager": any(w["manager"] == row["employee_id"] for w in state.workers.values()),
        }

    async def workers(request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", REST_DEFAULT_LIMIT))
            offset = int(request.query_params.get("offset", 0))
        except ValueError as exc:
            raise PromptError("limit and offset must be integers") from exc
        if not 1 <= limit <= REST_MAX_LIMIT or offset < 0:
            raise PromptError(f"limit must be 1..{REST_MAX_LIMIT} and offset zero or more")
        rows = sorted(state.workers.values(), key=lambda r: int(r["employee_id"]))
        page = [rest_worker(r, request) for r in rows[offset : offset + limit]]
        return JSONResponse({"total": len(rows), "data": page})

    async def worker(request: Request) -> Response:
        found = next((r for r in state.workers.values() if r["wid"] == request.path_params["wid"]), None)
        if found is None:
            return workday_error(404, "Resource not found")
        return JSONResponse(rest_worker(found, request))

    async def token(request: Request) -> Response:
        basic = _basic(request)
        if basic is None or basic[0] != CLIENT_ID or not hmac.compare_digest(basic[1], CLIENT_SECRET):
            return JSONResponse({"error": "invalid_client"}, 401)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()}
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        if form.get("refresh_token") != REFRESH_TOKEN:
            return JSONResponse({"error": "invalid_grant"}, 400)
        access = secrets.token_urlsafe(24)
        state.tokens.add(access)
        return JSONResponse({"access_token": access, "token_type": "Bearer", "refresh_token": REFRESH_TOKEN})

    return [
        Route(f"{REPORTS_PATH}/{{owner}}/{{report}}", _rejecting(report), methods=["GET"]),
        Route(f"{REST_PATH}/workers", _rejecting(workers), methods=["GET"]),
        Route(f"{REST_PATH}/workers/{{wid}}", _rejecting(worker), methods=["GET"]),
        Route(TOKEN_PATH, token, methods=["POST"]),
    ]


def create_app(world: World) -> Starlette:
    vendor = WorkdayVendor(world)
    return build_simulator_app(vendor, _routes(vendor))


SIMULATOR = SimulatorInfo(
    vendor="workday",
    create_app=create_app,
    credentials={
        "tenant": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    },
    api_path=REPORTS_PATH,
)
"""The demo and the conformance suite sign in as the API client; `ISU_USER` / `ISU_PASSWORD` is Basic."""
