"""The events of one gateway: polling per system, effects, and the bus subscriptions read from.

Started and stopped with the app's lifespan. The loops (one per system, each at its own interval) run
only with `events.poll`; `poll_once()` runs one round by hand (the tests drive polls with it, the loops
call it per system), so nothing here ever waits on the wall clock in a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from redis.asyncio import Redis

from opsgraph.cache import ReadCache
from opsgraph.clock import Clock
from opsgraph.events.bus import EventBus, LocalBus, RedisBus
from opsgraph.events.effects import Effects
from opsgraph.events.marks import MarkStore, MemoryMarks, RedisMarks
from opsgraph.events.poller import PollResult, poll_system
from opsgraph.events.readiness_event import ReadinessChanged
from opsgraph.events.settings import EventSettings
from opsgraph.model import Role
from opsgraph.resolvers.sources import Sources

logger = logging.getLogger("opsgraph.events")


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
    ) -> None:
        self.settings = settings
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

    async def poll_once(self, systems: list[str] | None = None) -> Round:
        """One poll of each system (all by default), then the effects of what it found."""
        names = systems if systems is not None else list(self.sources.systems)
        done = Round()
        async with self._lock:
            for name in names:
                system = self.sources.system(name)
                port = self.sources.port(name)
                result = await poll_system(name, system.role, port, self.marks, self.clock)
                done.polls.append(result)
                if not self.effects.baseline_taken:
                    await self.effects.take_baseline()
                done.events += await self.effects.apply(result.found)
                for found in result.found:
                    await self.marks.put(found.system, found.entity, found.mark)
                if system.role is Role.ERP:
                    done.events += await self.effects.check_periods(name)
        return done
