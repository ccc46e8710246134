"""A BambooHR API simulator: `/api/gateway.php/{companyDomain}/v1/...` over the shared world.

Wire details it keeps: HTTP Basic auth with the API key as username; JSON only when asked for
with `Accept: application/json`; errors as an empty body with the text in `X-BambooHR-Error-Message`;
a wrong company domain is a 404; over the rate limit a 503 (or, after the 2026 change, a 429)
with `Retry-After`. Batch reads use the cursor-paged `GET /employees?filter[ids]=...`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from opsgraph.connectors.bamboohr.webhooks import sign, signed_headers
from opsgraph.connectors.ids import is_digits
from simulators.bamboohr.sim_state import (
    LIST_DEFAULT_FIELDS,
    TIME_OFF_STATUSES,
    TIME_OFF_TYPES,
    FieldError,
    HrState,
    decode_cursor,
    encode_cursor,
    iso,
    parse_iso,
    render,
)
from simulators.simkit.admin import Faults, RateWindow, build_simulator_app, retry_after_header
from simulators.simkit.serve import SimulatorInfo
from simulators.world import World

API_KEY = "sim-bamboohr-key"
WEBHOOK_SECRET = "sim-bamboohr-webhook-secret"
"""What the demo subscribes the gateway's webhook route with (`subscribe_webhooks`)."""
COMPANY_DOMAIN = "opsgraphfirm"
GATEWAY = "/api/gateway.php/"
API_PATH = f"{GATEWAY}{COMPANY_DOMAIN}/v1"
ERROR_HEADER = "X-BambooHR-Error-Message"
MAX_PAGE_LIMIT = 2500  # documented: page[limit] 1..2500, default 250
DEFAULT_PAGE_LIMIT = 250
DIRECTORY_FIELDS = [
    {"id": "displayName", "type": "text", "name": "Display name"},
    {"id": "firstName", "type": "text", "name": "First name"},
    {"id": "lastName", "type": "text", "name": "Last name"},
    {"id": "preferredName", "type": "text", "name": "Preferred name"},
    {"id": "jobTitle", "type": "list", "name": "Job title"},
    {"id": "workEmail", "type": "email", "name": "Work email"},
    {"id": "department", "type": "list", "name": "Department"},
    {"id": "division", "type": "list", "name": "Division"},
    {"id": "location", "type": "list", "name": "Location"},
    {"id": "supervisor", "type": "employee", "name": "Supervisor"},
]


sign_webhook = sign
"""`X-BambooHR-Signature`: hex HMAC-SHA256 over the raw body followed by `X-BambooHR-Timestamp`."""


def bamboo_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """BambooHR's error shape: no body, the text in a header."""
    # A header carries ASCII only: echoed input such as '١٢' is escaped, not a crash.
    text = message.encode("ascii", "backslashreplace").decode()
    return Response(status_code=status, headers={ERROR_HEADER: text, **(headers or {})})


class BambooHRVendor:
    name = "bamboohr"

    def __init__(self, world: World) -> None:
        self.state = HrState(world)
        self.rate_limit_status = 503
        self.webhook: tuple[str, str] | None = None  # (url, secret) of `subscribe_webhooks`

    def check_auth(self, request: Request) -> Response | None:
        path = request.url.path
        if path.startswith(GATEWAY) and not path.startswith(API_PATH + "/"):
            return bamboo_error(404, "Company not found.")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            user = base64.b64decode(token, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if scheme.lower() != "basic" or not hmac.compare_digest(user, API_KEY):
            return bamboo_error(401, "Invalid API key.")
        if "application/json" not in request.headers.get("Accept", ""):
            return bamboo_error(406, "This simulator serves JSON only: send 'Accept: application/json'.")
        return None

    def error(self, status: int, code: str, message: str) -> Response:
        return bamboo_error(status, message)

    def rate_limited(self, retry_after_s: float, window: RateWindow, faults: Faults) -> Response:
        return bamboo_error(
            self.rate_limit_status,
            "API rate limit exceeded.",
            {"Retry-After": retry_after_header(retry_after_s)},
        )

    def decorate(self, response: Response, window: RateWindow, faults: Faults) -> None:
        return None

    def public_paths(self) -> Sequence[str]:
        return ()

    async def reset(self) -> None:
        self.state.load()
        self.rate_limit_status = 503
        self.webhook = None

    async def event(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("type")
        if kind == "change_employee":
            fields = body.get("fields")
            if not isinstance(fields, dict) or not fields:
                raise ValueError("change_employee needs a non-empty 'fields' object")
            employee_id = _employee_id(str(body.get("id", "")))
            try:
                stamp = None if employee_id is None else self.state.update(employee_id, fields)
            except FieldError as exc:
                raise ValueError(str(exc)) from exc
            if stamp is None:
                raise ValueError(f"no employee with id {body.get('id')!r}")
            delivered = await self._deliver("employee.updated", employee_id, sorted(fields))
            return {"id": str(employee_id), "lastChanged": stamp, "delivered": delivered}
        if kind == "delete_employee":
            employee_id = _employee_id(str(body.get("id", "")))
            stamp = None if employee_id is None else self.state.delete(employee_id)
            if stamp is None:
                raise ValueError(f"no employee with id {body.get('id')!r}")
            delivered = await self._deliver("employee.deleted", employee_id, [])
            return {"id": str(employee_id), "action": "Deleted", "lastChanged": stamp, "delivered": delivered}
        if kind == "subscribe_webhooks":
            url, secret = body.get("url"), body.get("secret")
            if not isinstance(url, str) or not isinstance(secret, str) or not secret:
                raise ValueError("subscribe_webhooks needs 'url' and 'secret' strings")
            self.webhook = (url, secret)
            return {"type": kind, "url": url}
        if kind == "set_rate_limit_status":
            status = body.get("status")
            if status not in (429, 503):
                raise ValueError("set_rate_limit_status needs 'status' 429 or 503")
            self.rate_limit_status = status
            return {"rateLimitStatus": status}
        raise ValueError(f"unknown event type {kind!r}")

    async def _deliver(self, kind: str, employee_id: int | None, changed: list[str]) -> int | None:
        """POST one signed webhook to the subscribed URL; its HTTP status (None: no subscriber)."""
        if self.webhook is None:
            return None
        url, secret = self.webhook
        now = int(time.time())
        payload = {
            "type": kind,
            "timestamp": now,
            "data": {"companyId": COMPANY_DOMAIN, "employeeId": str(employee_id), "changedFields": changed},
        }
        raw = json.dumps(payload).encode()
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=raw, headers=signed_headers(secret, raw, now)) as resp,
        ):
            return resp.status


