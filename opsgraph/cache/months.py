"""Calendar-month buckets for records listed by date range (time entries).

A range read is cached as one value per calendar month, so two overlapping ranges share the months they
have in common and the second fetches only those it lacks. A month is named by its first day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import TypeVar

V = TypeVar("V")


def month_of(day: date) -> date:
    """The month holding `day` (its first day)."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_between(start: date, end: date) -> list[date]:
    """The months from `start`'s to `end`'s, oldest first (none when `end` is before `start`)."""
    out: list[date] = []
    month, last = month_of(start), month_of(end)
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


def runs(months: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive months as `(first day, last day)` ranges: one upstream listing each."""
    out: list[tuple[date, date]] = []
    for month in sorted(set(months)):
        end = next_month(month) - timedelta(days=1)
        if out and next_month(month_of(out[-1][1])) == month:
            out[-1] = (out[-1][0], end)
        else:
            out.append((month, end))
    return out


def by_month(
    records: Iterable[V], day_of: Callable[[V], date], months: Sequence[date]
) -> dict[date, tuple[V, ...]]:
    """`records` split into `months` (each keeps the order they came in); a month with none is `()`,
    a record outside every month is dropped."""
    found: dict[date, list[V]] = {m: [] for m in months}
    for r in records:
        bucket = found.get(month_of(day_of(r)))
        if bucket is not None:
            bucket.append(r)
    return {m: tuple(rs) for m, rs in found.items()}
