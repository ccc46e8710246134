"""The response cache's door: the outermost ASGI layer, serving hits ahead of the middleware stack.

A hit through the whole stack paid for ten layers (tracing, correlation, request log, size limits,
authentication, rate limit, routing, the view), about 1 ms; here it costs what keying the request
and writing the stored bytes cost. For `/graphql` over HTTP the door:

1. reads the request as the stack would check it: headers over `max_header_bytes`, a body over
   `max_body_bytes` or credentials the authenticator refuses go on, untouched, to the stack, which
   answers them (413, 401) as always;
2. keys it and looks it up (`response_cache.py`); a miss or a bypass goes on to the stack, the
   lookup in the scope (the view counts it, runs the request and stores the response), the body it
   read replayed;
3. for a hit takes the caller's rate-limit token (a cached answer is cheap, but the limit is the
   caller's contract and protects the replicas' capacity: a caller over it gets the same 429 whether
   or not the answer was cached), then writes the stored bytes with every header the stack would
   add: the security headers (precomputed), the correlation id, CORS (the same `CORSMiddleware`
   logic); counts the hit and times it by operation (`opsgraph_request_duration_seconds`), and
   writes the request's log line.

A hit has no server span: there is nothing under it to trace (it is counted, timed and logged).
Authentication is cheap on repeat: API keys are one hash lookup, a verified JWT is remembered with
its time window (`auth/tokens.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgraph.auth import Authenticator, AuthFailure, Caller, credential_from_headers
from opsgraph.cache.responses import CachedResponse
from opsgraph.context import correlation_id, new_correlation_id
from opsgraph.gateway.http import CHARSET, GatewayState, negotiate
from opsgraph.gateway.middleware import CORRELATION_HEADER, valid_correlation_id
from opsgraph.gateway.rate_limit import Buckets, bucket_key, refuse
from opsgraph.gateway.response_cache import LOOKUP_KEY, hit_headers, lookup, lookup_key
from opsgraph.gateway.security_headers import API_CSP, SECURITY_HEADERS
from opsgraph.gateway.size_limits import header_bytes
from opsgraph.telemetry.access import request_done
from opsgraph.telemetry.metrics import Metrics
from opsgraph.telemetry.record import RequestRecord

__all__ = ["ResponseCacheDoor"]

_STATIC_HEADERS = [
    *((name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()),
    (b"content-security-policy", API_CSP.encode()),
]
"""What `SecurityHeaders` adds to every JSON response."""
_CORRELATION = CORRELATION_HEADER.lower().encode()
_READ = frozenset(
    {b"authorization", b"x-api-key", b"content-type", b"accept", b"cache-control", _CORRELATION}
)


class ResponseCacheDoor:
    def __init__(
        self,
        app: ASGIApp,
        *,
        state: GatewayState,
        authenticator: Authenticator,
        open_paths: Collection[str],
        buckets: Buckets | None,
        metrics: Metrics | None,
        resolves: Callable[[str], bool],
        max_body_bytes: int,
        max_header_bytes: int,
        cors: CORSMiddleware | None = None,
        path: str = "/graphql",
    ) -> None:
        """`resolves(hash)`: whether a hash-only request would run (`PersistedQueries.resolves`);
        `cors`: the app's CORS layer (its response logic is reused), None without CORS."""
        self.app = app
        self.state = state
        self.authenticator = authenticator
        self.open = path in open_paths
        self.buckets = buckets
        self.metrics = metrics
        self.resolves = resolves
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.cors = cors
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = self.state.responses
        if cache is None or scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers: dict[bytes, bytes] = {}
        declared = -1
        for name, value in scope["headers"]:
            if name in _READ and name not in headers:  # the first of each, as `Headers.get` reads
                headers[name] = value
            elif name == b"content-length" and declared < 0:
                declared = int(value) if value.isdigit() else self.max_body_bytes + 1
        if header_bytes(scope) > self.max_header_bytes or declared > self.max_body_bytes:
            await self.app(scope, receive, send)  # the stack's 413, before the body is sent
            return
        body, read = b"", list[Message]()
        if scope["method"] == "POST":
            body, read, whole = await self._read_body(receive)
            if not whole:
                await self.app(scope, _replaying(read, receive), send)  # the stack's 413 (or a disconnect)
                return
        try:
            caller = await self._caller(headers)
        except AuthFailure:
            await self.app(scope, _replaying(read, receive), send)  # the stack's 401 (logged, audited)
            return
        try:
            key = lookup_key(
                scope["method"],
                scope["query_string"],
                headers.get(b"content-type", b"").decode("latin-1"),
                headers.get(b"accept", b"").decode("latin-1"),
                body,
                caller,
                self.resolves,
            )
        except Exception:  # whatever a request this odd is, the stack answers it (with its 400s, 500s)
            key = None
        found = await lookup(cache, key, headers.get(b"cache-control", b"").decode("latin-1"))
        if found.entry is None or caller is None:
            scope[LOOKUP_KEY] = found
            await self.app(scope, _replaying(read, receive), send)
            return
        incoming = headers.get(_CORRELATION)
        sent_cid = incoming.decode("latin-1") if incoming is not None else None
        cid = sent_cid if sent_cid is not None and valid_correlation_id(sent_cid) else new_correlation_id()
        token = correlation_id.set(cid)
        try:
            record = RequestRecord(cid)
            decorated = self._decorated(scope, send, cid)
            status = await self._answer(scope, decorated, caller, found.entry, headers)
            if status == 200:
                cache.count("hit")
                record.operation_name, record.operation_type = found.entry.operation, "query"
            request_done(scope, record, status, started, self.metrics)
        finally:
            correlation_id.reset(token)

    async def _answer(
        self, scope: Scope, send: Send, caller: Caller, entry: CachedResponse, headers: dict[bytes, bytes]
    ) -> int:
        """The hit, or the 429 when the caller's bucket is empty; returns the status sent."""
        if self.buckets is not None:
            decision = await self.buckets.take(bucket_key(caller, scope))
            if not decision.allowed:
                await refuse(scope, send, decision.retry_after_s)
                return 429
        accept = headers.get(b"accept")
        media = (negotiate(accept.decode("latin-1") if accept else None) + CHARSET).encode()
        now = self.state.clock.time()
        start_headers = hit_headers(entry, media, get=scope["method"] == "GET", now=now)
        await send({"type": "http.response.start", "status": 200, "headers": start_headers})
        await send({"type": "http.response.body", "body": entry.body})
        return 200

    async def _caller(self, headers: dict[bytes, bytes]) -> Caller | None:
        """The caller as `AuthMiddleware` would authenticate it (None: `/graphql` is open)."""
        if self.open:
            return None
        wanted = (b"authorization", b"x-api-key")
        credential = credential_from_headers(
            {name.decode(): headers[name].decode("latin-1") for name in wanted if name in headers}
        )
        return await self.authenticator.authenticate(credential)

    async def _read_body(self, receive: Receive) -> tuple[bytes, list[Message], bool]:
        """The body, the messages read, and whether it is whole (not over the limit, no disconnect)."""
        read: list[Message] = []
        size = 0
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                return b"", read, False
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                return b"", read, False
            if not message.get("more_body", False):
                break
        body = read[0].get("body", b"") if len(read) == 1 else b"".join(m.get("body", b"") for m in read)
        return body, read, True

    def _decorated(self, scope: Scope, send: Send, cid: str) -> Send:
        """`send` adding the headers the stack adds to every response."""
        own = [*_STATIC_HEADERS, (_CORRELATION, cid.encode())]
        cors, request_headers = self.cors, Headers(scope=scope) if self.cors is not None else None

        async def decorated(message: Message) -> None:
            if message["type"] != "http.response.start":
                await send(message)
                return
            message["headers"] = [*message["headers"], *own]
            if cors is not None and request_headers is not None:
                await cors.send(message, send, request_headers)
            else:
                await send(message)

        return decorated


def _replaying(read: list[Message], receive: Receive) -> Receive:
    """`receive` giving back the messages the door already read, first."""
    if not read:
        return receive
    pending = list(read)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
