"""Calendar helpers shared by the derived views."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta


def month_start(d: date) -> date:
    return d.replace(day=1)


def next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(today: date) -> tuple[date, date]:
    """The billing period of the monthly invoice cycle: last calendar month."""
    end = month_start(today) - timedelta(days=1)
    return month_start(end), end


def workdays(start: date, end: date) -> int:
    """Monday-to-Friday days in [start, end]."""
    if end < start:
        return 0
    days = (end - start).days + 1
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for i in range(rest):
        if (start + timedelta(days=weeks * 7 + i)).weekday() < 5:
            count += 1
    return count


def overlap(a_start: date, a_end: date, b_start: date, b_end: date) -> tuple[date, date] | None:
    start, end = max(a_start, b_start), min(a_end, b_end)
    return (start, end) if start <= end else None


def merge_spans(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Inclusive date spans merged where they overlap or touch: each day is in at most one result."""
    merged: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def buckets(start: date, end: date, months_per_bucket: int) -> Iterator[tuple[date, date]]:
    """Calendar months (1) or quarters (3) covering [start, end], clipped to it."""
    cursor = month_start(start)
    if months_per_bucket == 3:
        cursor = cursor.replace(month=(cursor.month - 1) // 3 * 3 + 1)
    while cursor <= end:
        nxt = cursor
        for _ in range(months_per_bucket):
            nxt = next_month(nxt)
        yield max(cursor, start), min(nxt - timedelta(days=1), end)
        cursor = nxt
