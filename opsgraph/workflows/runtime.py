"""The live objects the durable functions need, bound once per process by the engine.

DBOS calls workflow and step functions by name, with their checkpointed (JSON) arguments only; the
systems' clients, the store and the write queues cannot be arguments, so they live here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from dbos import DBOS, Queue

from opsgraph.workflows.kinds import Systems
from opsgraph.workflows.settings import WorkflowSettings
from opsgraph.workflows.store import WorkflowStore

Invalidate = Callable[[str, str, str], Awaitable[object]]
"""`invalidate(system, entity, id)`: drops the cached record and every cached list of the entity
(the gateway passes its `ReadCache.invalidate`)."""

QUEUE_PREFIX = "opsgraph-writes-"


@dataclass
class Runtime:
    store: WorkflowStore
    systems: Systems
    settings: WorkflowSettings
    invalidate: Invalidate | None = None
    queues: dict[str, Queue] = field(default_factory=dict)
    _queue_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def queue(self, system: str) -> Queue:
        """The write queue of `system`, registered (in the store, for every process) on first use."""
        found = self.queues.get(system)
        if found is not None:
            return found
        async with self._queue_lock:
            if system not in self.queues:
                limits = self.settings.limits(system)
                self.queues[system] = await DBOS.register_queue_async(
                    QUEUE_PREFIX + system,
                    global_concurrency=limits.concurrency,
                    limiter={"limit": limits.rate, "period": limits.period_s},
                    polling_interval_sec=self.settings.poll_interval_s,
                    on_conflict="always_update",
                )
            return self.queues[system]


_current: Runtime | None = None


def bind(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("the workflow engine is not launched")
    return _current
