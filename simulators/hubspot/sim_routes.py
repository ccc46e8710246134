"""The simulator's CRM routes: objects (list, get, batch/read, search), owners, associations v4."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from opsgraph.connectors.hubspot.mapping import format_datetime
from opsgraph.connectors.hubspot.resources import BATCH_LIMIT, PAGE_LIMIT, UNIQUE_PROPERTIES
from simulators.hubspot.sim_search import SearchError, search
from simulators.hubspot.sim_state import DEFAULT_PROPERTIES, PortalState

OBJECT_TYPES = ("companies", "deals")
OWNER_PAGE_LIMIT = 500
ASSOCIATION_INPUT_LIMIT = 1000
_SINGULAR = {"companies": "COMPANY", "deals": "DEAL"}


class HubSpotError(Exception):
    """An error response in HubSpot's body shape."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        sub_category: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.category, self.message = status, category, message
        self.sub_category, self.errors = sub_category, errors


def error_body(category: str, message: str, correlation_id: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id,
        "category": category,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    body["links"] = {"knowledge-base": "https://www.hubspot.com/products/service/knowledge-base"}
    return body


def policy_429(policy: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """HubSpot's 429 body: `errorType` RATE_LIMIT and the policy that was hit."""
    body = {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "requestId": uuid.uuid4().hex,
    }
    return JSONResponse(body, status_code=429, headers=headers)


def encode_cursor(position: int) -> str:
    return base64.b64encode(f"{position}\n".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor, validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise HubSpotError(
            400, "VALIDATION_ERROR", f"Invalid input: after={cursor!r} is not a valid cursor"
        ) from None


def _kind(request: Request) -> str:
    kind = str(request.path_params["kind"])
    if kind not in OBJECT_TYPES:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {kind}")
    return kind


def _limit(request: Request, maximum: int) -> int:
    raw = request.query_params.get("limit", "10")
    try:
        limit = int(raw)
    except ValueError:
        raise HubSpotError(400, "VALIDATION_ERROR", f"limit={raw!r} is not an integer") from None
    if not 1 <= limit <= maximum:
        raise HubSpotError(400, "VALIDATION_ERROR", f"limit must be between 1 and {maximum}, not {limit}")
    return limit


def _names(request: Request, kind: str) -> list[str]:
    raw = request.query_params.get("properties")
    return [n for n in raw.split(",") if n] if raw else list(DEFAULT_PROPERTIES[kind])


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Invalid input JSON: {exc}") from None
    if not isinstance(body, dict):
        raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")
    return body


def _page(
    request: Request, items: list[Any], limit: int, render: Callable[[Any], dict[str, Any]]
) -> Response:
    after = request.query_params.get("after")
    start = decode_cursor(after) if after else 0
    page = items[start : start + limit]
    out: dict[str, Any] = {"results": [render(i) for i in page]}
    if start + limit < len(items):
        cursor = encode_cursor(start + limit)
        link = str(request.url.include_query_params(after=cursor))
        out["paging"] = {"next": {"after": cursor, "link": link}}
    return JSONResponse(out)


def _stamp() -> str:
    return format_datetime(datetime.now(UTC))


def build_routes(state: PortalState) -> list[Route]:
    async def list_objects(request: Request) -> Response:
        kind = _kind(request)
        if request.query_params.get("archived", "false") == "true":
            return JSONResponse({"results": []})
        names = _names(request, kind)
        items = list(state.objects[kind].values())
        return _page(request, items, _limit(request, PAGE_LIMIT), lambda o: o.json(names))

    async def get_object(request: Request) -> Response:
        kind = _kind(request)
        id_property = request.query_params.get("idProperty")
        found = state.find(kind, str(request.path_params["object_id"]), id_property)
        if found is None:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "resource not found")
        return JSONResponse(found.json(_names(request, kind)))

    async def batch_read(request: Request) -> Response:
        kind = _kind(request)
        body = await _json(request)
        inputs, names = body.get("inputs"), body.get("properties") or list(DEFAULT_PROPERTIES[kind])
        id_property = body.get("idProperty")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
            raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: 'inputs' must be a list of {id}")
        if len(inputs) > BATCH_LIMIT:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Batch input limit exceeded: {len(inputs)} inputs, max {BATCH_LIMIT}",
            )
        if id_property not in (None, "hs_object_id") and id_property not in UNIQUE_PROPERTIES[kind]:
            raise HubSpotError(
                400, "VALIDATION_ERROR", f"Property {id_property!r} is not a unique identifier property"
            )
        requested, results, missing = _stamp(), [], []
        for value in dict.fromkeys(str(i["id"]) for i in inputs):
            found = state.find(kind, value, id_property)
            if found is None:
                missing.append(value)
            else:
                results.append(found.json(list(map(str, names))))
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "requestedAt": requested,
            "startedAt": requested,
            "completedAt": _stamp(),
        }
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {_SINGULAR[kind]} objects, they may be deleted "
                    "or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            ]
        return JSONResponse(out, status_code=207 if missing else 200)

    async def search_objects(request: Request) -> Response:
        kind = _kind(request)
        if state.search_rate is not None:  # search has its own per-second limit per token
            now = request.app.state.control.clock.monotonic()
            state.search_hits = [t for t in state.search_hits if now - t < 1.0]
            if len(state.search_hits) >= state.search_rate:
                return policy_429(
                    "SECONDLY",
                    "You have reached your secondly limit.",
                    {
                        "X-HubSpot-RateLimit-Secondly": str(state.search_rate),
                        "X-HubSpot-RateLimit-Secondly-Remaining": "0",
                    },
                )
            state.search_hits.append(now)
        try:
            return JSONResponse(search(state, kind, await _json(request)))
        except SearchError as exc:
            raise HubSpotError(400, "VALIDATION_ERROR", exc.message, exc.sub_category) from None

    async def list_owners(request: Request) -> Response:
        email = request.query_params.get("email")
        owners = [o for o in state.owners if email is None or o.email.lower() == email.lower()]
        return _page(request, owners, _limit(request, OWNER_PAGE_LIMIT), lambda o: o.json())

    async def get_owner(request: Request) -> Response:
        owner = next((o for o in state.owners if o.id == request.path_params["owner_id"]), None)
        if owner is None:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "resource not found")
        return JSONResponse(owner.json())

    async def associations(request: Request) -> Response:
        from_kind, to_kind = str(request.path_params["from_kind"]), str(request.path_params["to_kind"])
        if {from_kind, to_kind} != set(OBJECT_TYPES):
            raise HubSpotError(400, "VALIDATION_ERROR", f"Unknown association {from_kind} -> {to_kind}")
        body = await _json(request)
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
            raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: 'inputs' must be a list of {id}")
        if len(inputs) > ASSOCIATION_INPUT_LIMIT:
            raise HubSpotError(400, "VALIDATION_ERROR", f"Batch input limit is {ASSOCIATION_INPUT_LIMIT}")
        ids = list(dict.fromkeys(str(i["id"]) for i in inputs))
        found = state.associations(from_kind, ids)
        results = [
            {
                "from": {"id": i},
                "to": [
                    {
                        "toObjectId": int(to_id),
                        "associationTypes": [
                            {
                                "category": "HUBSPOT_DEFINED",
                                "typeId": t,
                                "label": "Primary" if t == 5 else None,
                            }
                            for t in types
                        ],
                    }
                    for to_id, types in found[i]
                ],
            }
            for i in ids
            if found.get(i)
        ]
        missing = [i for i in ids if not found.get(i)]
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": _stamp(),
            "completedAt": _stamp(),
        }
        if missing:
            out["numErrors"] = len(missing)
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": f"No {to_kind} is associated with {from_kind[:-1]} {i}.",
                    "context": {"fromObjectId": [i]},
                }
                for i in missing
            ]
        return JSONResponse(out, status_code=207 if missing else 200)

    async def update_object(request: Request) -> Response:
        """`PATCH /crm/v3/objects/{kind}/{id}` with `{"properties": {...}}`: only properties the
        object has (else 400 VALIDATION_ERROR); a unique property's value held by another object is
        409 CONFLICT; read-only `hs_*` properties are refused. Answers the object."""
        kind = _kind(request)
        found = state.find(kind, str(request.path_params["object_id"]), None)
        if found is None:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "resource not found")
        properties = (await _json(request)).get("properties")
        if not isinstance(properties, dict) or not properties:
            raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: 'properties' must be an object")
        bad = sorted(
            n for n in properties if n not in found.properties or n.startswith("hs_") or n == "createdate"
        )
        if bad:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Property values were not valid: unknown or read-only {', '.join(bad)}",
            )
        for name in UNIQUE_PROPERTIES[kind]:
            value = properties.get(name)
            holder = state.find(kind, str(value), name) if value not in (None, "") else None
            if holder is not None and holder.id != found.id:
                raise HubSpotError(
                    409, "CONFLICT", f"A {kind[:-1]} with {name}={value} already exists ({holder.id})"
                )
        now = datetime.now(UTC)
        found.properties.update(
            {n: None if v in (None, "") else str(v) for n, v in properties.items()},
            hs_lastmodifieddate=format_datetime(now),
        )
        found.updated_at = now
        return JSONResponse(found.json(list(found.properties)))

    return [
        Route("/crm/v3/objects/{kind}", list_objects, methods=["GET"]),
        Route("/crm/v3/objects/{kind}/batch/read", batch_read, methods=["POST"]),
        Route("/crm/v3/objects/{kind}/search", search_objects, methods=["POST"]),
        Route("/crm/v3/objects/{kind}/{object_id}", get_object, methods=["GET"]),
        Route("/crm/v3/objects/{kind}/{object_id}", update_object, methods=["PATCH"]),
        Route("/crm/v3/owners", list_owners, methods=["GET"]),
        Route("/crm/v3/owners/{owner_id}", get_owner, methods=["GET"]),
        Route("/crm/v4/associations/{from_kind}/{to_kind}/batch/read", associations, methods=["POST"]),
    ]