def _employee_id(text: str) -> int | None:
    return int(text) if is_digits(text) else None


def _fields(request: Request) -> list[str]:
    return [f.strip() for f in request.query_params.get("fields", "").split(",") if f.strip()]


def _date_param(request: Request, name: str) -> date:
    value = request.query_params.get(name)
    if not value:
        raise FieldError(f"Missing required parameter: {name}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FieldError(f"Invalid date for {name}: {value!r}") from exc


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise FieldError("Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise FieldError("Request body must be a JSON object of field names to values")
    return body


Handler = Callable[[Request], Awaitable[Response]]


def _rejecting(handler: Handler) -> Handler:
    """Turn a `FieldError` into BambooHR's 400."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except FieldError as exc:
            return bamboo_error(400, str(exc))

    return wrapped


def _routes(vendor: BambooHRVendor) -> list[BaseRoute]:
    state = vendor.state

    async def directory(request: Request) -> Response:
        keys = [f["id"] for f in DIRECTORY_FIELDS]
        employees = [
            {"id": str(row["id"]), **render(row, keys), "photoUploaded": False, "photoUrl": None}
            for row in state.directory()
        ]
        return JSONResponse({"fields": DIRECTORY_FIELDS, "employees": employees})

    async def get_employee(request: Request) -> Response:
        employee_id = _employee_id(request.path_params["employee_id"])
        row = None if employee_id is None else state.employee(employee_id)
        if row is None:
            return bamboo_error(404, "Employee not found.")
        fields = _fields(request) or ["firstName", "lastName"]
        return JSONResponse({**render(row, fields), "id": str(row["id"])})

    async def list_employees(request: Request) -> Response:
        q = request.query_params
        unknown = [
            k
            for k in q
            if k.startswith("filter[") and k not in ("filter[ids]", "filter[ids][]", "filter[status]")
        ]
        if unknown:
            raise FieldError(f"Unsupported filter: {unknown[0]}")
        if q.get("sort", "employeeId") != "employeeId":
            raise FieldError(f"Unsupported sort: {q.get('sort')!r} (the simulator sorts by employeeId)")
        raw_ids = [
            part for v in (*q.getlist("filter[ids]"), *q.getlist("filter[ids][]")) for part in v.split(",")
        ]
        ids = None
        if "filter[ids]" in q or "filter[ids][]" in q:
            ids = [int(i) for i in (p.strip() for p in raw_ids) if is_digits(i)]
        try:
            limit = int(q.get("page[limit]", DEFAULT_PAGE_LIMIT))
        except ValueError as exc:
            raise FieldError("page[limit] must be an integer") from exc
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            raise FieldError(f"page[limit] must be between 1 and {MAX_PAGE_LIMIT}")
        after, before = q.get("page[after]"), q.get("page[before]")
        rows, total, more_after, more_before = state.page(
            ids=ids,
            status=q.get("filter[status]"),
            after=decode_cursor(after) if after else None,
            before=decode_cursor(before) if before else None,
            limit=limit,
        )
        fields = [*LIST_DEFAULT_FIELDS, *(f for f in _fields(request) if f not in LIST_DEFAULT_FIELDS)]
        data = [{**render(row, fields, unknown_as_null=False), "_restrictedFields": []} for row in rows]
        next_cursor = encode_cursor(rows[-1]["id"]) if rows and more_after else None
        prev_cursor = encode_cursor(rows[0]["id"]) if rows and more_before else None
        links: dict[str, Any] = {"self": {"href": str(request.url)}}
        base = request.url.remove_query_params(["page[after]", "page[before]"])
        if next_cursor:
            links["next"] = {"href": str(base.include_query_params(**{"page[after]": next_cursor}))}
        if prev_cursor:
            links["prev"] = {"href": str(base.include_query_params(**{"page[before]": prev_cursor}))}
        page = {"limit": limit, "nextCursor": next_cursor, "prevCursor": prev_cursor}
        return JSONResponse({"data": data, "meta": {"total": total, "page": page}, "_links": links})

    async def changed(request: Request) -> Response:
        since_text = request.query_params.get("since")
        if not since_text:
            raise FieldError("Missing required parameter: since")
        try:
            since = parse_iso(since_text)
        except ValueError as exc:
            raise FieldError(f"Invalid ISO 8601 timestamp for since: {since_text!r}") from exc
        kind = request.query_params.get("type")
        rows = [r for r in state.changed_since(since) if kind is None or r["action"].lower() == kind.lower()]
        employees = {
            str(r["id"]): {"id": str(r["id"]), "action": r["action"], "lastChanged": r["lastChanged"]}
            for r in rows
        }
        latest = max((r["lastChanged"] for r in rows), default=iso(since))
        return JSONResponse({"latest": latest, "employees": employees})

    async def update_employee(request: Request) -> Response:
        employee_id = _employee_id(request.path_params["employee_id"])
        fields = await _json_object(request)
        if employee_id is None or state.update(employee_id, fields) is None:
            return bamboo_error(404, "Employee not found.")
        return Response(status_code=200)

    async def create_employee(request: Request) -> Response:
        new_id = state.create(await _json_object(request))
        location = f"{request.url.scheme}://{request.url.netloc}{API_PATH}/employees/{new_id}"
        return Response(status_code=201, headers={"Location": location})

    async def time_off(request: Request) -> Response:
        start, end = _date_param(request, "start"), _date_param(request, "end")
        status = request.query_params.get("status")
        if status is not None and status not in TIME_OFF_STATUSES:
            raise FieldError(f"Invalid status: {status!r}")
        employee = request.query_params.get("employeeId")
        employee_id = _employee_id(employee) if employee else None
        if employee and employee_id is None:
            return JSONResponse([])
        return JSONResponse(
            [_time_off_record(row) for row in state.time_off(start, end, status, employee_id)]
        )

    def both(path: str, endpoint: Handler, method: str) -> list[BaseRoute]:
        """BambooHR answers with and without the trailing slash."""
        return [
            Route(f"{API_PATH}{path}", _rejecting(endpoint), methods=[method]),
            Route(f"{API_PATH}{path}/", _rejecting(endpoint), methods=[method]),
        ]

    return [
        *both("/employees/directory", directory, "GET"),
        *both("/employees/changed", changed, "GET"),
        *both("/employees", list_employees, "GET"),
        *both("/employees", create_employee, "POST"),
        *both("/employees/{employee_id}", get_employee, "GET"),
        *both("/employees/{employee_id}", update_employee, "POST"),
        *both("/time_off/requests", time_off, "GET"),
    ]


def _amount(days: float) -> str:
    return str(int(days)) if days == int(days) else f"{days:g}"


def _time_off_record(row: dict[str, Any]) -> dict[str, Any]:
    start, end = date.fromisoformat(row["start"]), date.fromisoformat(row["end"])
    span = (end - start).days + 1
    per_day = _amount(row["days"] / span)
    return {
        "id": str(row["id"]),
        "employeeId": str(row["employeeId"]),
        "status": {"lastChanged": row["lastChanged"], "lastChangedByUserId": "2369", "status": row["status"]},
        "name": row["name"],
        "start": row["start"],
        "end": row["end"],
        "created": row["created"],
        "type": {"id": TIME_OFF_TYPES.get(row["typeName"], "0"), "name": row["typeName"], "icon": "time-off"},
        "amount": {"unit": "days", "amount": _amount(row["days"])},
        "actions": {
            "view": True,
            "edit": False,
            "cancel": False,
            "approve": False,
            "deny": False,
            "bypass": False,
        },
        "dates": {(start + timedelta(days=i)).isoformat(): per_day for i in range(span)},
        "notes": {},
    }


def create_app(world: World) -> Starlette:
    vendor = BambooHRVendor(world)
    return build_simulator_app(vendor, _routes(vendor))


SIMULATOR = SimulatorInfo(
    vendor="bamboohr",
    create_app=create_app,
    credentials={"api_key": API_KEY, "company_domain": COMPANY_DOMAIN, "webhook_secret": WEBHOOK_SECRET},
    api_path=API_PATH,
    connector_path=API_PATH,
)
