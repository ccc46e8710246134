"""What every simulator shares: request stats, injected faults and the `/_sim/` admin routes.

A vendor simulator supplies a `Vendor` (its auth check and its own error shapes)
and its routes; `build_simulator_app` wraps them so that each request is:
counted, delayed, failed or rate-limited as the faults say, auth-checked, served
and timed. Service time excludes injected latency, so benchmarks can separate
upstream time from gateway time.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgraph.clock import Clock, SystemClock


class Faults(BaseModel):
    """Injected misbehaviour, set through `PUT /_sim/faults`."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(0.0, ge=0)
    jitter_ms: float = Field(0.0, ge=0)
    error_rate: float = Field(0.0, ge=0, le=1)
    outage: bool = False
    garbage: bool = False
    """Answer authenticated calls with 200 and a body that is not the JSON it claims to be."""
    token_500: bool = False
    """Answer the token endpoint with the vendor's 500."""
    token_garbage: bool = False
    """Answer the token endpoint with 200 and a body that is not JSON."""
    error_text: str | None = None
    """The vendor's message in injected outages and errors (to check it never reaches a client)."""
    rate_limit: int | None = Field(None, ge=0, description="requests allowed per window; None is unlimited")
    rate_window_s: float = Field(15.0, gt=0)
    methods: list[str] | None = None
    """Aim latency, outage, error_rate and garbage at requests of these HTTP methods only (None: all)."""
    after: int = Field(0, ge=0)
    """Let the first `after` aimed requests (counted from this setting) through untouched."""


@dataclass
class RouteStats:
    count: int = 0
    service_ms_total: float = 0.0
    service_ms_max: float = 0.0

    def add(self, ms: float) -> None:
        self.count += 1
        self.service_ms_total += ms
        self.service_ms_max = max(self.service_ms_max, ms)


MAX_INTERVALS = 50_000
"""Request intervals kept for `/_sim/stats?intervals=1` (the oldest go first)."""


@dataclass
class SimStats:
    routes: dict[str, RouteStats] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    intervals: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=MAX_INTERVALS))
    """(arrival, end) of each request, wall-clock seconds: when the upstream was busy for a caller,
    injected latency included (a bench unions them across simulators: the upstream time as run)."""

    def record(self, key: str, status: int, ms: float, arrived: float) -> None:
        self.routes.setdefault(key, RouteStats()).add(ms)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.intervals.append((arrived, time.time()))

    def as_json(self) -> dict[str, Any]:
        total = sum(r.count for r in self.routes.values())
        service = sum(r.service_ms_total for r in self.routes.values())
        return {
            "total": total,
            "service_ms_total": round(service, 3),
            "service_ms_mean": round(service / total, 3) if total else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "routes": {
                k: {**asdict(v), "service_ms_mean": round(v.service_ms_total / v.count, 3)}
                for k, v in sorted(self.routes.items())
            },
        }


class RateWindow:
    """A fixed window counter: `limit` requests per `window_s` seconds, on the simulator's clock."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.started = self.clock.monotonic()
        self.used = 0

    def take(self, faults: Faults) -> float | None:
        """Count one request; return the seconds to wait when over the limit."""
        now = self.clock.monotonic()
        if now - self.started >= faults.rate_window_s:
            self.started, self.used = now, 0
        self.used += 1
        if faults.rate_limit is not None and self.used > faults.rate_limit:
            return max(0.0, faults.rate_window_s - (now - self.started))
        return None


class Vendor(Protocol):
    """The vendor-specific part of a simulator."""

    name: str

    def check_auth(self, request: Request) -> Response | None:
        """Return the vendor's own 401/400 when the request is not authenticated."""

    def error(self, status: int, code: str, message: str) -> Response:
        """An error in the vendor's own body shape."""

    def rate_limited(self, retry_after_s: float, window: RateWindow, faults: Faults) -> Response:
        """The vendor's rate-limit signal."""

    def decorate(self, response: Response, window: RateWindow, faults: Faults) -> None:
        """Add headers every response carries (for example Salesforce's `Sforce-Limit-Info`)."""

    def public_paths(self) -> Sequence[str]:
        """Path prefixes served without auth (token endpoints)."""

    async def reset(self) -> None:
        """Rebuild the vendor's state from the world."""

    async def event(self, body: dict[str, Any]) -> dict[str, Any]:
        """Apply a domain action done in the vendor's own UI; raise ValueError on a bad event."""


