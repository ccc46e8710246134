"""One clock for the whole gateway: the day views are computed for, wall time, monotonic time, sleep.

Everything that reads the time takes a `Clock`, so the demo can pin its day and tests can move
time forward (TTLs, breaker resets, retry waits, token expiry) without sleeping.
"""

from __future__ import annotations

import asyncio
import time as _time
from datetime import UTC, date, datetime
from typing import Protocol

__all__ = ["Clock", "ManualClock", "PinnedClock", "SystemClock", "clock_for"]


class Clock(Protocol):
    def today(self) -> date:
        """The business day: views, periods and ages are computed for it."""
        ...

    def now(self) -> datetime:
        """Aware UTC timestamp of the business day (what `asOf` fields report)."""
        ...

    def time(self) -> float:
        """Wall-clock epoch seconds, for TTLs shared with other processes (Redis)."""
        ...

    def monotonic(self) -> float:
        """Seconds for intervals inside this process: breakers, deadlines, token expiry."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The machine's clock."""

    def today(self) -> date:
        return date.today()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return _time.time()

    def monotonic(self) -> float:
        return _time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class PinnedClock(SystemClock):
    """The machine's clock with the business day pinned (the demo, reproducible reports).

    `now()` is midnight UTC of the pinned day, so every answer about that day is the same
    on every call; intervals (`time`, `monotonic`, `sleep`) still run for real.
    """

    def __init__(self, day: date) -> None:
        self.day = day

    def today(self) -> date:
        return self.day

    def now(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC)


class ManualClock:
    """A clock that moves only when told to: `advance()`, or `sleep()` which advances at once.

    For tests: a TTL or a breaker reset is passed by advancing, never by waiting.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._at = start or datetime(2026, 11, 20, tzinfo=UTC)
        self._elapsed = 0.0
        self.slept: list[float] = []

    def today(self) -> date:
        return self.now().date()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._at.timestamp() + self._elapsed, UTC)

    def time(self) -> float:
        return self._at.timestamp() + self._elapsed

    def monotonic(self) -> float:
        return 1000.0 + self._elapsed

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._elapsed += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


def clock_for(today: date | None) -> Clock:
    """The clock settings ask for: the machine's, or with `today` pinned."""
    return PinnedClock(today) if today is not None else SystemClock()
