import asyncio
from datetime import UTC, date, datetime

import pytest

from opsgraph.clock import ManualClock, PinnedClock, SystemClock, clock_for


def test_pinned_clock_answers_the_same_instant_for_its_day() -> None:
    clock = PinnedClock(date(2026, 11, 20))
    assert clock.today() == date(2026, 11, 20)
    assert clock.now() == datetime(2026, 11, 20, tzinfo=UTC)
    assert clock.now() == clock.now()
    assert clock.now().isoformat() == "2026-11-20T00:00:00+00:00"


def test_clock_for_pins_only_when_asked() -> None:
    assert isinstance(clock_for(None), SystemClock)
    assert not isinstance(clock_for(None), PinnedClock)
    pinned = clock_for(date(2026, 1, 2))
    assert pinned.today() == date(2026, 1, 2)


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(datetime(2026, 3, 31, 23, 0, tzinfo=UTC))
    first = clock.monotonic()
    assert clock.monotonic() == first
    clock.advance(3600)
    assert clock.monotonic() == first + 3600
    assert clock.today() == date(2026, 4, 1)
    asyncio.run(clock.sleep(15))
    assert clock.slept == [15]
    assert clock.monotonic() == first + 3615
    assert clock.time() == datetime(2026, 4, 1, 0, 0, 15, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError):
        clock.advance(-1)
