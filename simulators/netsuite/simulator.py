"""NetSuite SuiteTalk REST simulator: OAuth 2.0 M2M tokens, REST records and SuiteQL, over one SQLite.

Wire details reproduced (see `sim_state` for the record shapes):
- `POST /services/rest/auth/oauth2/v1/token` (client credentials); every other call needs
  `Authorization: Bearer <token>`, else 401 `INVALID_LOGIN` with a `WWW-Authenticate` header.
- `GET record/v1/{type}?limit=&offset=` lists ids only; `GET record/v1/{type}/{id|eid:x}`;
  `POST` creates (204 + `Location`, honouring `X-NetSuite-Idempotency-Key`), `PATCH` updates (204),
  `PUT .../eid:{externalId}` upserts (204).
- `POST query/v1/suiteql?limit=&offset=` with `Prefer: transient` and `{"q": ...}`: lower-case
  columns, string values, null columns omitted, `links: []` on each item. Aggregates with GROUP BY
  (`simkit.query`): a column is named by its alias, else `expr1`...; a sum or count is a number.
- Errors are RFC 7807 with `o:errorDetails`; over the concurrency budget, 429
  `CONCURRENCY_LIMIT_EXCEEDED` (NetSuite documents no `Retry-After`, so none is sent).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from opsgraph.connectors.ids import is_digits
from simulators.netsuite import sim_records as records
from simulators.netsuite.sim_auth import TokenStore, token_endpoint
from simulators.netsuite.sim_load import new_store
from simulators.netsuite.sim_records import RecordError
from simulators.netsuite.sim_state import (
    NUMERIC_KINDS,
    SUITEQL_KINDS,
    SUITEQL_TABLES,
    Kind,
    aggregate_encoder,
    suiteql_encoder,
)
from simulators.netsuite.sim_timebills import timebill_routes
from simulators.simkit.admin import Faults, RateWindow, build_simulator_app
from simulators.simkit.query import QueryCompiler, QueryError, Selected
from simulators.simkit.serve import SimulatorInfo
from simulators.world import World

ACCOUNT_ID = "1234567_SB1"
CREDENTIALS = {"account_id": ACCOUNT_ID, "client_id": "opsgraph-sim", "client_secret": "sim-netsuite-secret"}
API_PATH = "/services/rest"
TOKEN_PATH = f"{API_PATH}/auth/oauth2/v1/token"
MAX_LIMIT = 1000
MAX_IN_LIST = 1000  # Oracle's limit on an IN list
_NS_SEARCH = "Invalid search query. Detailed unprocessed description follows. Search error occurred: "
_TOO_MANY = f"{_NS_SEARCH}ORA-01795: maximum number of expressions in a list is {MAX_IN_LIST}."
_IN_LIST = re.compile(r" IN \(([?, ]+)\)")  # compiled SQL: every literal is a `?` parameter
ERROR_TYPE = "application/vnd.oracle.resource+json; type=error"
_SECTIONS = {400: "15.5.1", 401: "15.5.2", 403: "15.5.4", 404: "15.5.5", 405: "15.5.6", 409: "15.5.10",
             500: "15.6.1", 503: "15.6.4"}  # fmt: skip
_CODES = {"UNKNOWN_EXCEPTION": "UNEXPECTED_ERROR", "NOT_FOUND": "INVALID_URL"}
_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > "
    "Users/Roles > User Management > View Login Audit Trail."
)


def problem(status: int, code: str, detail: str, **where: str) -> JSONResponse:
    """An RFC 7807 error body as NetSuite sends it; `where` adds e.g. `o:errorPath`, `o:errorHeader`."""
    if status == 429:
        kind = "https://www.rfc-editor.org/rfc/rfc6585.html#section-4"
    else:
        kind = f"https://www.rfc-editor.org/rfc/rfc9110.html#section-{_SECTIONS.get(status, '15.5.1')}"
    item = {"detail": detail, "o:errorCode": code, **{f"o:{k}": v for k, v in where.items()}}
    body = {"type": kind, "title": HTTPStatus(status).phrase, "status": status, "o:errorDetails": [item]}
    return JSONResponse(body, status_code=status, media_type=ERROR_TYPE)


def _from(exc: RecordError) -> JSONResponse:
    return problem(exc.status, exc.code, exc.detail, **({"errorPath": exc.path} if exc.path else {}))


class NetSuiteSim:
    """The `Vendor` for NetSuite: auth, error shapes, state and domain events."""

    name = "netsuite"

    def __init__(self, world: World) -> None:
        self.world = world
        self.store = new_store(world)
        self.tokens = TokenStore()
        self.idempotency: dict[str, str] = {}  # X-NetSuite-Idempotency-Key -> Location
        self.compiler = QueryCompiler(SUITEQL_TABLES, "suiteql")
        self._counts: dict[tuple[str, tuple[Any, ...]], tuple[int, int]] = {}

    def count(self, sql: str, params: list[Any]) -> int:
        """`totalResults` of a query, cached until the next write (so paging a big result stays cheap)."""
        if " LIMIT " not in sql:
            sql = sql.split(" ORDER BY ")[0]  # order is irrelevant to a count; params are never inlined
        key, version = (sql, tuple(params)), self.store.db.total_changes
        hit = self._counts.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        if len(self._counts) > 512:
            self._counts.clear()
        total = int(self.store.scalar(f"SELECT COUNT(*) FROM ({sql})", params))
        self._counts[key] = (version, total)
        return total

    def check_auth(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.tokens.valid(token.strip()):
            return None
        response = problem(401, "INVALID_LOGIN", _LOGIN)
        response.headers["WWW-Authenticate"] = (
            f'Bearer realm="{ACCOUNT_ID}", error="invalid_token", error_description="Invalid login attempt."'
        )
        return response

    def error(self, status: int, code: str, message: str) -> Response:
        return problem(status, _CODES.get(code, code), message)

    def rate_limited(self, retry_after_s: float, window: RateWindow, faults: Faults) -> Response:
        return problem(
            429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked."
        )

    def decorate(self, response: Response, window: RateWindow, faults: Faults) -> None:
        return None

    def public_paths(self) -> list[str]:
        return [TOKEN_PATH]

    async def reset(self) -> None:
        self.store = new_store(self.world)
        self.idempotency.clear()
        self._counts.clear()

    async def event(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("type")
        if kind == "pay_invoice":
            return records.pay_invoice(self.store, str(body.get("id")))
        if kind == "close_period":
            return records.close_period(self.store, str(body.get("id")))
        if kind == "revoke_tokens":
            return {"type": "revoke_tokens", "revoked": self.tokens.revoke_all()}
        raise ValueError(f"unknown event type {kind!r}; expected pay_invoice, close_period or revoke_tokens")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + API_PATH


def _paging(request: Request) -> tuple[int, int]:
    values = {"limit": MAX_LIMIT, "offset": 0}
    for name in values:
        raw = request.query_params.get(name)
        if raw is None:
            continue
        low, high = (1, MAX_LIMIT) if name == "limit" else (0, 10**9)
        if not is_digits(raw) or not low <= int(raw) <= high:
            raise RecordError(
                400, "INVALID_PARAMETER", f"Invalid value for the query parameter {name}: {raw}."
            )
        values[name] = int(raw)
    return values["limit"], values["offset"]


def _links(url: str, limit: int, offset: int, total: int) -> list[dict[str, str]]:
    def href(at: int) -> str:
        return f"{url}?limit={limit}&offset={at}"

    last = max(0, (total - 1) // limit * limit)
    links = []
    if offset > 0:
        links += [
            {"rel": "previous", "href": href(max(0, offset - limit))},
            {"rel": "first", "href": href(0)},
        ]
    if offset + limit < total:
        links += [{"rel": "next", "href": href(offset + limit)}, {"rel": "last", "href": href(last)}]
    return [*links, {"rel": "self", "href": href(offset)}]


def _collection(url: str, items: list[Any], limit: int, offset: int, total: int) -> JSONResponse:
    body = {
        "links": _links(url, limit, offset, total),
        "count": len(items),
        "hasMore": offset + len(items) < total,
        "items": items,
        "offset": offset,
        "totalResults": total,
    }
    return JSONResponse(body, media_type="application/vnd.oracle.resource+json; type=collection")


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise RecordError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None


def _routes(sim: NetSuiteSim) -> list[Route]:
    async def token(request: Request) -> Response:
        return await token_endpoint(request, CREDENTIALS, sim.tokens, TOKEN_PATH)

    async def suiteql(request: Request) -> Response:
        try:
            if "transient" not in request.headers.get("prefer", "").lower():
                return problem(
                    400,
                    "INVALID_HEADER",
                    "The request header Prefer must be set to 'transient'.",
                    errorHeader="Prefer",
                )
            limit, offset = _paging(request)
            body = await _json_body(request)
            q = body.get("q") if isinstance(body, dict) else None
            if not isinstance(q, str):
                raise RecordError(
                    400, "INVALID_CONTENT", "The request body must carry the query in 'q'.", "q"
                )
            return _run_suiteql(sim, q, limit, offset, f"{_base(request)}/query/v1/suiteql")
        except RecordError as exc:
            return _from(exc)
        except QueryError as exc:
            return problem(400, "INVALID_PARAMETER", exc.message, errorQueryParam="q")

    async def collection(request: Request) -> Response:
        try:
            rt = records.record_type(request.path_params["rtype"])
            if request.method == "POST":
                return await _create(sim, request, rt)
            limit, offset = _paging(request)
            ids, total = records.list_ids(sim.store, rt, limit, offset)
            base = _base(request)
            items = [{"links": records.self_link(base, rt.name, i), "id": str(i)} for i in ids]
            return _collection(f"{base}/record/v1/{rt.name}", items, limit, offset, total)
        except RecordError as exc:
            return _from(exc)

    async def item(request: Request) -> Response:
        try:
            rt = records.record_type(request.path_params["rtype"])
            rid: str = request.path_params["rid"]
            strict = request.headers.get("x-netsuite-propertynamevalidation", "").lower() == "error"
            if request.method == "GET":
                row = records.find(sim.store, rt, rid)
                if row is None:
                    raise records.not_found()
                wanted = request.query_params.get("fields")
                fields = {f.strip().lower() for f in wanted.split(",")} if wanted else None
                expand = request.query_params.get("expandSubResources", "").lower() == "true"
                body = records.render(sim.store, rt, row, _base(request), fields=fields, expand=expand)
                return JSONResponse(body, media_type="application/vnd.oracle.resource+json; type=singular")
            if request.method == "DELETE":
                records.delete(sim.store, rt, rid)
                return Response(status_code=204)
            payload = await _json_body(request)
            if request.method == "PATCH":
                new_id = records.update(sim.store, rt, rid, payload, strict=strict)
            elif rid.startswith("eid:"):
                new_id, _ = records.upsert(sim.store, rt, rid[4:], payload, strict=strict)
            else:
                raise RecordError(
                    405, "METHOD_NOT_ALLOWED", "PUT is only supported with an eid: external id."
                )
            return Response(
                status_code=204, headers={"Location": f"{_base(request)}/record/v1/{rt.name}/{new_id}"}
            )
        except RecordError as exc:
            return _from(exc)
        except sqlite3.IntegrityError as exc:
            return _from(records.integrity_error(exc))

    return [
        *timebill_routes(sim, API_PATH, _from),  # ahead of the generic record routes
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route(f"{API_PATH}/query/v1/suiteql", suiteql, methods=["POST"]),
        Route(f"{API_PATH}/record/v1/{{rtype}}", collection, methods=["GET", "POST"]),
        Route(f"{API_PATH}/record/v1/{{rtype}}/{{rid}}", item, methods=["GET", "PATCH", "PUT", "DELETE"]),
    ]


async def _create(sim: NetSuiteSim, request: Request, rt: records.RecordType) -> Response:
    key = request.headers.get("x-netsuite-idempotency-key")
    if key and key in sim.idempotency:
        return Response(status_code=204, headers={"Location": sim.idempotency[key]})
    strict = request.headers.get("x-netsuite-propertynamevalidation", "").lower() == "error"
    payload = await _json_body(request)
    try:
        new_id = records.create(sim.store, rt, payload, strict=strict)
    except sqlite3.IntegrityError as exc:
        raise records.integrity_error(exc) from exc
    location = f"{_base(request)}/record/v1/{rt.name}/{new_id}"
    if key:
        sim.idempotency[key] = location
    return Response(status_code=204, headers={"Location": location})


def _run_suiteql(sim: NetSuiteSim, q: str, limit: int, offset: int, url: str) -> JSONResponse:
    compiled = sim.compiler.compile(q)
    if any(group.count("?") > MAX_IN_LIST for group in _IN_LIST.findall(compiled.sql)):
        raise RecordError(400, "INVALID_PARAMETER", _TOO_MANY)
    sql, params = compiled.sql, list(compiled.params)
    if compiled.limit is not None or compiled.offset is not None:  # the query's own window, then the page
        sql = f"SELECT * FROM ({sql} LIMIT ? OFFSET ?)"
        params += [-1 if compiled.limit is None else compiled.limit, compiled.offset or 0]
    total = sim.count(sql, params)
    kinds = SUITEQL_KINDS[compiled.table.name]
    columns = [(s.name, _encoder(s, kinds)) for s in compiled.selected]
    items = []
    for row in sim.store.execute(f"{sql} LIMIT ? OFFSET ?", [*params, limit, offset]):
        item: dict[str, Any] = {"links": []}
        for (name, encode), value in zip(columns, row, strict=True):
            if value is not None:  # NetSuite leaves empty columns out of the item
                item[name] = encode(value)
        items.append(item)
    return _collection(url, items, limit, offset, total)


def _encoder(selected: Selected, kinds: dict[str, Kind]) -> Callable[[Any], str]:
    kind = kinds[selected.path[-1]] if selected.path else None
    if selected.function is None:
        assert kind is not None
        return suiteql_encoder(kind)
    if selected.function in ("SUM", "AVG") and kind not in NUMERIC_KINDS:
        raise RecordError(400, "INVALID_PARAMETER", f"{_NS_SEARCH}ORA-01722: invalid number")
    return aggregate_encoder(selected.function, kind)


def create_app(world: World) -> Starlette:
    sim = NetSuiteSim(world)
    return build_simulator_app(sim, _routes(sim))


SIMULATOR = SimulatorInfo(
    vendor="netsuite",
    create_app=create_app,
    credentials=CREDENTIALS,
    api_path=API_PATH,
    connector_path=API_PATH,
)
