"""What a connector counts about its upstream: attempts, failed attempts by reason, short-circuits.

Each HTTP attempt is counted once, whatever happens to the request around it: three tries of one
request that all get a 500 are three `server_error` failures, and a call the open breaker refuses
is a short-circuit, not an upstream failure (nothing was sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

__all__ = ["SYSTEM_FAILURES", "FailureReason", "SourceHealth", "UpstreamSink"]


class FailureReason(StrEnum):
    SERVER_ERROR = "server_error"  # a 5xx
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, DNS
    BAD_RESPONSE = "bad_response"  # a 2xx that is not JSON or not the expected shape
    RATE_LIMITED = "rate_limited"
    REJECTED = "rejected"  # a 4xx for our request: the system works, the request did not
    AUTH = "auth"  # credentials refused


SYSTEM_FAILURES = frozenset(
    {FailureReason.SERVER_ERROR, FailureReason.TIMEOUT, FailureReason.CONNECTION, FailureReason.BAD_RESPONSE}
)
"""Failures of the system itself: only these count toward the circuit breaker."""


class UpstreamSink(Protocol):
    """Where the counts also go as they happen (the app's Prometheus metrics, `telemetry/metrics.py`)."""

    def sent(self) -> None: ...
    def failed(self, reason: str) -> None: ...
    def short_circuit(self) -> None: ...
    def circuit(self, is_open: bool) -> None: ...
    def duration(self, path: str, seconds: float) -> None: ...


@dataclass
class SourceHealth:
    """What the `sources` query and `/metrics` report for one upstream."""

    requests: int = 0
    """HTTP attempts sent upstream (each retry is one more)."""
    failed: dict[FailureReason, int] = field(default_factory=dict)
    short_circuits: int = 0
    last_latency_ms: float | None = None
    last_error: str | None = None
    last_error_code: str | None = None
    last_ok_at: float | None = None
    latencies_ms: list[float] = field(default_factory=list)
    last_change_poll_at: float | None = None
    """When change polling last asked the system successfully (clock time; None: not polled here)."""
    sink: UpstreamSink | None = None

    @property
    def failures(self) -> int:
        """Attempts that failed because the system did (5xx, timeout, connection, garbage)."""
        return sum(n for reason, n in self.failed.items() if reason in SYSTEM_FAILURES)

    def sent(self) -> None:
        self.requests += 1
        if self.sink is not None:
            self.sink.sent()

    def short_circuited(self) -> None:
        self.short_circuits += 1
        if self.sink is not None:
            self.sink.short_circuit()

    def attempt_failed(self, reason: FailureReason) -> None:
        self.failed[reason] = self.failed.get(reason, 0) + 1
        if self.sink is not None:
            self.sink.failed(reason.value)

    def circuit(self, is_open: bool) -> None:
        if self.sink is not None:
            self.sink.circuit(is_open)

    def observe(self, ms: float, path: str = "") -> None:
        if self.sink is not None:
            self.sink.duration(path, ms / 1000)
        self.last_latency_ms = ms
        self.latencies_ms.append(ms)
        if len(self.latencies_ms) > 256:
            del self.latencies_ms[:128]
