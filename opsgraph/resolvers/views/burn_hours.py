"""An engagement's hours since its start, from its PSA's time report in year-sized windows.

The report covers at most 365 days per call, so the hours are summed over windows counted back from
today: window 0 ends today, window k ends 365·k days earlier. Windows are aligned to today, not to the
engagement, so every engagement of a request shares them (one report call per window and PSA system,
for all its engagements). At most `MAX_WINDOWS` are read; when the cap is hit, the start date is
unknown, or an older window fails, the hours are a lower bound and `complete` says so (never a
silent undercount).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from opsgraph.connectors.errors import SourceError
from opsgraph.model import Engagement, EngagementTimeTotals
from opsgraph.resolvers.partial import settled

WINDOW_DAYS = 365
"""The longest timeframe a PSA time report is asked for (some vendors cap it at one year)."""
MAX_WINDOWS = 20
"""Twenty years back at most: one report call per window."""
UNKNOWN_START_WINDOWS = 2
"""An engagement without a start date: the last two years are counted, and marked incomplete."""

Report = Callable[[date, date], Awaitable[Mapping[str, EngagementTimeTotals]]]
"""The engagement's PSA system's time report over a window, by engagement LOCAL id."""


@dataclass(frozen=True)
class HoursUsed:
    hours: float
    counted_from: date
    complete: bool


def window(today: date, k: int) -> tuple[date, date]:
    end = today - timedelta(days=WINDOW_DAYS * k)
    return end - timedelta(days=WINDOW_DAYS - 1), end


def windows_needed(today: date, start: date | None) -> int:
    """How many windows from today back reach `start` (capped); unknown start: the default two."""
    if start is None:
        return UNKNOWN_START_WINDOWS
    days = (today - start).days + 1
    return max(1, min(MAX_WINDOWS, -(-days // WINDOW_DAYS)))


async def hours_used(engagement: Engagement, today: date, report: Report) -> HoursUsed:
    """The engagement's hours from its start (or as far back as could be read). Raises the PSA's error
    when even the most recent window fails."""
    count = windows_needed(today, engagement.start_date)
    spans = [window(today, k) for k in range(count)]
    results = await asyncio.gather(*(settled(report(a, b)) for a, b in spans))
    hours = 0.0
    counted_from = today
    for k, ((a, _), result) in enumerate(zip(spans, results, strict=True)):
        if isinstance(result, SourceError):
            if k == 0:
                raise result
            return HoursUsed(round(hours, 2), counted_from, False)
        totals = result.get(engagement.id)
        hours += totals.total_hours if totals else 0.0
        counted_from = a
    start = engagement.start_date
    if start is not None and counted_from <= start:
        return HoursUsed(round(hours, 2), start, True)
    return HoursUsed(round(hours, 2), counted_from, False)
