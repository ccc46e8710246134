"""The events of one gateway: polling per system, webhooks, effects, and the bus subscriptions read from.

Started and stopped with the app's lifespan. The loops (one per system, each at its own interval) run
only with `events.poll`; `poll_once()` runs one round by hand (the tests drive polls with it, the loops
call it per system), so nothing here ever waits on the wall clock in a test.

With Redis, replicas share one lease per system (`lease.py`): a loop wakes three times per interval,
takes or renews its lease (for two of those wakes) and polls only while it holds it, at most once
per interval; a replica that stops releases its leases, one that dies loses them when they expire,
so another takes over within one interval. `poll_if_held()` is one such attempt, by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opentelemetry import trace
from redis.asyncio import Redis

from opsgraph.cache import ReadCache
from opsgraph.clock import Clock
from opsgraph.connectors.health import SourceHealth
from opsgraph.connectors.webhooks import Pushed
from opsgraph.events.bus import EventBus, LocalBus, RedisBus
from opsgraph.events.effects import Effects
from opsgraph.events.lease import Lease, LocalLease, RedisLease
from opsgraph.events.marks import MarkStore, MemoryMarks, RedisMarks
from opsgraph.events.poller import Changed, PollResult, poll_system
from opsgraph.events.readiness_event import ReadinessChanged
from opsgraph.events.settings import EventSettings
from opsgraph.events.workflow_event import WorkflowChanged
from opsgraph.model import Role
from opsgraph.resolvers.sources import Sources

logger = logging.getLogger("opsgraph.events")
_tracer = trace.get_tracer("opsgraph.events")


@dataclass
class Round:
    """What one round of polling found and did."""

    polls: list[PollResult] = field(default_factory=list)
    events: list[ReadinessChanged] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return sum(len(f.changes) for p in self.polls for f in p.found)


class EventService:
    def __init__(
        self,
        settings: EventSettings,
        sources: Sources,
        cache: ReadCache | None,
        clock: Clock,
        *,
        redis_url: str | None = None,
        lag: Callable[[str, float], None] | None = None,
    ) -> None:
        """`lag(system, seconds)` is told how late each change was seen (its modification to now)."""
        self.settings = settings
        self.lag = lag
        self.sources = sources
        self.clock = clock
        # two clients: the bus's pub/sub holds a connection of its own for as long as it listens
        self.bus: EventBus = RedisBus(Redis.from_url(redis_url)) if redis_url else LocalBus()
        self.marks: MarkStore = RedisMarks(Redis.from_url(redis_url)) if redis_url else MemoryMarks()
        self.lease: Lease = RedisLease(Redis.from_url(redis_url)) if redis_url else LocalLease()
        self.effects = Effects(sources, cache, clock, self.bus)
        self._lock = asyncio.Lock()
        self._loops: list[asyncio.Task[None]] = []
        self._first_rounds: dict[str, asyncio.Event] = {}
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._publishing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._event_loop = asyncio.get_running_loop()
        await self.bus.start()
        if self.settings.poll:
            self._first_rounds = {name: asyncio.Event() for name in self.sources.systems}
            self._loops = [
                asyncio.create_task(self._loop(name), name=f"poll {name}") for name in self.sources.systems
            ]

    async def stop(self) -> None:
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops = []
        if self._publishing:
            await asyncio.gather(*self._publishing, return_exceptions=True)
        await self.lease.release_all()
        await self.lease.close()
        await self.bus.close()
        await self.marks.close()

    def workflow_changed(self, workflow_id: str, status: str) -> None:
        """The workflow engine's listener: publish `workflowChanged` (from whatever thread it is told)."""
        event = WorkflowChanged(workflow_id, str(status), datetime.fromtimestamp(self.clock.time(), UTC))
        if self._event_loop is not None and not self._event_loop.is_closed():
            self._event_loop.call_soon_threadsafe(self._publish_soon, event)

    def _publish_soon(self, event: WorkflowChanged) -> None:
        task = asyncio.create_task(self.bus.publish(event))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def first_rounds(self) -> None:
        """Until every loop has run its first poll (at once after start)."""
        await asyncio.gather(*(e.wait() for e in self._first_rounds.values()))

    def _step(self, system: str) -> float:
        """How often a loop wakes: each interval alone, a third of it when replicas share leases."""
        interval = self.settings.interval_for(system)
        return interval / 3 if self.lease.shared else interval

    async def _loop(self, system: str) -> None:
        """Wake every step: take or renew the lease; while held, start a poll when one is due and the
        last has ended (the poll runs beside the loop, so renewals go on during a long poll)."""
        interval, step = self.settings.interval_for(system), self._step(system)
        last: float | None = None
        polling: asyncio.Task[None] | None = None
        try:
            while True:
                try:
                    held = await self.lease.hold(system, 2 * step)
                except Exception:
                    logger.exception("the polling lease of %s failed", system)
                    held = False
                if not held:
                    last = None  # another replica polls; should it stop, poll at once
                    self._first_rounds[system].set()
                elif (polling is None or polling.done()) and (
                    last is None or self.clock.monotonic() - last >= interval - step / 2
                ):
                    last = self.clock.monotonic()
                    polling = asyncio.create_task(
                        self._poll_in_background(system), name=f"poll {system} once"
                    )
                await self.clock.sleep(step)
        finally:
            if polling is not None:
                polling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await polling

    async def _poll_in_background(self, system: str) -> None:
        try:
            await self.poll_once([system])
        except Exception:
            logger.exception("polling %s failed", system)
        finally:
            self._first_rounds[system].set()

    async def poll_if_held(self, system: str) -> Round | None:
        """Take or renew the lease of `system` and poll it if this replica holds it (None: another does)."""
        if not await self.lease.hold(system, 2 * self._step(system)):
            return None
        return await self.poll_once([system])

    async def push(self, system: str, pushed: list[Pushed]) -> list[ReadinessChanged]:
        """The changes a verified webhook reported: the same effects as polled ones (marks untouched: a
        later poll sees them again, and finds nothing more to publish)."""
        batches = [Changed(system, p.entity, list(p.changes)) for p in pushed if p.changes]
        async with self._lock:
            if not self.effects.baseline_taken:
                await self.effects.take_baseline()
            return await self.effects.apply(batches)

    def _observe(self, result: PollResult, health: SourceHealth) -> None:
        """The system's last successful poll (every entity asked), and each change's lag."""
        now = self.clock.time()
        if not result.failed:
            health.last_change_poll_at = now
        if self.lag is not None:
            for found in result.found:
                for change in found.changes:
                    if change.modified_at is not None:
                        self.lag(result.system, max(0.0, now - change.modified_at.timestamp()))

    async def poll_once(self, systems: list[str] | None = None) -> Round:
        """One poll of each system (all by default), then the effects of what it found."""
        names = systems if systems is not None else list(self.sources.systems)
        done = Round()
        async with self._lock:
            for name in names:
                with _tracer.start_as_current_span(f"events poll {name}") as span:
                    published = len(done.events)
                    await self._poll(name, done)
                    result = done.polls[-1]
                    span.set_attributes(
                        {
                            "opsgraph.system": name,
                            "opsgraph.events.changes": sum(len(f.changes) for f in result.found),
                            "opsgraph.events.failed": len(result.failed),
                            "opsgraph.events.published": len(done.events) - published,
                        }
                    )
        return done

    async def _poll(self, name: str, done: Round) -> None:
        system = self.sources.system(name)
        port = self.sources.port(name)
        result = await poll_system(name, system.role, port, self.marks, self.clock)
        done.polls.append(result)
        self._observe(result, system.client.health)
        if not self.effects.baseline_taken:
            await self.effects.take_baseline()
        done.events += await self.effects.apply(result.found)
        for found in result.found:
            await self.marks.put(found.system, found.entity, found.mark)
        if system.role is Role.ERP:
            done.events += await self.effects.check_periods(name)
