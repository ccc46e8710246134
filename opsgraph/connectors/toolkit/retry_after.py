"""One `Retry-After` parser: delta-seconds or an HTTP-date, measured on the injected clock."""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from opsgraph.clock import Clock

__all__ = ["parse_retry_after", "retry_after_header"]


def parse_retry_after(value: str | None, clock: Clock) -> float | None:
    """Seconds to wait (never negative), or None when the value is absent or unreadable.

    RFC 9110 allows `120` or `Fri, 20 Nov 2026 00:00:30 GMT`; a date is counted from `clock.time()`,
    so a `ManualClock` gives exact waits and a date in the past means "now" (0).
    """
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None  # RFC 9110 dates are GMT; a date without a zone is not one
    return max(0.0, when.timestamp() - clock.time())


def retry_after_header(headers: Mapping[str, str], clock: Clock) -> float | None:
    """`parse_retry_after` of the response's `Retry-After` header."""
    return parse_retry_after(headers.get("Retry-After"), clock)