class SimControl:
    """Stats, faults and the rate window of one simulator.

    `clock` times the rate window: a test that shares its `ManualClock` with the client sees a
    window pass when the client's retry wait advances the clock, without sleeping.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.stats = SimStats()
        self.faults = Faults()
        self.window = RateWindow(self.clock)
        self.rng = random.Random(0)
        self.aimed = 0  # requests the faults were aimed at since they were set (for `after`)

    def aimed_at(self, method: str) -> bool:
        """Whether the faults apply to this request (its method, and past the first `after`)."""
        faults = self.faults
        if faults.methods is not None and method.upper() not in {m.upper() for m in faults.methods}:
            return False
        if faults.after:
            self.aimed += 1
            return self.aimed > faults.after
        return True

    def use_clock(self, clock: Clock) -> None:
        """Time the rate window by `clock` from now on (a fresh window)."""
        self.clock = clock
        self.window = RateWindow(clock)


class _SimMiddleware:
    """Counts, times and sabotages vendor requests; `/_sim/` routes pass straight through."""

    def __init__(
        self, app: ASGIApp, vendor: Vendor, control: SimControl, routes: Sequence[BaseRoute]
    ) -> None:
        self.app, self.vendor, self.control, self.routes = app, vendor, control, routes

    def _route_key(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL and isinstance(route, Route):
                return f"{scope['method']} {route.path}"
        return f"{scope['method']} {scope['path']}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim/"):
            await self.app(scope, receive, send)
            return
        arrived = time.time()
        control, vendor = self.control, self.vendor
        faults = control.faults if control.aimed_at(scope["method"]) else _aimed_elsewhere(control.faults)
        if faults.latency_ms or faults.jitter_ms:
            await asyncio.sleep((faults.latency_ms + control.rng.uniform(0, faults.jitter_ms)) / 1000)
        started = time.perf_counter()
        key = self._route_key(scope)
        request = Request(scope)
        early: Response | None = None
        public = any(scope["path"].startswith(p) for p in vendor.public_paths())
        if faults.outage:
            text = faults.error_text or "The service is temporarily unavailable."
            early = vendor.error(503, "SERVICE_UNAVAILABLE", text)
        elif public and faults.token_500:
            early = vendor.error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred (injected).")
        elif public and faults.token_garbage:
            early = _garbage()
        elif not public:
            early = vendor.check_auth(request)
            if early is None:
                wait = control.window.take(faults)
                if wait is not None:
                    early = vendor.rate_limited(wait, control.window, faults)
                elif faults.error_rate and control.rng.random() < faults.error_rate:
                    text = faults.error_text or "An unexpected error occurred (injected)."
                    early = vendor.error(500, "UNKNOWN_EXCEPTION", text)
                elif faults.garbage:
                    early = _garbage()

        status_holder: list[int] = [500]

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
            await send(message)

        if early is not None:
            vendor.decorate(early, control.window, faults)
            await early(scope, receive, send_wrapped)
        else:
            await self.app(scope, receive, _decorating_send(send_wrapped, vendor, control))
        control.stats.record(key, status_holder[0], (time.perf_counter() - started) * 1000, arrived)


def _aimed_elsewhere(faults: Faults) -> Faults:
    """The faults that still apply to a request they are not aimed at: the rate limit and token ones."""
    return faults.model_copy(update={"latency_ms": 0.0, "jitter_ms": 0.0, "error_rate": 0.0, "outage": False,
                                     "garbage": False})  # fmt: skip


def _garbage() -> Response:
    """A 200 that claims JSON and is the front of an HTML error page (a proxy's, cut short)."""
    return Response(b"<html><body>Service Temporarily Unavail", media_type="application/json")


def _decorating_send(send: Send, vendor: Vendor, control: SimControl) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            probe = Response()
            vendor.decorate(probe, control.window, control.faults)
            extra = [(k, v) for k, v in probe.raw_headers if k not in (b"content-length", b"content-type")]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


def _admin_routes(vendor: Vendor, control: SimControl) -> list[Route]:
    async def stats(request: Request) -> Response:
        if request.method == "DELETE":
            control.stats = SimStats()
        body = control.stats.as_json()
        if request.query_params.get("intervals") == "1":
            body["intervals"] = [[round(a, 6), round(b, 6)] for a, b in control.stats.intervals]
        return JSONResponse(body)

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            try:
                control.faults = Faults.model_validate(
                    {**control.faults.model_dump(), **await request.json()}
                )
            except (ValidationError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            control.window = RateWindow(control.clock)
            control.aimed = 0
        return JSONResponse(control.faults.model_dump())

    async def reset(request: Request) -> Response:
        await vendor.reset()
        control.stats, control.faults, control.window = SimStats(), Faults(), RateWindow(control.clock)
        control.aimed = 0
        return JSONResponse({"reset": True})

    async def events(request: Request) -> Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("event body must be a JSON object")
            return JSONResponse(await vendor.event(body))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return [
        Route("/_sim/stats", stats, methods=["GET", "DELETE"]),
        Route("/_sim/faults", faults, methods=["GET", "PUT"]),
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/events", events, methods=["POST"]),
    ]


Handler = Callable[[Request], Awaitable[Response]]


def build_simulator_app(vendor: Vendor, routes: Sequence[BaseRoute]) -> Starlette:
    """A Starlette app serving the vendor routes behind the shared simulator middleware."""
    control = SimControl()
    app = Starlette(routes=[*_admin_routes(vendor, control), *routes])
    app.state.control = control
    app.state.vendor = vendor

    async def not_found(request: Request, exc: Exception) -> Response:
        return vendor.error(404, "NOT_FOUND", f"The requested resource does not exist: {request.url.path}")

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return vendor.error(405, "METHOD_NOT_ALLOWED", f"HTTP method '{request.method}' not allowed.")

    async def crashed(request: Request, exc: Exception) -> Response:
        return vendor.error(500, "UNKNOWN_EXCEPTION", f"An unexpected error occurred: {type(exc).__name__}")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, method_not_allowed)
    app.add_exception_handler(Exception, crashed)
    app.add_middleware(_SimMiddleware, vendor=vendor, control=control, routes=routes)
    return app


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
