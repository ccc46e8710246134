"""Invalidation by tag for `ReadCache`, and the two races it must win.

- Invalidated while fetching: each invalidation gets the next sequence number; a fetch notes the number
  current when it starts, and its value is not stored when one of its tags got a later one here (it may
  predate the change).
- Invalidated during a backend outage: the invalidation is kept and replayed before the next read once the
  backend answers again (keys it already popped from the tag index are kept with it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from cashews import Cache

from opsgraph.cache.health import logger
from opsgraph.cache.metrics import CacheMetric
from opsgraph.cache.outcome import FAILED, Failed, Guard
from opsgraph.cache.tagindex import TagIndex
from opsgraph.clock import Clock

_DELETE_BATCH = 500
_MAX_REMEMBERED_INVALIDATIONS = 1024
_MAX_PENDING_INVALIDATIONS = 10_000


@dataclass(slots=True)
class _Pending:
    metric: CacheMetric
    tags: list[str]
    keys: set[str] = field(default_factory=set)


class Invalidations:
    def __init__(self, backend: Cache, tags: TagIndex, clock: Clock, guard: Guard) -> None:
        self._backend = backend
        self._tags = tags
        self._clock = clock
        self._guard = guard
        self._sequence = 0
        self._invalidated: dict[str, int] = {}  # tag -> sequence number of its latest local invalidation
        self._fetching: dict[int, int] = {}  # sequence number at a fetch's start -> fetches in flight
        self._pending: dict[tuple[str, ...], _Pending] = {}

    @property
    def generation(self) -> int:
        """How many invalidations this process has made."""
        return self._sequence

    @property
    def pending(self) -> bool:
        """Some invalidation failed during an outage and waits for `replay`."""
        return bool(self._pending)

    def fetch_started(self) -> int:
        """Note a fetch starting; pass what this returns to `changed_since` and `fetch_done`."""
        started = self._sequence
        self._fetching[started] = self._fetching.get(started, 0) + 1
        return started

    def fetch_done(self, started: int) -> None:
        left = self._fetching.pop(started) - 1
        if left:
            self._fetching[started] = left
        elif not self._fetching:
            self._invalidated.clear()  # no fetch in flight: none can store a value older than a change

    def changed_since(self, tags: Iterable[str], started: int) -> bool:
        """Whether one of `tags` was invalidated here after a fetch noted `started`."""
        return any(self._invalidated.get(t, -1) > started for t in tags)

    async def invalidate(self, metric: CacheMetric, tags: list[str], *, enabled: bool) -> int:
        """Drop every key carrying one of `tags`; returns how many were removed (0 while the backend
        is down: the invalidation is replayed when it answers)."""
        self._sequence += 1
        for t in tags:
            self._invalidated[t] = self._sequence
        self._forget_old()
        if not enabled:
            return 0
        pending = _Pending(metric, tags)
        removed = await self._drop(pending)
        if removed is FAILED:
            self._remember(pending)
            return 0
        return removed

    async def replay(self) -> None:
        """Apply the invalidations that failed during an outage, before reading again."""
        for tags, pending in list(self._pending.items()):
            if await self._drop(pending) is FAILED:
                return
            self._pending.pop(tags, None)

    async def _drop(self, pending: _Pending) -> int | Literal[Failed.FAILED]:
        """Pop the tags' keys from the index and delete them (plus keys left from a failed attempt)."""
        popped = await self._guard(
            pending.metric, lambda: self._tags.pop(pending.tags, now=self._clock.time()), force=True
        )
        if popped is FAILED:
            return FAILED
        pending.keys |= popped
        if not pending.keys:
            return 0
        removed = await self._guard(pending.metric, lambda: self._delete(sorted(pending.keys)), force=True)
        if removed is FAILED:
            return FAILED
        pending.keys.clear()
        pending.metric.add("evictions", removed)
        return removed

    async def _delete(self, keys: list[str]) -> int:
        removed = 0
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            present = await self._backend.get_many(*batch)
            removed += sum(1 for v in present if v is not None)
            await self._backend.delete_many(*batch)
        return removed

    def _remember(self, pending: _Pending) -> None:
        if len(self._pending) >= _MAX_PENDING_INVALIDATIONS:
            logger.warning("too many invalidations missed during a cache outage; dropping the oldest")
            self._pending.pop(next(iter(self._pending)))
        earlier = self._pending.pop(tuple(pending.tags), None)
        if earlier is not None:
            pending.keys |= earlier.keys
        self._pending[tuple(pending.tags)] = pending

    def _forget_old(self) -> None:
        """Forget invalidations no fetch in flight started before: they can no longer skip a store."""
        if len(self._invalidated) <= _MAX_REMEMBERED_INVALIDATIONS:
            return
        oldest = min(self._fetching, default=self._sequence)
        for t in [t for t, seq in self._invalidated.items() if seq <= oldest]:
            del self._invalidated[t]
