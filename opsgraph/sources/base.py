"""The shared connector base: every vendor client is a `SourceClient` subclass.

The base owns the resilience every source needs, so a vendor kit only supplies its
wire details through a few hooks (auth headers, its rate-limit signal, its error shape):

- one aiohttp session per source with a connection limit, and a concurrency bulkhead;
- a timeout per request;
- retries with jittered backoff for idempotent reads only, honouring the vendor's
  `Retry-After` or limit signal (up to `retry_max_wait_s`; longer waits fail fast);
- a circuit breaker with half-open probes;
- `X-Correlation-ID` on every call, and an OpenTelemetry span per call.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import aiohttp
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field

from opsgraph.context import current_correlation_id
from opsgraph.model import SourceName
from opsgraph.sources.errors import (
    SourceDataError,
    SourceError,
    SourceRateLimited,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)

__all__ = [
    "CircuitBreaker",
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

_tracer = trace.get_tracer("opsgraph.sources")


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


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: Any
    url: str


class CircuitState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CircuitBreaker:
    """Opens after N consecutive failures; after `reset_s` lets one probe through (half-open)."""

    def __init__(self, failure_threshold: int, reset_s: float) -> None:
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> CircuitState:
        if self.opened_at is None:
            return CircuitState.CLOSED
        if time.monotonic() - self.opened_at >= self.reset_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def allow(self) -> bool:
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        self.failures, self.opened_at, self._probing = 0, None, False

    def failure(self) -> None:
        self.failures += 1
        if self._probing or self.failures >= self.failure_threshold:
            self.opened_at = time.monotonic()
        self._probing = False


@dataclass
class SourceHealth:
    """What the `sources` query reports for one upstream."""

    requests: int = 0
    failures: int = 0
    last_latency_ms: float | None = None
    last_error: str | None = None
    last_error_code: str | None = None
    last_ok_at: float | None = None
    latencies_ms: list[float] = field(default_factory=list)

    def observe(self, ms: float) -> None:
        self.last_latency_ms = ms
        self.latencies_ms.append(ms)
        if len(self.latencies_ms) > 256:
            del self.latencies_ms[:128]


class SourceClient:
    """Base for vendor clients. Subclasses set `source` and override the hooks below."""

    source: ClassVar[SourceName]

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.breaker = CircuitBreaker(config.breaker_failure_threshold, config.breaker_reset_s)
        self.health = SourceHealth()
        self._bulkhead = asyncio.Semaphore(config.max_concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._rng = random.Random()

    # -- hooks ---------------------------------------------------------------------------------

    async def auth_headers(self) -> dict[str, str]:
        return {}

    def auth_expired(self, response: UpstreamResponse) -> bool:
        return response.status == 401

    def invalidate_auth(self) -> None:
        """Drop a cached token so the next `auth_headers()` fetches a new one."""

    def retry_after(self, response: UpstreamResponse) -> float | None:
        """The vendor's rate-limit signal as seconds to wait, or None when this is not a rate limit."""
        if response.status == 429:
            return _retry_after_header(response.headers) or 1.0
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
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        """One HTTP exchange: no auth, retry or breaker. Token endpoints use this directly."""
        all_headers = {"X-Correlation-ID": current_correlation_id(), **(headers or {})}
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        async with self.session().request(
            method, self.url(path), params=params, json=json, data=data, headers=all_headers, timeout=timeout
        ) as resp:
            raw = await resp.read()
            return UpstreamResponse(resp.status, resp.headers, _decode(self.source, resp, raw), str(resp.url))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
        ok: Collection[int] = (200,),
    ) -> UpstreamResponse:
        """An authenticated call with the full resilience policy; raises a `SourceError` unless `ok`.

        `retry` defaults to True for GET only: writes are never retried blindly. Pass
        `retry=True` for read-only POSTs such as SuiteQL or a composite read.
        """
        retry = method.upper() == "GET" if retry is None else retry
        attempt, reauthed = 0, False
        with _tracer.start_as_current_span(
            f"{self.source.value} {method}", kind=trace.SpanKind.CLIENT
        ) as span:
            span.set_attribute("opsgraph.source", self.source.value)
            span.set_attribute("http.request.method", method)
            span.set_attribute("url.path", path.split("?")[0])
            while True:
                if not self.breaker.allow():
                    raise self._fail(SourceUnavailable(self.source, "circuit open: the source is failing"))
                error: SourceError
                started = time.perf_counter()
                try:
                    async with self._bulkhead:
                        all_headers = {**(await self.auth_headers()), **(headers or {})}
                        self.health.requests += 1
                        response = await self.raw_request(
                            method, path, params=params, json=json, data=data, headers=all_headers
                        )
                except TimeoutError:
                    error = SourceTimeout(self.source, f"no answer within {self.config.timeout_s:g}s")
                    self.breaker.failure()
                except aiohttp.ClientError as exc:
                    error = SourceUnavailable(self.source, f"connection failed: {type(exc).__name__}")
                    self.breaker.failure()
                else:
                    self.health.observe((time.perf_counter() - started) * 1000)
                    span.set_attribute("http.response.status_code", response.status)
                    if self.auth_expired(response) and not reauthed:
                        self.invalidate_auth()
                        reauthed = True
                        continue
                    wait = self.retry_after(response)
                    if response.status in ok and wait is None:
                        self.breaker.success()
                        self.health.last_ok_at = time.time()
                        return response
                    error = self._classify(response, wait)
                    if isinstance(error, SourceUnavailable) and response.status >= 500:
                        self.breaker.failure()
                    elif not isinstance(error, SourceRateLimited):
                        self.breaker.success()
                    if isinstance(error, SourceRejected) or (response.status in (401, 403) and wait is None):
                        raise self._fail(error)
                delay = self._backoff(attempt, error)
                if not retry or attempt >= self.config.max_retries or delay is None:
                    span.set_attribute("opsgraph.retries", attempt)
                    raise self._fail(error)
                attempt += 1
                await asyncio.sleep(delay)

    def _classify(self, response: UpstreamResponse, wait: float | None) -> SourceError:
        vendor_code, message = self.error_detail(response)
        kwargs: dict[str, Any] = {"status": response.status, "vendor_code": vendor_code}
        if wait is not None:
            return SourceRateLimited(self.source, f"rate limited: {message}", retry_after=wait, **kwargs)
        if response.status in (401, 403):
            return SourceUnavailable(self.source, f"authentication failed: {message}", **kwargs)
        if response.status >= 500:
            return SourceUnavailable(self.source, f"upstream error {response.status}: {message}", **kwargs)
        return SourceRejected(self.source, message, **kwargs)

    def _backoff(self, attempt: int, error: SourceError) -> float | None:
        """Seconds to wait before the next try; None when the wait would be too long to be worth it."""
        if isinstance(error, SourceRateLimited) and error.retry_after is not None:
            if error.retry_after > self.config.retry_max_wait_s:
                return None
            return error.retry_after + self._rng.uniform(0, self.config.retry_backoff_s)
        base = self.config.retry_backoff_s * (2**attempt)
        return min(self.config.retry_max_wait_s, self._rng.uniform(base / 2, base * 1.5))

    def _fail(self, error: SourceError) -> SourceError:
        self.health.failures += 1
        self.health.last_error = error.message
        self.health.last_error_code = error.code
        return error


def _retry_after_header(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _decode(source: SourceName, resp: aiohttp.ClientResponse, raw: bytes) -> Any:
    if not raw:
        return None
    if "json" in (resp.content_type or ""):
        try:
            return json.loads(raw)
        except ValueError as exc:
            if 200 <= resp.status < 300:
                raise SourceDataError(source, f"response body is not valid JSON: {exc}") from exc
            return raw.decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")
