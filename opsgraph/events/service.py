"""The events of one gateway: polling per system, effects, and the bus subscriptions read from.

Started and stopped with the app's lifespan. The loops (one per system, each at its own interval) run
only with `events.poll`; `poll_once()` runs one round by hand (the tests drive polls with it, the loops
call it per system), so nothing here ever waits on the wall clock in a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry import trace
from redis.asyncio import Redis

from opsgraph.cache import ReadCache
from opsgraph.clock import Clock
from opsgraph.connectors.health import SourceHealth
from opsgraph.events.bus import EventBus, LocalBus, RedisBus
from opsgraph.events.effects import Effects
from opsgraph.events.marks import MarkStore, MemoryMarks, RedisMarks
from opsgraph.events.poller import PollResult, poll_system
from opsgraph.events.readiness_event import ReadinessChanged
from opsgraph.events.settings import EventSettings
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
        self.effects = Effects(sources, cache, clock, self.bus)
        self._lock = asyncio.Lock()
        self._loops: list[asyncio.Task[None]] = []
        self._first_rounds: dict[str, asyncio.Event] = {}

    async def start(self) -> None:
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
        await self.bus.close()
        await self.marks.close()

    async def first_rounds(self) -> None:
        """Until every loop has run its first poll (at once after start)."""
        await asyncio.gather(*(e.wait() for e in self._first_rounds.values()))

    async def _loop(self, system: str) -> None:
        interval = self.settings.interval_for(system)
        while True:
            try:
                await self.poll_once([system])
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("polling %s failed", system)
            self._first_rounds[system].set()
            await self.clock.sleep(interval)

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
