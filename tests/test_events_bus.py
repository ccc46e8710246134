"""The event bus and the high-water marks: a slow subscriber's mailbox coalesces per engagement; over
Redis, an event published by one gateway reaches a subscriber of another; marks survive in Redis and
never report one change twice across the overlap window."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from opsgraph.events.bus import LocalBus, Mailbox, RedisBus
from opsgraph.events.marks import OVERLAP, Mark, RedisMarks
from opsgraph.events.readiness_event import ReadinessChanged
from opsgraph.events.workflow_event import WorkflowChanged
from opsgraph.model import Engagement, Money
from opsgraph.resolvers.views.readiness import Readiness, ReadinessBlocker
from opsgraph.roles import Change

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def event(
    code: str, amount: str, *, ready: bool, was_ready: bool | None, previous: str | None
) -> ReadinessChanged:
    readiness = Readiness(
        engagement_code=code,
        ready=ready,
        approved_unbilled_hours=8.0,
        amount=Money.of(amount),
        blockers=() if ready else (ReadinessBlocker("UNAPPROVED_TIME", "1 entry is not approved", "psa"),),
        as_of=AT,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
    )
    return ReadinessChanged(
        engagement=Engagement(system="psa", id="7", code=code, name=f"Project {code}"),
        readiness=readiness,
        was_ready=was_ready,
        previous_amount=Money.of(previous) if previous is not None else None,
        cause="TIME_APPROVED",
        at=AT,
    )


def test_an_event_survives_its_json_form() -> None:
    original = event("ENG-1", "1200.50", ready=False, was_ready=True, previous="100")
    assert ReadinessChanged.from_json(original.to_json()) == original


async def test_a_slow_subscriber_gets_the_latest_per_engagement_and_the_first_previous_state() -> None:
    bus = LocalBus()
    slow, other = bus.subscribe(), bus.subscribe()
    assert bus.subscribers == 2
    await bus.publish(event("ENG-1", "100", ready=False, was_ready=True, previous="50"))
    await bus.publish(event("ENG-2", "10", ready=True, was_ready=False, previous="0"))
    await bus.publish(event("ENG-1", "300", ready=True, was_ready=False, previous="100"))
    first, second = await anext(slow), await anext(slow)
    assert (first.code, first.readiness.amount.amount, first.was_ready, first.previous_amount) == (
        "ENG-2",
        Decimal("10.00"),
        False,
        Money.of("0"),
    )
    assert (second.code, second.readiness.amount.amount, second.was_ready, second.previous_amount) == (
        "ENG-1",
        Decimal("300.00"),
        True,
        Money.of("50"),
    )
    assert slow.mailbox.coalesced == 1
    await slow.aclose()
    assert bus.subscribers == 1
    with pytest.raises(StopAsyncIteration):
        await anext(slow)
    assert [(await anext(other)).code for _ in range(2)] == ["ENG-2", "ENG-1"]


async def test_a_mailbox_is_bounded_dropping_the_oldest_pending_key() -> None:
    mailbox = Mailbox(max_pending=2)
    for code in ("ENG-1", "ENG-2", "ENG-1", "ENG-3"):
        mailbox.put(event(code, "10", ready=True, was_ready=False, previous="0"))
    assert (mailbox.pending, mailbox.coalesced, mailbox.dropped) == (2, 1, 1)
    taken = [await mailbox.get(), await mailbox.get()]
    assert [e.key for e in taken] == ["readiness:ENG-1", "readiness:ENG-3"]


async def test_over_redis_an_event_reaches_every_replica(redis_server: str) -> None:
    one, two = RedisBus(Redis.from_url(redis_server)), RedisBus(Redis.from_url(redis_server))
    await one.start()
    await two.start()
    try:
        here, there = one.subscribe(), two.subscribe()
        sent = event("ENG-9", "42", ready=True, was_ready=None, previous=None)
        await one.publish(sent)
        async with asyncio.timeout(5):
            assert await anext(there) == sent
            assert await anext(here) == sent  # the publisher's own subscribers hear it once, from Redis
        parked = WorkflowChanged("wf-1", "PARKED", AT)
        await two.publish(parked)
        async with asyncio.timeout(5):
            assert await anext(here) == parked
            assert await anext(there) == parked
        assert here.mailbox.coalesced == there.mailbox.coalesced == 0
    finally:
        await one.close()
        await two.close()


def change(id: str, at: datetime) -> Change:
    return Change(id=id, modified_at=at)


def test_a_mark_asks_again_across_the_overlap_and_reports_nothing_twice() -> None:
    mark = Mark(AT)
    assert mark.since == AT - OVERLAP
    first = [change("1", AT), change("2", AT + timedelta(seconds=1))]
    assert mark.fresh(tuple(first)) == first
    moved = mark.advanced(AT + timedelta(seconds=1), first, polled_at=AT + timedelta(seconds=5))
    assert moved.at == AT + timedelta(seconds=1)
    # the vendor answers the same second again, plus a later change in that same second
    again = (change("1", AT), change("2", AT + timedelta(seconds=1)), change("3", AT + timedelta(seconds=1)))
    assert [c.id for c in moved.fresh(again)] == ["3"]
    later = moved.advanced(
        AT + timedelta(seconds=10),
        [change("3", AT + timedelta(seconds=1))],
        polled_at=AT + timedelta(seconds=15),
    )
    assert later.seen == frozenset()  # what fell out of the window is forgotten
    assert Mark.from_json(moved.to_json()).seen == moved.seen


def test_a_change_seen_while_its_second_runs_is_reported_again() -> None:
    """A record changed twice in one second has the same stamp twice: the first sighting, made while
    that second may still run, does not hide the second change."""
    seen_early = Mark(AT).advanced(AT, [change("1", AT)], polled_at=AT + timedelta(milliseconds=300))
    assert [c.id for c in seen_early.fresh((change("1", AT),))] == ["1"]
    seen_late = seen_early.advanced(AT, [change("1", AT)], polled_at=AT + OVERLAP)
    assert seen_late.fresh((change("1", AT),)) == []


async def test_marks_in_redis_outlive_the_gateway(redis_server: str) -> None:
    redis = Redis.from_url(redis_server)
    await redis.delete("opsgraph:v1:events:mark:psa-test:time_entry")
    marks = RedisMarks(redis)
    assert await marks.get("psa-test", "time_entry") is None
    await marks.put("psa-test", "time_entry", Mark(AT, frozenset({("1", AT.isoformat())})))
    await marks.close()
    again = RedisMarks(Redis.from_url(redis_server))
    try:
        got = await again.get("psa-test", "time_entry")
        assert got is not None and got.at == AT and got.seen == frozenset({("1", AT.isoformat())})
    finally:
        await again.close()
