"""Authentication at the door, as a pure-ASGI middleware: every request but the open ones carries a
caller (`auth/`) or is refused before the GraphQL view sees it.

HTTP (SSE included): a 401 (503 when the issuer's keys can't be read) with a GraphQL error body,
`extensions.code` UNAUTHENTICATED and a `reason`, and `WWW-Authenticate: Bearer`. WebSocket: bad
credentials in the handshake's headers refuse the handshake the same way; without any, the
handshake goes on and the `connection_init` payload decides (`websocket.py`). Open: the endpoints in
`auth.open_paths`, the GraphiQL page and its static assets (no data), CORS preflights.

The caller goes into the ASGI scope (`caller_of`); the view puts it in the request context. A failure
is logged at INFO on `opsgraph.auth` with its reason and correlation id, never the credential, and
audited (`audit.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from opsgraph.auth import Authenticator, AuthFailure, Caller, credential_from_headers
from opsgraph.context import current_correlation_id
from opsgraph.gateway.audit import audit_unauthenticated
from opsgraph.gateway.errors import error_body
from opsgraph.gateway.graphiql import ASSET_PREFIX

__all__ = ["CALLER_KEY", "AuthMiddleware", "caller_of", "log_failure"]

CALLER_KEY = "opsgraph.caller"
GRAPHQL_PATH = "/graphql"

log = logging.getLogger("opsgraph.auth")


def caller_of(scope: Scope) -> Caller | None:
    caller = scope.get(CALLER_KEY)
    return caller if isinstance(caller, Caller) else None


def log_failure(failure: AuthFailure, transport: str, path: str = GRAPHQL_PATH) -> None:
    log.info(
        "unauthenticated %s request: %s [correlation id %s]",
        transport,
        failure.reason,
        current_correlation_id(),
    )
    audit_unauthenticated(failure, transport, path)


def wants_graphiql_page(scope: Scope) -> bool:
    """A browser asking for the GraphiQL page (`http.py` serves it): no data, so no credentials."""
    request = Request(scope)
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


class AuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        open_paths: Collection[str],
        graphiql: bool,
        open_prefixes: Collection[str] = (),
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.open_paths = frozenset(open_paths)
        self.open_prefixes = tuple(open_prefixes)
        self.graphiql = graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._is_open(scope):
            await self.app(scope, receive, send)
            return
        try:
            credential = credential_from_headers(Headers(scope=scope))
            if credential is None and scope["type"] == "websocket":
                caller = None  # the connection_init payload may carry credentials
            else:
                caller = await self.authenticator.authenticate(credential)
        except AuthFailure as failure:
            log_failure(failure, scope["type"], scope["path"])
            await _refuse(scope, send, failure)
            return
        scope[CALLER_KEY] = caller
        await self.app(scope, receive, send)

    def _is_open(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if path in self.open_paths:
            return True
        if scope["type"] != "http":
            return False
        if scope["method"] == "OPTIONS" or path.startswith(self.open_prefixes):
            return True
        return self.graphiql and (
            path.startswith(ASSET_PREFIX + "/") or (path == GRAPHQL_PATH and wants_graphiql_page(scope))
        )


def failure_body(failure: AuthFailure) -> bytes:
    return error_body(failure.message, failure.code, reason=failure.reason)


async def _refuse(scope: Scope, send: Send, failure: AuthFailure) -> None:
    body = failure_body(failure)
    challenge = 'Bearer realm="opsgraph"' + (', error="invalid_token"' if failure.presented else "")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", challenge.encode()),
    ]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": failure.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": failure.status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": failure.code})
