"""Request size limits, as a pure-ASGI middleware: headers and body, each over its limit a 413.

The body is counted while it streams in, so an oversized body is never held in memory: a
`Content-Length` over the limit is refused before reading, and a chunked body is cut off at the
chunk that crosses the limit. The 413 is GraphQL-shaped JSON with `extensions.code`
REQUEST_TOO_LARGE. A websocket handshake is held to the header limit (its messages are bounded
by uvicorn's `ws_max_size`, see `demo.serve_app`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgraph.gateway.errors import error_body

__all__ = ["REQUEST_TOO_LARGE", "RequestSizeLimits", "header_bytes"]

REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"


class _BodyTooLarge(Exception):
    pass


def header_bytes(scope: Scope) -> int:
    """Bytes of the request line's target and the header lines, as sent (`name: value\\r\\n`)."""
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return target + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", ()))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestSizeLimits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if (size := header_bytes(scope)) > self.max_header_bytes:
            what = f"The request's headers are {size} bytes, more than the limit of {self.max_header_bytes}."
            await self._refuse(scope, send, what, "headers", self.max_header_bytes)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            what = f"The request body is {declared} bytes, more than the limit of {self.max_body_bytes}."
            await self._refuse(scope, send, what, "body", self.max_body_bytes)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            what = f"The request body is more than the limit of {self.max_body_bytes} bytes."
            await self._refuse(scope, send, what, "body", self.max_body_bytes)

    async def _refuse(self, scope: Scope, send: Send, message: str, limit: str, maximum: int) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1009, "reason": "headers too large"})
            return
        body = error_body(message, REQUEST_TOO_LARGE, limit=limit, maximum=maximum)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
