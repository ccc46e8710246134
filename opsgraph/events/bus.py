"""The event bus: readiness and workflow events to every subscriber, in this process or, with Redis, on
every replica.

A subscriber never holds up the publisher or the other subscribers: each has its own mailbox, which
keeps the latest event per engagement and per workflow (an event not yet taken is replaced by the newer
one of the same key, a readiness event keeping the older one's `wasReady`/`previousAmount`), and holds at
most `MAX_PENDING` keys (past that the oldest pending event is dropped and counted), however slow or
stalled the subscriber is.
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
from opsgraph.events.workflow_event import WorkflowChanged

logger = logging.getLogger("opsgraph.events")
_tracer = trace.get_tracer("opsgraph.events")

CHANNEL = "opsgraph:v1:events:readiness"
WORKFLOW_CHANNEL = "opsgraph:v1:events:workflow"

BusEvent = ReadinessChanged | WorkflowChanged

MAX_PENDING = 10_000
"""Keys one subscriber's mailbox holds at most (engagements and workflows with an event not yet taken)."""


class Mailbox:
    """One subscriber's pending events, latest per key, in arrival order."""

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self._pending: dict[str, BusEvent] = {}
        self._ready = asyncio.Event()
        self.max_pending = max_pending
        self.coalesced = 0
        self.dropped = 0

    def put(self, event: BusEvent) -> None:
        older = self._pending.pop(event.key, None)
        if older is not None:
            self.coalesced += 1
            if isinstance(event, ReadinessChanged) and isinstance(older, ReadinessChanged):
                event = replace(event, was_ready=older.was_ready, previous_amount=older.previous_amount)
        elif len(self._pending) >= self.max_pending:
            del self._pending[next(iter(self._pending))]
            self.dropped += 1
        self._pending[event.key] = event
        self._ready.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def get(self) -> BusEvent:
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        key = next(iter(self._pending))
        return self._pending.pop(key)


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

    async def __anext__(self) -> BusEvent:
        if self.mailbox not in self._mailboxes:
            raise StopAsyncIteration
        return await self.mailbox.get()

    async def aclose(self) -> None:
        if self.mailbox in self._mailboxes:
            self._mailboxes.discard(self.mailbox)
            self._changed()


class EventBus(Protocol):
    async def publish(self, event: BusEvent) -> None: ...

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

    def deliver(self, event: BusEvent) -> None:
        """Into every subscriber's mailbox (span `events fan-out`: how many)."""
        with _tracer.start_as_current_span("events fan-out") as span:
            span.set_attribute("opsgraph.subscribers", len(self._mailboxes))
            for mailbox in list(self._mailboxes):
                mailbox.put(event)

    async def publish(self, event: BusEvent) -> None:
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
        await self._pubsub.subscribe(CHANNEL, WORKFLOW_CHANNEL)
        self._listener = asyncio.create_task(self._listen(self._pubsub))

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.deliver(_decode(message["channel"], message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("the event bus lost Redis; resubscribing", exc_info=True)
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await pubsub.subscribe(CHANNEL, WORKFLOW_CHANNEL)

    async def publish(self, event: BusEvent) -> None:
        channel = CHANNEL if isinstance(event, ReadinessChanged) else WORKFLOW_CHANNEL
        await self._redis.publish(channel, event.to_json())

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._pubsub is not None:
            await self._pubsub.aclose()
        await self._redis.aclose()


def _decode(channel: bytes | str, data: bytes | str) -> BusEvent:
    name = channel.decode() if isinstance(channel, bytes) else channel
    if name == WORKFLOW_CHANNEL:
        return WorkflowChanged.from_json(data)
    return ReadinessChanged.from_json(data)
