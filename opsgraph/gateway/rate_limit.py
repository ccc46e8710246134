"""Rate limits per caller: a token bucket of `burst` requests, refilled at `per_second`.

`MemoryBuckets` keeps the buckets in this process; `RedisBuckets` keeps them in Redis, taken by one
Lua script (read, refill, take and write in one atomic step), so every replica draws from the same
bucket. Time comes from the injected clock (tests advance a `ManualClock`); for Redis its wall time,
which the replicas share. When Redis cannot be reached the request is let through and a warning
logged: an outage of the limiter's store does not take the graph down.

`RateLimitMiddleware` takes one token per `/graphql` request (HTTP, and the WebSocket handshake) of
an authenticated caller, keyed by the caller's subject (anonymous callers by client address). An
empty bucket is a 429 with `Retry-After` (whole seconds) and a GraphQL error RATE_LIMITED, whose
`retryAfter` holds the exact wait.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from opsgraph.auth import Caller
from opsgraph.clock import Clock
from opsgraph.gateway.authn import caller_of
from opsgraph.gateway.demand_settings import RateLimitSettings
from opsgraph.gateway.errors import error_body
from opsgraph.gateway.http import negotiate

__all__ = [
    "RATE_LIMITED",
    "Buckets",
    "Decision",
    "MemoryBuckets",
    "RateLimitMiddleware",
    "RedisBuckets",
    "bucket_key",
    "buckets_for",
    "refuse",
]

RATE_LIMITED = "RATE_LIMITED"
KEY_PREFIX = "opsgraph:ratelimit:"
MAX_IDLE_BUCKETS = 10_000

log = logging.getLogger("opsgraph.rate_limit")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0


class Buckets(Protocol):
    async def take(self, key: str) -> Decision: ...

    async def close(self) -> None: ...


class MemoryBuckets:
    """Buckets in this process: key -> (tokens, when last refilled)."""

    def __init__(self, burst: int, per_second: float, clock: Clock) -> None:
        self.burst = burst
        self.per_second = per_second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key: str) -> Decision:
        now = self.clock.monotonic()
        tokens, then = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - then) * self.per_second)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > MAX_IDLE_BUCKETS:
                self._forget_full(now)
            return Decision(True)
        self._buckets[key] = (tokens, now)
        return Decision(False, (1 - tokens) / self.per_second)

    def _forget_full(self, now: float) -> None:
        """Drops the buckets that have refilled: they are as good as new."""
        refill_s = self.burst / self.per_second
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < refill_s}

    async def close(self) -> None:
        self._buckets.clear()


TAKE_SCRIPT = """
local burst = tonumber(ARGV[1])
local per_second = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now > at then
  tokens = math.min(burst, tokens + (now - at) * per_second)
  at = now
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / per_second
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / per_second * 1000) + 1000)
return {allowed, tostring(wait)}
"""
"""One atomic take: refill for the time since the last take, then take a token if there is one.
Numbers go back as strings (Redis truncates Lua floats to integers); the key expires once full."""


class RedisBuckets:
    def __init__(self, redis: Redis, burst: int, per_second: float, clock: Clock) -> None:
        self.redis = redis
        self.burst = burst
        self.per_second = per_second
        self.clock = clock
        self.script = redis.register_script(TAKE_SCRIPT)
        self.failures = 0

    @classmethod
    def from_url(cls, url: str, burst: int, per_second: float, clock: Clock) -> RedisBuckets:
        redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return cls(redis, burst, per_second, clock)

    async def take(self, key: str) -> Decision:
        args: list[int | float | str] = [self.burst, self.per_second, repr(self.clock.time())]
        try:
            allowed, wait = await self.script(keys=[KEY_PREFIX + key], args=args)
        except (RedisError, OSError) as exc:
            self.failures += 1
            log.warning("rate limit store unreachable, request let through: %s", type(exc).__name__)
            return Decision(True)
        return Decision(bool(int(allowed)), float(wait))

    async def close(self) -> None:
        await self.redis.aclose()


def buckets_for(settings: RateLimitSettings, redis_url: str | None, clock: Clock) -> Buckets | None:
    """The buckets `settings` ask for; None when rate limits are off."""
    if not settings.enabled:
        return None
    if settings.store == "redis":
        if redis_url is None:
            raise ValueError("rate_limit.store = redis needs redis_url")
        return RedisBuckets.from_url(redis_url, settings.burst, settings.per_second, clock)
    return MemoryBuckets(settings.burst, settings.per_second, clock)


def bucket_key(caller: Caller, scope: Scope) -> str:
    if caller.method == "anonymous":
        client = scope.get("client")
        return f"anonymous:{client[0] if client else 'unknown'}"
    return f"{caller.method}:{caller.subject}"


class RateLimitMiddleware:
    """Below `AuthMiddleware` (it needs the caller); `/graphql` only."""

    def __init__(self, app: ASGIApp, *, buckets: Buckets, path: str = "/graphql") -> None:
        self.app = app
        self.buckets = buckets
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = caller_of(scope) if scope["type"] in ("http", "websocket") else None
        if caller is None or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        decision = await self.buckets.take(bucket_key(caller, scope))
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        await refuse(scope, send, decision.retry_after_s)


async def refuse(scope: Scope, send: Send, retry_after_s: float) -> None:
    """The 429 (over WebSocket: the handshake refused, or the socket closed)."""
    wait = round(retry_after_s, 3)
    body = error_body(f"Too many requests: retry in {wait:g} s.", RATE_LIMITED, retryAfter=wait)
    media = negotiate(Headers(scope=scope).get("accept"))
    headers = [
        (b"content-type", f"{media}; charset=utf-8".encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(max(1, math.ceil(retry_after_s))).encode()),
    ]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": 429, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1013, "reason": RATE_LIMITED})
