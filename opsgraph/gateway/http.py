"""`/graphql` over HTTP: strawberry's ASGI view, brought in line with the GraphQL-over-HTTP spec.

What strawberry 0.341 already does: GET and POST, query/variables/operationName from the query
string or a JSON body, 405 for other methods, 400 for a body that is not JSON or has a
`query`/`variables` of the wrong type, refusing mutations over GET.

What this subclass adds:
- `application/graphql-response+json` when the client accepts it (strawberry always answers
  `application/json`); with it, a request error (parse, validation, variable coercion, a query
  limit: no `data`) is a 400, and any response with `data` is a 200. With `application/json`
  every well-formed request gets a 200.
- A request error response carries no `data` key (GraphQL spec: errors raised before execution).
- A mutation over GET is a 405 (strawberry: 400); an unsupported POST content type is a 415
  (strawberry: 400); every 405 carries `Allow: GET, POST`.
- A JSON body must be an object (or a list, refused: no batching) in UTF-8; anything else
  (`null`, a string, bad bytes, nesting past the parser's recursion limit) is a 400, not a crash.
- A document with several operations and no `operationName` is a 400 OPERATION_NAME_REQUIRED
  (`operations.py`; strawberry runs the first).
- Over WebSocket, request errors are graphql-transport-ws `error` messages (`websocket.py`).
- Transport errors are GraphQL-shaped JSON with `extensions.code = BAD_REQUEST`, in the
  negotiated media type (strawberry: plain text). Anything unexpected is masked by the
  correlation middleware (`middleware.py`) as a 500 with code INTERNAL.
- Persisted queries (`persisted.py`): a hash in `extensions.persistedQuery` resolves to its
  document (APQ or trusted documents) before the request runs.
- Our offline GraphiQL page (`graphiql.py`) for a browser GET with `Accept: text/html` and no
  query, instead of strawberry's CDN-loading IDE.
- The context is a `RequestContext` over the process's shared `Sources`, with the caller that
  `authn.py` authenticated (over WebSocket, `websocket.py` may replace it at `connection_init`).
- The whole-response cache (`response_cache.py`): the door (`door.py`) looked it up before anything
  ran and served the hits; here a miss is counted, run and stored. Response bodies are encoded with orjson.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.http.streaming import SSETransport
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult

from opsgraph.auth import Authenticator
from opsgraph.auth.policy import RowRule
from opsgraph.cache import ReadCache
from opsgraph.cache.responses import ResponseCache
from opsgraph.clock import Clock, SystemClock
from opsgraph.context import current_correlation_id
from opsgraph.events.service import EventService
from opsgraph.gateway.authn import caller_of
from opsgraph.gateway.errors import GRAPHQL_JSON, GRAPHQL_RESPONSE_JSON, INTERNAL, HTTPError, error_response
from opsgraph.gateway.graphiql import graphiql_html
from opsgraph.gateway.operations import OperationChoiceError
from opsgraph.gateway.persisted import PersistedQueries
from opsgraph.gateway.response_cache import LOOKUP_KEY, RESPONSE_CACHE_HEADER, Lookup, store
from opsgraph.gateway.websocket import GatewayTransportWSHandler
from opsgraph.resolvers.context import RequestContext
from opsgraph.resolvers.reads import ReadThrough
from opsgraph.resolvers.sources import Sources
from opsgraph.workflows import WorkflowEngine

__all__ = ["CHARSET", "GatewayState", "GraphQLView", "negotiate"]

CHARSET = "; charset=utf-8"

SUBSCRIPTION_PROTOCOLS = (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL)
"""Subscriptions over WebSocket (graphql-transport-ws, legacy graphql-ws) and over SSE (graphql-sse,
distinct connections mode: a POST or GET with `Accept: text/event-stream`), all on `/graphql`."""


@dataclass
class GatewayState:
    """What the app's lifespan hands to each request: the connectors, once they exist."""

    sources: Sources | None = None
    clock: Clock = field(default_factory=SystemClock)
    cache: ReadCache | None = None
    reporting_currency: str = "USD"
    workflows: WorkflowEngine | None = None
    events: EventService | None = None
    row_rule: RowRule | None = None
    """The policy's row rules (`resolvers/rows.py`), for callers with scopes."""
    responses: ResponseCache | None = None
    """The whole-response cache (None: off)."""

    def require_sources(self) -> Sources:
        if self.sources is None:
            raise RuntimeError("the gateway's sources are not started (lifespan not run?)")
        return self.sources


