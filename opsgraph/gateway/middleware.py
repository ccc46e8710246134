"""Correlation ids and the last line of defence against unexpected errors, as one pure-ASGI middleware.

Each HTTP or websocket request gets an id: the client's `X-Correlation-ID` when it is safe to
echo (at most 128 of `[A-Za-z0-9._-]`), else a fresh one. It is set in the `correlation_id`
context variable for the request (connectors forward it upstream) and returned in the
`X-Correlation-ID` header of every response. An exception that escapes the app becomes a
GraphQL-shaped 500 with code INTERNAL and the correlation id, and is logged with its stack;
the client never sees a traceback.
"""

from __future__ import annotations

import logging
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgraph.context import correlation_id, new_correlation_id
from opsgraph.gateway.errors import INTERNAL, error_body

__all__ = ["CORRELATION_HEADER", "CorrelationIdMiddleware", "valid_correlation_id"]

CORRELATION_HEADER = "X-Correlation-ID"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")

log = logging.getLogger("opsgraph.gateway")


def valid_correlation_id(value: str | None) -> bool:
    return value is not None and _VALID.fullmatch(value) is not None


class CorrelationIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(CORRELATION_HEADER)
        cid = incoming if incoming is not None and valid_correlation_id(incoming) else new_correlation_id()
        token = correlation_id.set(cid)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                started = True
                MutableHeaders(scope=message)[CORRELATION_HEADER] = cid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error in %s %s [correlation id %s]", scope.get("method"), scope["path"], cid
            )
            if started or scope["type"] != "http":
                raise
            await _send_internal_error(send, cid)
        finally:
            correlation_id.reset(token)


async def _send_internal_error(send: Send, cid: str) -> None:
    body = error_body("Internal server error", INTERNAL, correlationId=cid)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (CORRELATION_HEADER.lower().encode(), cid.encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
