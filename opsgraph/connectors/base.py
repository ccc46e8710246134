"""The shared connector base: every vendor client is a `SourceClient` subclass.

The base owns the resilience every source needs, so a vendor kit only supplies its
wire details through a few hooks (auth headers, its rate-limit signal, its error shape):

- one aiohttp session per source with a connection limit, and a concurrency bulkhead;
- a timeout per request;
- retries with jittered backoff for idempotent reads only, honouring the vendor's
  `Retry-After` or limit signal (up to `retry_max_wait_s`; longer waits fail fast);
- a circuit breaker (`breaker.py`) that only the system's own failures move: a 5xx, a timeout,
  a refused connection or a garbage 2xx, never a 4xx our request earned;
- every attempt counted once (`health.py`), token requests included (they go through `request`);
- `X-Correlation-ID` and the W3C trace context (`traceparent`) on every call, an OpenTelemetry
  span per call (system, role, vendor, method, route, status, retries), and the call on the
  request's log record (`telemetry/record.py`).

Time (retry waits, breaker resets, token expiry) comes from an injected `Clock`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import aiohttp
from opentelemetry import propagate, trace
from pydantic import BaseModel, ConfigDict, Field

from opsgraph.clock import Clock, SystemClock
from opsgraph.connectors.breaker import CircuitBreaker, CircuitState, Permit
from opsgraph.connectors.errors import (
    SourceBadResponse,
    SourceDataError,
    SourceError,
    SourceRateLimited,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from opsgraph.connectors.health import SYSTEM_FAILURES, FailureReason, SourceHealth
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.context import current_correlation_id
from opsgraph.model import Role
from opsgraph.telemetry.record import current_record

__all__ = [
    "Authenticator",
    "CircuitBreaker",
    "CircuitState",
    "Shape",
    "SourceBadResponse",
    "SourceClient",
    "SourceConfig",
    "SourceDataError",
    "SourceError",
    "SourceHealth",
    "SourceRateLimited",
    "SourceRejected",
    "SourceTimeout",
    "SourceUnavailable",
    "UpstreamResponse",
]

_tracer = trace.get_tracer("opsgraph.connectors")

Shape = Callable[[Any], str | None]
"""A check of a successful body's shape: None when it is as expected, else what is wrong with it."""


