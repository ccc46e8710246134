"""The event bus: readiness events to every subscriber, in this process or, with Redis, on every replica.

A subscriber never holds up the publisher or the other subscribers: each has its own mailbox, which
keeps the latest event per engagement (an event not yet taken is replaced by the newer one of the same
engagement, keeping the older one's `wasReady`/`previousAmount`), so it is bounded by the number of
engagements however slow the subscriber is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from opentelemetry import trace
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from opsgraph.events.readiness_event import ReadinessChanged

logger = logging.getLogger("opsgraph.events")
_tracer = trace.get_tracer("opsgraph.events")

CHANNEL = "opsgraph:v1:events:readiness"


class Mailbox:
    """One subscriber's pending events, latest per engagement, in arrival order."""

    def __init__(self) -> None:
        self._pending: dict[str, ReadinessChanged] = {}
        self._ready = asyncio.Event()
        self.coalesced = 0

    def put(self, event: ReadinessChanged) -> None:
        older = self._pending.pop(event.code, None)
        if older is not None:
            self.coalesced += 1
            event = replace(event, was_ready=older.was_ready, previous_amount=older.previous_amount)
        self._pending[event.code] = event
        self._ready.set()

    async def get(self) -> ReadinessChanged:
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        code = next(iter(self._pending))
        return self._pending.pop(code)


class Feed:
    """One subscriber's events, registered from its creation (nothing published after is missed) until
    `aclose()`."""

    def __init__(self, mailboxes: set[Mailbox], changed: Callable[[], None]) -> None:
        self._mailboxes = mailboxes
        self._changed = changed
        self.mailbox = Mailbox()
        mailboxes.add(self.mailbox)
        changed()

    def __aiter__(self) -> Feed:
        return self

    async def __anext__(self) -> ReadinessChanged:
        if self.mailbox not in self._mailboxes:
            raise StopAsyncIteration
        return await self.mailbox.get()

    async def aclose(self) -> None:
        if self.mailbox in self._mailboxes:
            self._mailboxes.discard(self.mailbox)
            self._changed()


class EventBus(Protocol):
    async def publish(self, event: ReadinessChanged) -> None: ...

    @property
    def subscribers(self) -> int: ...

    async def until_subscribers(self, count: int) -> None: ...

    def subscribe(self) -> Feed:
        """Every event published from now on, until the feed is closed."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LocalBus:
    """In-process delivery (the default): one gateway process."""

    def __init__(self) -> None:
        self._mailboxes: set[Mailbox] = set()
        self._count_changed = asyncio.Event()

    @property
    def subscribers(self) -> int:
        return len(self._mailboxes)

    def _changed(self) -> None:
        self._count_changed.set()
        self._count_changed = asyncio.Event()

    async def until_subscribers(self, count: int) -> None:
        """Until exactly `count` subscribers are registered (a connection's subscribe, or its hang-up,
        reaches the bus asynchronously)."""
        while self.subscribers != count:
            await self._count_changed.wait()

    def deliver(self, event: ReadinessChanged) -> None:
        """Into every subscriber's mailbox (span `events fan-out`: how many)."""
        with _tracer.start_as_current_span("events fan-out") as span:
            span.set_attribute("opsgraph.subscribers", len(self._mailboxes))
            for mailbox in list(self._mailboxes):
                mailbox.put(event)

    async def publish(self, event: ReadinessChanged) -> None:
        self.deliver(event)

    def subscribe(self) -> Feed:
        return Feed(self._mailboxes, self._changed)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisBus(LocalBus):
    """Redis pub/sub between replicas: a publish goes to Redis only, and every replica (this one too)
    hands what arrives on the channel to its own subscribers."""

    def __init__(self, redis: Redis) -> None:
        super().__init__()
        self._redis = redis
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(CHANNEL)
        self._listener = asyncio.create_task(self._listen(self._pubsub))

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.deliver(ReadinessChanged.from_json(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("the event bus lost Redis; resubscribing", exc_info=True)
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await pubsub.subscribe(CHANNEL)

    async def publish(self, event: ReadinessChanged) -> None:
        await self._redis.publish(CHANNEL, event.to_json())

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._pubsub is not None:
            await self._pubsub.aclose()
        await self._redis.aclose()
