"""A Salesforce REST API (v60.0) simulator serving the world's accounts and opportunities.

OAuth client-credentials tokens, SOQL with query locators, sObject Collections reads and writes,
single-record CRUD and upsert by external id, error arrays, `Sforce-Limit-Info` and 403
`REQUEST_LIMIT_EXCEEDED`. See VENDOR_APIS.md for the wire contract.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.salesforce.sim_meta import API, OPPORTUNITY, SObject, sobject
from simulators.salesforce.sim_query import SoqlEngine, batch_size
from simulators.salesforce.sim_state import OrgState, SimError, normalise_id, not_found
from simulators.simkit.admin import Faults, RateWindow, build_simulator_app
from simulators.simkit.serve import SimulatorInfo
from simulators.world import World, salesforce_id

CREDENTIALS = {"client_id": "opsgraph-sim", "client_secret": "sim-salesforce-secret"}
DEFAULT_API_LIMIT = 5000
MAX_RETRIEVE_IDS = 2000
MAX_COLLECTION = 200
ORG_ID = salesforce_id("00D", 7)
USER_ID = salesforce_id("005", 7)


def sf_error(status: int, code: str, message: str, fields: Sequence[str] = ()) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code, "fields": list(fields)}], status_code=status)


class SalesforceVendor:
    """Auth, error shapes, limits, reset and UI events of the simulated org."""

    name = "salesforce"

    def __init__(self, world: World) -> None:
        self.state = OrgState(world)
        self.soql = SoqlEngine(self.state)
        self.tokens: set[str] = set()

    def check_auth(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "oauth") and token.strip() in self.tokens:
            return None
        return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def error(self, status: int, code: str, message: str) -> Response:
        return sf_error(status, code, message)

    def rate_limited(self, retry_after_s: float, window: RateWindow, faults: Faults) -> Response:
        return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def decorate(self, response: Response, window: RateWindow, faults: Faults) -> None:
        limit = faults.rate_limit if faults.rate_limit is not None else DEFAULT_API_LIMIT
        response.headers["Sforce-Limit-Info"] = f"api-usage={window.used}/{limit}"

    def public_paths(self) -> Sequence[str]:
        return ("/services/oauth2/",)

    async def reset(self) -> None:
        self.state.load()
        self.soql.reset()

    async def event(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("type")
        if kind == "revoke_tokens":
            revoked = len(self.tokens)
            self.tokens.clear()
            return {"type": kind, "revoked": revoked}
        if kind == "close_opportunity_won":
            row = self.state.get(OPPORTUNITY, str(body.get("id", "")))
            if row is None:
                raise ValueError(f"no such opportunity: {body.get('id')!r}")
            values = {"StageName": "Closed Won", "IsClosed": 1, "IsWon": 1, "Probability": 100.0}
            self.state.touch(OPPORTUNITY, row["Id"], values)
            return {"type": kind, "id": row["Id"]}
        if kind == "update_account":
            fields = body.get("fields")
            if not isinstance(fields, dict):
                raise ValueError("update_account needs 'fields': an object of Account fields")
            target = sobject("Account")
            assert target is not None
            try:
                record_id = self.state.update(target, str(body.get("id", "")), fields)
            except SimError as exc:
                raise ValueError(f"{exc.code}: {exc.message}") from None
            return {"type": kind, "id": record_id}
        raise ValueError(
            f"unknown event type {kind!r}; use close_opportunity_won, update_account, revoke_tokens"
        )

    # -- OAuth -----------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        # Parsed by hand: starlette's form parser needs python-multipart, which is not a dependency.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
            except ValueError:
                client_id = client_secret = None
        if grant != "client_credentials":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400
            )
        if client_id != CREDENTIALS["client_id"] or client_secret != CREDENTIALS["client_secret"]:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "invalid client credentials"}, 400
            )
        instance_url = str(request.base_url).rstrip("/")
        access_token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        self.tokens.add(access_token)
        identity = f"{instance_url}/id/{ORG_ID}/{USER_ID}"
        issued_at = str(int(time.time() * 1000))
        digest = hmac.new(
            CREDENTIALS["client_secret"].encode(), (identity + issued_at).encode(), hashlib.sha256
        )
        return JSONResponse(
            {
                "access_token": access_token,
                "instance_url": instance_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
                "signature": base64.b64encode(digest.digest()).decode(),
            }
        )


def _sobject(request: Request) -> SObject:
    s = sobject(request.path_params["sobject"])
    if s is None:
        raise not_found()
    return s


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise SimError(400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}") from None


def _object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SimError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object value"
        )
    return body


def _save_result(record_id: str | None, created: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created is not None:
        out["created"] = created
    return out


def _failed_result(exc: SimError, record_id: str | None = None) -> dict[str, Any]:
    error = {"statusCode": exc.code, "message": exc.message, "fields": exc.fields}
    return (
        {"id": record_id, "success": False, "errors": [error]}
        if record_id
        else {"success": False, "errors": [error]}
    )


def build_routes(vendor: SalesforceVendor) -> list[Route]:
    state = vendor.state

    async def query(request: Request) -> Response:
        soql = request.query_params.get("q")
        if not soql:
            raise SimError(400, "MALFORMED_QUERY", "A query string has to be specified")
        size = batch_size(request.headers.get("sforce-query-options"))
        return JSONResponse(vendor.soql.query(soql, size))

    async def query_more(request: Request) -> Response:
        header = request.headers.get("sforce-query-options")
        return JSONResponse(
            vendor.soql.more(request.path_params["locator"], batch_size(header) if header else None)
        )

    async def retrieve(request: Request) -> Response:
        s = _sobject(request)
        if request.method == "GET":
            ids = [i for i in request.query_params.get("ids", "").split(",") if i]
            names = [f for f in request.query_params.get("fields", "").split(",") if f]
        else:
            body = _object_body(await _json_body(request))
            raw_ids, raw_names = body.get("ids"), body.get("fields")
            if not isinstance(raw_ids, list) or not isinstance(raw_names, list):
                raise SimError(400, "JSON_PARSER_ERROR", "Request body needs 'ids' and 'fields' lists")
            ids, names = [str(i) for i in raw_ids], [str(f) for f in raw_names]
        if not ids or not names:
            raise SimError(400, "MISSING_ARGUMENT", "Both ids and fields are required")
        if len(ids) > MAX_RETRIEVE_IDS:
            raise SimError(
                400, "EXCEEDED_ID_LIMIT", f"Maximum number of ids in a request is {MAX_RETRIEVE_IDS}"
            )
        fields = state.fields_for(s, names)
        found = state.get_many(s, ids)
        out = []
        for i in ids:
            row = found.get(state_id) if (state_id := normalise_id(i)) else None
            out.append(state.record_json(s, row, fields) if row else None)
        return JSONResponse(out)

    async def create(request: Request) -> Response:
        s = _sobject(request)
        record_id = state.create(s, _object_body(await _json_body(request)))
        return JSONResponse(_save_result(record_id), 201)

    async def record(request: Request) -> Response:
        s = _sobject(request)
        record_id = request.path_params["record_id"]
        if request.method == "POST":  # POST /sobjects/{Type}/Id: upsert on Id with a null value = create
            if record_id != "Id":
                raise SimError(
                    405, "METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE"
                )
            new_id = state.create(s, _object_body(await _json_body(request)))
            return JSONResponse(_save_result(new_id, created=True), 201)
        if request.method == "PATCH":
            state.update(s, record_id, _object_body(await _json_body(request)))
            return Response(status_code=204)
        if request.method == "DELETE":
            state.delete(s, record_id)
            return Response(status_code=204)
        row = state.get(s, record_id)
        if row is None:
            raise not_found()
        names = request.query_params.get("fields")
        fields = state.fields_for(s, names.split(",")) if names else None
        return JSONResponse(state.record_json(s, row, fields))

    async def by_external_id(request: Request) -> Response:
        s = _sobject(request)
        field_name, value = request.path_params["field"], request.path_params["value"]
        f = s.field(field_name)
        if f is None or (f.name != "Id" and f.name not in s.external_ids):
            raise SimError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
            )
        matches = state.find_by(s, f.name, value)
        if len(matches) > 1:
            return JSONResponse([s.url(m["Id"]) for m in matches], 300)
        if request.method == "GET":
            if not matches:
                raise not_found()
            return JSONResponse(state.record_json(s, matches[0]))
        body = _object_body(await _json_body(request))
        if any(s.field(k) in (f, s.field("Id")) for k in body if k != "attributes"):
            raise SimError(
                400,
                "INVALID_FIELD",
                f"Field {f.name} is not allowed in the request body of an upsert by {f.name}",
            )
        if matches:
            record_id = state.update(s, matches[0]["Id"], body)
            return JSONResponse(_save_result(record_id, created=False), 200)
        if f.name == "Id":
            raise not_found()
        record_id = state.create(s, {**body, f.name: value})
        return JSONResponse(_save_result(record_id, created=True), 201)

    async def collection(request: Request) -> Response:
        body = _object_body(await _json_body(request))
        records, all_or_none = body.get("records"), bool(body.get("allOrNone", False))
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SimError(400, "JSON_PARSER_ERROR", "Request body needs 'records': a list of sObjects")
        if len(records) > MAX_COLLECTION:
            raise SimError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
            )
        results: list[dict[str, Any]] = []
        failed = False
        state.store.execute("BEGIN")
        try:
            for rec in records:
                try:
                    results.append(_collection_write(state, request.method, rec))
                except SimError as exc:
                    failed = True
                    results.append(_failed_result(exc))
        except BaseException:
            state.store.execute("ROLLBACK")
            raise
        if failed and all_or_none:
            state.store.execute("ROLLBACK")
            rolled = SimError(
                400,
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone "
                "header",
            )
            results = [
                r
                if not r["success"]
                else _failed_result(rolled, r["id"] if request.method == "PATCH" else None)
                for r in results
            ]
        else:
            state.store.execute("COMMIT")
        return JSONResponse(results)

    return [
        Route(f"{API}/query", query, methods=["GET"]),
        Route(f"{API}/query/{{locator}}", query_more, methods=["GET"]),
        Route(f"{API}/composite/sobjects", collection, methods=["POST", "PATCH"]),
        Route(f"{API}/composite/sobjects/{{sobject}}", retrieve, methods=["GET", "POST"]),
        Route(f"{API}/sobjects/{{sobject}}", create, methods=["POST"]),
        Route(
            f"{API}/sobjects/{{sobject}}/{{record_id}}", record, methods=["GET", "PATCH", "DELETE", "POST"]
        ),
        Route(
            f"{API}/sobjects/{{sobject}}/{{field}}/{{value:path}}", by_external_id, methods=["GET", "PATCH"]
        ),
    ]


def _collection_write(state: OrgState, method: str, rec: dict[str, Any]) -> dict[str, Any]:
    attributes = rec.get("attributes")
    type_name = attributes.get("type") if isinstance(attributes, dict) else None
    s = sobject(type_name) if isinstance(type_name, str) else None
    if s is None:
        raise SimError(400, "INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
    fields = {k: v for k, v in rec.items() if k.lower() != "id"}
    if method == "POST":
        if any(k.lower() == "id" for k in rec):
            raise SimError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        return _save_result(state.create(s, fields))
    record_id = next((v for k, v in rec.items() if k.lower() == "id"), None)
    if not isinstance(record_id, str):
        raise SimError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    return _save_result(state.update(s, record_id, fields))


async def _sim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SimError)
    return sf_error(exc.status, exc.code, exc.message, exc.fields)


def create_app(world: World) -> Starlette:
    vendor = SalesforceVendor(world)
    routes = [*build_routes(vendor), Route("/services/oauth2/token", vendor.token, methods=["POST"])]
    app = build_simulator_app(vendor, routes)
    app.add_exception_handler(SimError, _sim_error)
    return app


SIMULATOR = SimulatorInfo(
    vendor="salesforce",
    create_app=create_app,
    credentials=CREDENTIALS,
    api_path=API,
)