class SourceConfig(BaseModel):
    """Where a source lives and how hard to try. Filled from settings (`OPSGRAPH_<SOURCE>__*`)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str
    credentials: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(10.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    retry_backoff_s: float = Field(0.1, ge=0)
    retry_max_wait_s: float = Field(5.0, ge=0)
    breaker_failure_threshold: int = Field(5, ge=1)
    breaker_reset_s: float = Field(15.0, gt=0)
    max_concurrency: int = Field(16, ge=1)
    connection_limit: int = Field(32, ge=1)
    options: dict[str, Any] = Field(default_factory=dict)
    """What only this vendor's kit knows how to read (a report's column map, say); the kit's settings
    model checks it at start."""


class Authenticator(Protocol):
    """What `toolkit.auth` objects give a client: headers, and a way to drop a refused token."""

    refreshable: bool

    async def headers(self) -> dict[str, str]: ...

    def invalidate(self) -> None: ...


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: Any
    url: str


class SourceClient:
    """Base for vendor clients. Subclasses set `vendor` and `role` and override the hooks below.

    `system` is the configured system's name (`psa-na`; the vendor's name when not given): records
    carry it, errors name it, metrics and breakers are per system.
    """

    vendor: ClassVar[str]
    role: ClassVar[Role]

    def __init__(
        self, config: SourceConfig, *, system: str | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._system = system or self.vendor
        self.clock: Clock = clock or SystemClock()
        self.breaker = CircuitBreaker(config.breaker_failure_threshold, config.breaker_reset_s, self.clock)
        self.health = SourceHealth()
        self._bulkhead = asyncio.Semaphore(config.max_concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._rng = random.Random()
        self.authenticator: Authenticator | None = None  # set by kits that use `toolkit.auth`

    @property
    def system(self) -> str:
        """The configured name of this system (`psa-emea`), not its vendor."""
        return self._system

    # -- hooks ---------------------------------------------------------------------------------

    async def auth_headers(self) -> dict[str, str]:
        return await self.authenticator.headers() if self.authenticator is not None else {}

    def auth_expired(self, response: UpstreamResponse) -> bool:
        """A 401 worth one retry with a fresh token; a static token cannot be refreshed."""
        refreshable = self.authenticator is None or self.authenticator.refreshable
        return response.status == 401 and refreshable

    def invalidate_auth(self) -> None:
        """Drop a cached token so the next `auth_headers()` fetches a new one."""
        if self.authenticator is not None:
            self.authenticator.invalidate()

    def retry_after(self, response: UpstreamResponse) -> float | None:
        """The vendor's rate-limit signal as seconds to wait, or None when this is not a rate limit."""
        if response.status == 429:
            return retry_after_header(response.headers, self.clock) or 1.0
        return None

    def error_detail(self, response: UpstreamResponse) -> tuple[str | None, str]:
        """(vendor error code, message) from the vendor's error body."""
        return None, f"HTTP {response.status}"

    # -- transport -----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.config.base_url.rstrip("/") + "/" + path.lstrip("/")

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.config.connection_limit, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def raw_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        """One HTTP exchange: no auth, retry, counting or breaker. Raises `SourceBadResponse` on a
        2xx that claims JSON and is not."""
        all_headers = {"X-Correlation-ID": current_correlation_id(), **(headers or {})}
        propagate.inject(all_headers)  # `traceparent` (and `tracestate`) of the current call's span
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        async with self.session().request(
            method, self.url(path), params=params, json=json, data=data, headers=all_headers, timeout=timeout
        ) as resp:
            raw = await resp.read()
            return UpstreamResponse(resp.status, resp.headers, _decode(self.system, resp, raw), str(resp.url))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
        ok: Collection[int] = (200,),
        expect: Shape | None = None,
        auth: bool = True,
    ) -> UpstreamResponse:
        """A call with the full resilience policy; raises a `SourceError` unless `ok`.

        `retry` defaults to True for GET only: writes are never retried blindly. Pass
        `retry=True` for read-only POSTs such as SuiteQL or a composite read. `expect` checks
        the shape of an `ok` body; a body that fails it is a `SourceBadResponse` (the system
        failing). `auth=False` sends no auth headers: the token request itself.
        """
        retry = method.upper() == "GET" if retry is None else retry
        attempt, reauthed = 0, False
        route = urlsplit(path).path  # the path alone: no host (an absolute URL), no query
        # No exception events or descriptions on the span: a vendor's error text stays in the logs.
        with _tracer.start_as_current_span(
            f"{self.system} {method}",
            kind=trace.SpanKind.CLIENT,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            span.set_attributes(
                {
                    "opsgraph.system": self.system,
                    "opsgraph.role": self.role.value,
                    "opsgraph.vendor": self.vendor,
                    "opsgraph.correlation_id": current_correlation_id(),
                    "http.request.method": method,
                    "url.path": route,
                    "opsgraph.retries": 0,
                }
            )
            record = current_record()
            while True:
                # Auth first, outside the breaker permit and the bulkhead: a token request is a
                # `request` of its own, with its own permit, retries and counting.
                all_headers = (
                    {**(await self.auth_headers()), **(headers or {})} if auth else dict(headers or {})
                )
                outcome = await self._attempt(
                    method,
                    path,
                    params=params,
                    json=json,
                    data=data,
                    headers=all_headers,
                    ok=ok,
                    expect=expect,
                )
                if isinstance(outcome, UpstreamResponse):
                    span.set_attribute("http.response.status_code", outcome.status)
                    if record is not None:
                        record.upstream(self.system, ok=True)
                    return outcome
                error, response = outcome
                if response is not None:
                    span.set_attribute("http.response.status_code", response.status)
                    if auth and not reauthed and self.auth_expired(response):
                        self.invalidate_auth()
                        reauthed = True
                        continue
                delay = self._backoff(attempt, error)
                if not retry or attempt >= self.config.max_retries or delay is None:
                    span.set_status(trace.Status(trace.StatusCode.ERROR, error.code))
                    if record is not None:
                        record.upstream(self.system, ok=False)
                    raise self._fail(error)
                attempt += 1
                span.set_attribute("opsgraph.retries", attempt)
                await self.clock.sleep(delay)

    async def _attempt(
        self,
        method: str,
        path: str,
        *,
        ok: Collection[int],
        expect: Shape | None,
        **kwargs: Any,
    ) -> UpstreamResponse | tuple[SourceError, UpstreamResponse | None]:
        """One attempt under a breaker permit, counted once: the response, or (error, response)."""
        permit = self.breaker.admit()
        if permit is None:
            self.health.short_circuited()
            trace.get_current_span().set_status(trace.Status(trace.StatusCode.ERROR, "circuit open"))
            raise self._fail(SourceUnavailable(self.system, "circuit open: the source is failing"))
        try:
            return await self._exchange(permit, method, path, ok=ok, expect=expect, **kwargs)
        finally:
            self.breaker.abandon(permit)  # a no-op once settled; ends a cancelled trial

    async def _exchange(
        self,
        permit: Permit,
        method: str,
        path: str,
        *,
        ok: Collection[int],
        expect: Shape | None,
        **kwargs: Any,
    ) -> UpstreamResponse | tuple[SourceError, UpstreamResponse | None]:
        response: UpstreamResponse | None = None
        error: SourceError
        started = time.perf_counter()
        try:
            async with self._bulkhead:
                self.health.sent()
                response = await self.raw_request(method, path, **kwargs)
        except TimeoutError:
            error, reason = (
                SourceTimeout(self.system, f"no answer within {self.config.timeout_s:g}s"),
                FailureReason.TIMEOUT,
            )
        except aiohttp.ClientError as exc:
            error = SourceUnavailable(self.system, f"connection failed: {type(exc).__name__}")
            reason = FailureReason.CONNECTION
        except SourceBadResponse as exc:
            error, reason = exc, FailureReason.BAD_RESPONSE
        else:
            self.health.observe((time.perf_counter() - started) * 1000, urlsplit(path).path)
            wait = self.retry_after(response)
            problem = expect(response.body) if expect is not None and 200 <= response.status < 300 else None
            if response.status in ok and wait is None and problem is None:
                self.breaker.settle(permit, ok=True)
                self.health.circuit(self.breaker.state is not CircuitState.CLOSED)
                self.health.last_ok_at = self.clock.time()
                return response
            if problem is not None and wait is None:
                error = SourceBadResponse(
                    self.system, f"unexpected response: {problem}", status=response.status
                )
                reason = FailureReason.BAD_RESPONSE
            else:
                error, reason = self._classify(response, wait)
        self.health.attempt_failed(reason)
        self.breaker.settle(permit, ok=reason not in SYSTEM_FAILURES)
        self.health.circuit(self.breaker.state is not CircuitState.CLOSED)
        return error, response

    def _classify(self, response: UpstreamResponse, wait: float | None) -> tuple[SourceError, FailureReason]:
        vendor_code, message = self.error_detail(response)
        kwargs: dict[str, Any] = {"status": response.status, "vendor_code": vendor_code}
        if wait is not None:
            limited = SourceRateLimited(self.system, f"rate limited: {message}", retry_after=wait, **kwargs)
            return limited, FailureReason.RATE_LIMITED
        if response.status in (401, 403):
            return SourceUnavailable(
                self.system, f"authentication failed: {message}", **kwargs
            ), FailureReason.AUTH
        if response.status >= 500:
            failed = SourceUnavailable(self.system, f"upstream error {response.status}: {message}", **kwargs)
            return failed, FailureReason.SERVER_ERROR
        return SourceRejected(self.system, message, **kwargs), FailureReason.REJECTED

    def _backoff(self, attempt: int, error: SourceError) -> float | None:
        """Seconds to wait before the next try; None when the request must not be tried again
        (a rejection, refused credentials, or a rate-limit wait too long to be worth it)."""
        if isinstance(error, SourceRejected) or (
            error.status in (401, 403) and not isinstance(error, SourceRateLimited)
        ):
            return None
        if isinstance(error, SourceRateLimited) and error.retry_after is not None:
            if error.retry_after > self.config.retry_max_wait_s:
                return None
            return error.retry_after + self._rng.uniform(0, self.config.retry_backoff_s)
        base = self.config.retry_backoff_s * (2**attempt)
        return min(self.config.retry_max_wait_s, self._rng.uniform(base / 2, base * 1.5))

    def _fail(self, error: SourceError) -> SourceError:
        self.health.last_error = error.message
        self.health.last_error_code = error.code
        return error


def _decode(system: str, resp: aiohttp.ClientResponse, raw: bytes) -> Any:
    if not raw:
        return None
    if "json" in (resp.content_type or ""):
        try:
            return json.loads(raw)
        except ValueError as exc:
            if 200 <= resp.status < 300:
                raise SourceBadResponse(
                    system, f"response body is not valid JSON: {exc}", status=resp.status
                ) from exc
            return raw.decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")
