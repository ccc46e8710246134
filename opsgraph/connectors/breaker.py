"""A circuit breaker whose trial always ends: every admitted call is settled or abandoned.

CLOSED lets everything through and counts consecutive failures; at the threshold it opens.
OPEN refuses calls until `reset_s` has passed, then admits exactly one trial (HALF_OPEN while it
is in flight). The trial's outcome closes the breaker or opens it again; a trial that is cancelled
(a caller's timeout) gives no verdict, so the breaker goes back to OPEN and the next call may try.
Callers hold a `Permit` and release it in a `finally`, so no path leaves a trial hanging.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from opsgraph.clock import Clock, SystemClock

__all__ = ["CircuitBreaker", "CircuitState", "Permit"]


class CircuitState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass
class Permit:
    """One admitted call. `trial` is True for the single call let through an open breaker."""

    trial: bool
    done: bool = False


class CircuitBreaker:
    def __init__(self, failure_threshold: int, reset_s: float, clock: Clock | None = None) -> None:
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self.clock: Clock = clock or SystemClock()
        self.failures = 0
        self.opened_at: float | None = None
        self._trial: Permit | None = None

    @property
    def state(self) -> CircuitState:
        if self._trial is not None:
            return CircuitState.HALF_OPEN
        return CircuitState.CLOSED if self.opened_at is None else CircuitState.OPEN

    def admit(self) -> Permit | None:
        """A permit for one call, or None when the breaker refuses it (a short-circuit)."""
        if self.opened_at is None:
            return Permit(trial=False)
        if self._trial is None and self.clock.monotonic() - self.opened_at >= self.reset_s:
            self._trial = Permit(trial=True)
            return self._trial
        return None

    def settle(self, permit: Permit, *, ok: bool) -> None:
        """The call's verdict: `ok` when the system answered sanely, False when it failed."""
        if permit.done:
            return
        permit.done = True
        if permit.trial:
            self._trial = None
            if ok:
                self._close()
            else:
                self._open()
        elif self.opened_at is None:  # late answers of calls admitted before it opened change nothing
            if ok:
                self.failures = 0
            else:
                self.failures += 1
                if self.failures >= self.failure_threshold:
                    self._open()

    def abandon(self, permit: Permit) -> None:
        """The call ended without a verdict (cancelled): a trial hands the breaker back to OPEN."""
        if permit.done:
            return
        permit.done = True
        if permit.trial:
            self._trial = None

    def _open(self) -> None:
        self.opened_at = self.clock.monotonic()

    def _close(self) -> None:
        self.failures, self.opened_at = 0, None
