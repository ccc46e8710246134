"""The stampede lock across replicas, for `ReadCache`: the caller that misses takes a short lock on the
set of keys it is about to fetch (`set_lock`, NX with expiry); a replica that finds the same key set locked
polls the cache for the values until the lock is released or expires, then fetches what is still missing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from cashews import Cache

from opsgraph.cache.keys import lock_key
from opsgraph.cache.outcome import FAILED, Guard, Outcome, Status, Target
from opsgraph.cache.policy import CachePolicy
from opsgraph.clock import Clock

_PEER_POLL_S = 0.05

Read = Callable[[Target, list[str]], Awaitable[dict[str, tuple[Any, float]] | None]]
"""The stored envelopes of some keys (None: the backend failed)."""


@dataclass(frozen=True, slots=True)
class Lock:
    key: str
    token: str
    held: bool  # False: a peer holds it


class PeerLocks:
    def __init__(self, backend: Cache, policy: CachePolicy, clock: Clock, guard: Guard, read: Read) -> None:
        self._backend = backend
        self._policy = policy
        self._clock = clock
        self._guard = guard
        self._read = read

    async def acquire(self, target: Target, keys: Collection[str]) -> Lock | None:
        """None when locking is off or the backend failed (fetch anyway)."""
        ttl = self._policy.lock_ttl_s
        if ttl <= 0:
            return None
        key, token = lock_key(keys), uuid.uuid4().hex
        held = await self._guard(target.metric, lambda: self._backend.set_lock(key, token, expire=ttl))
        if held is FAILED:
            return None
        return Lock(key, token, bool(held))

    async def release(self, target: Target, lock: Lock) -> None:
        await self._guard(target.metric, lambda: self._backend.unlock(lock.key, lock.token))

    async def await_peer(
        self, target: Target, keys: list[str], futures: dict[str, asyncio.Future[Outcome]], lock: Lock
    ) -> list[str]:
        """A peer is fetching these keys: take its values as they land; return those still missing
        once its lock is gone (it finished or failed) or has outlived `lock_ttl_s`."""
        deadline = self._clock.monotonic() + self._policy.lock_ttl_s
        remaining = keys
        while remaining and self._clock.monotonic() < deadline:
            await asyncio.sleep(_PEER_POLL_S)
            # check the lock before reading: the peer writes its values before it unlocks
            locked = await self._guard(target.metric, lambda: self._backend.exists(lock.key))
            entries = await self._read(target, remaining)
            if locked is FAILED or entries is None:
                break
            now = self._clock.time()
            still: list[str] = []
            for k in remaining:
                envelope = entries.get(k)
                if envelope is not None and now - envelope[1] <= target.ttl:
                    futures[k].set_result(Outcome(envelope[0], envelope[1], Status.MISS))
                else:
                    still.append(k)
            remaining = still
            if not locked:
                break
        return remaining
