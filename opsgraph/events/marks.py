"""High-water marks of change polling: where the next poll of a (system, entity) starts.

Vendors stamp changes in whole seconds and some answer `>=`, so a poll asks again from a little before
its mark (`OVERLAP`) and drops what it already reported at the boundary (`Mark.seen`). A change is only
remembered as seen once its stamp is `OVERLAP` older than the poll that saw it: a record changed twice
within one second carries the same stamp both times, so until its second is surely over it is reported
again (the effects are idempotent, and readiness events are published only when readiness moved).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis

from opsgraph.roles import Change

OVERLAP = timedelta(seconds=2)
"""How far before its mark a poll asks again."""

_KEY = "opsgraph:v1:events:mark:{system}:{entity}"


class Mark:
    """The latest change seen (`at`), and the changes already reported within `OVERLAP` of it."""

    def __init__(self, at: datetime, seen: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.at = at
        self.seen = seen

    @property
    def since(self) -> datetime:
        """What the next poll asks from."""
        return self.at - OVERLAP

    def fresh(self, changes: tuple[Change, ...]) -> list[Change]:
        """The changes not reported before."""
        return [c for c in changes if _seen_key(c) not in self.seen]

    def advanced(self, high_water: datetime, reported: list[Change], polled_at: datetime) -> Mark:
        """The mark after a poll at `polled_at` (wall clock) whose batch ended at `high_water` and
        reported `reported`."""
        at = max(self.at, high_water)
        floor, settled = at - OVERLAP, polled_at - OVERLAP
        done = (_seen_key(c) for c in reported if c.modified_at is not None and c.modified_at <= settled)
        keep = {k for k in (*self.seen, *done) if datetime.fromisoformat(k[1]) >= floor}
        return Mark(at, frozenset(keep))

    def to_json(self) -> str:
        return json.dumps({"at": self.at.isoformat(), "seen": sorted(map(list, self.seen))})

    @classmethod
    def from_json(cls, text: str | bytes) -> Mark:
        raw = json.loads(text)
        return cls(datetime.fromisoformat(raw["at"]), frozenset((i, m) for i, m in raw["seen"]))


def _seen_key(change: Change) -> tuple[str, str]:
    return (change.id, change.modified_at.isoformat() if change.modified_at else "")


class MarkStore(Protocol):
    async def get(self, system: str, entity: str) -> Mark | None: ...

    async def put(self, system: str, entity: str, mark: Mark) -> None: ...

    async def close(self) -> None: ...


class MemoryMarks:
    """Marks of this process (the default): a restart starts again from its start time."""

    def __init__(self) -> None:
        self._marks: dict[tuple[str, str], Mark] = {}

    async def get(self, system: str, entity: str) -> Mark | None:
        return self._marks.get((system, entity))

    async def put(self, system: str, entity: str, mark: Mark) -> None:
        self._marks[(system, entity)] = mark

    async def close(self) -> None:
        return None


class RedisMarks:
    """Marks in Redis: they survive a restart (changes made meanwhile are found) and are shared by
    the replicas, whichever of them polls."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, system: str, entity: str) -> Mark | None:
        raw = await self._redis.get(_KEY.format(system=system, entity=entity))
        return Mark.from_json(raw) if raw is not None else None

    async def put(self, system: str, entity: str, mark: Mark) -> None:
        await self._redis.set(_KEY.format(system=system, entity=entity), mark.to_json())

    async def close(self) -> None:
        await self._redis.aclose()