def negotiate(accept: str | None) -> str:
    """The response media type for an `Accept` header: graphql-response+json only when asked for.

    A missing header, `*/*`, `application/*` and anything unsupported give `application/json`
    (the spec's legacy-compatible choice). Between the two JSON types the higher q-value wins;
    on a tie the explicitly listed graphql-response+json wins.
    """
    if not accept:
        return GRAPHQL_JSON
    best_type, best_q = GRAPHQL_JSON, -1.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = _q_value(params)
        if q <= 0:
            continue
        if media == GRAPHQL_RESPONSE_JSON and q >= best_q:
            best_type, best_q = GRAPHQL_RESPONSE_JSON, q
        elif media in (GRAPHQL_JSON, "application/*", "*/*") and q > best_q:
            best_type, best_q = GRAPHQL_JSON, q
    return best_type


def _q_value(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0
    return 1.0


def _is_request_error(result: ExecutionResult) -> bool:
    """Errors before execution (no `data`): parse, validation, variable coercion, limits."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def _wants_graphiql(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


class GraphQLView(GraphQL[RequestContext, None]):
    graphql_transport_ws_handler_class = GatewayTransportWSHandler

    def __init__(
        self,
        schema: BaseSchema,
        state: GatewayState,
        *,
        graphiql: bool = True,
        authenticator: Authenticator | None = None,
        keep_alive_s: float = 15.0,
        persisted: PersistedQueries | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=SUBSCRIPTION_PROTOCOLS,
            keep_alive=True,  # legacy graphql-ws: `ka` messages
            keep_alive_interval=keep_alive_s,  # graphql-transport-ws: `ping` messages (websocket.py)
        )
        for transport in self._stream_transport_map.values():
            if isinstance(transport, SSETransport):
                transport.heartbeat_interval = keep_alive_s  # SSE: `: ping` comments
        self.state = state
        self.authenticator = authenticator
        self.persisted = persisted
        self.graphiql_page = graphiql_html() if graphiql else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        found: Lookup | None = None
        if self.graphiql_page is not None and _wants_graphiql(request):
            response: Response = HTMLResponse(self.graphiql_page)
        else:
            looked_up = scope.get(LOOKUP_KEY)  # the door's lookup (`door.py`): a miss or a bypass
            if isinstance(looked_up, Lookup):
                found = looked_up
                found.cache.count(found.result)
            try:
                response = await self.run(request)
            except HTTPException as exc:
                headers = exc.headers if isinstance(exc, HTTPError) else {}
                code = exc.code if isinstance(exc, HTTPError) else None
                if exc.status_code == 405:
                    headers = {"Allow": "GET, POST", **headers}
                media_type = negotiate(request.headers.get("accept")) + CHARSET
                response = error_response(
                    exc.status_code, exc.reason, media_type=media_type, headers=headers, code=code
                )
            if found is not None:
                body = getattr(response, "body", None)  # None: a stream
                if isinstance(body, bytes):
                    await store(found, response.status_code, body)
                response.headers[RESPONSE_CACHE_HEADER] = found.result
        await response(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        context = RequestContext.create(
            self.state.require_sources(),
            correlation_id=current_correlation_id(),
            clock=self.state.clock,
            cache=self.state.cache,
            reporting_currency=self.state.reporting_currency,
            workflows=self.state.workflows,
            caller=caller_of(request.scope),
            row_rule=self.state.row_rule,
        )
        context.bus = self.state.events.bus if self.state.events is not None else None
        found = request.scope.get(LOOKUP_KEY)
        if isinstance(found, Lookup) and found.key is not None:
            context.loaders.reads.tags = set()  # what the response holds: the tags it is dropped by
            found.reads = context.loaders.reads
        return context

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = negotiate(request.headers.get("accept"))
        return sub_response

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        return False  # `__call__` serves our own page; strawberry's would load from a CDN

    def encode_json(self, data: object) -> str:
        """Text: WebSocket messages must be text frames (strawberry sends bytes as binary ones)."""
        return encode_body(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        """JSON from a query parameter (`str`) or the request body (`bytes`, which must be an
        object or a list: strawberry would crash on `null`, a string or a number)."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            value = json.loads(text)
        except UnicodeDecodeError:
            raise HTTPError(400, "The request body is not valid UTF-8") from None
        except RecursionError:
            raise HTTPError(400, "The JSON is nested too deeply") from None
        if isinstance(data, bytes) and not isinstance(value, dict | list):
            raise HTTPError(400, "The request body must be a JSON object")
        return value

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if "application/json" not in content_type and not (
                self.multipart_uploads_enabled and content_type == "multipart/form-data"
            ):
                raise HTTPError(415, "Unsupported content type: send application/json")
        return await super().parse_http_body(request)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        if self.persisted is not None:
            await self.persisted.resolve(request_data)
        try:
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as exc:
            if isinstance(exc.__cause__, InvalidOperationTypeError) and request_adapter.method == "GET":
                raise HTTPError(405, f"{exc.reason}: use POST") from exc
            if isinstance(exc.__cause__, OperationChoiceError):
                raise HTTPError(400, exc.reason, code=exc.__cause__.code) from exc
            raise
        if request_adapter.method == "GET":
            sub_response.headers.update(cache_headers(result, context.loaders.reads))
        return result

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        data = await super().process_result(request, result)
        if _is_request_error(result):
            data.pop("data", None)
        return data

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or GRAPHQL_JSON
        status = sub_response.status_code or _status_for(response_data, media_type)
        response = Response(encode_body(response_data), status_code=status, media_type=media_type + CHARSET)
        response.headers.raw.extend(
            (name, value) for name, value in sub_response.headers.raw if name.lower() != b"content-type"
        )
        if sub_response.background:
            response.background = sub_response.background
        return response


def encode_body(data: object) -> bytes:
    """Compact JSON with orjson; the standard encoder where orjson refuses (an integer past 64 bits)."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()


def cache_headers(result: ExecutionResult, reads: ReadThrough) -> dict[str, str]:
    """`Cache-Control`/`Age` for a GET query whose every value came through the cache.

    `Age` is the age of the oldest value used; `max-age` counts from when that value was
    fetched, so `max-age - Age` is the response's remaining freshness (RFC 9111 4.2): the
    least remaining TTL among its values. `private`: values are scoped to the caller's
    authorization. Errors, stale data or any value read around the cache: `no-store`.
    """
    if result.errors or reads.warnings or reads.uncached or reads.min_ttl_s is None:
        return {"Cache-Control": "no-store"}
    remaining, age = int(reads.min_ttl_s), int(reads.max_age_s)
    if remaining <= 0:
        return {"Cache-Control": "no-store"}
    return {"Cache-Control": f"private, max-age={remaining + age}", "Age": str(age)}


def _status_for(response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], media_type: str) -> int:
    if media_type != GRAPHQL_RESPONSE_JSON or isinstance(response_data, list) or "data" in response_data:
        return 200
    codes = {_code(error) for error in response_data.get("errors") or ()}
    return 500 if codes == {INTERNAL} else 400


def _code(error: object) -> Any:
    extensions = error.get("extensions") if isinstance(error, Mapping) else None
    return extensions.get("code") if isinstance(extensions, Mapping) else None
