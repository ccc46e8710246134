"""Tag → keys index, kept in the cache backend itself so it works on mem:// and Redis, across replicas.

Why not cashews' own tags: `Cache.set(..., tags=...)` re-sets the tag set's expiry to each new member's
TTL (a short-lived member can make the set expire before a long-lived one, which then can no longer be
invalidated), and a set that never expires grows without bound for hot tags.

Here the sets are bucketed by time: a key written at time t goes into the set of bucket
`floor(t / L)`, where L is the longest lifetime any value has (`CachePolicy.max_lifetime_s`), and that
set expires at the end of the following bucket -- after every member it can hold. Invalidation pops the
previous, current and next bucket (the next one only for clock skew between replicas), so every live
key is found, and dead members disappear with their bucket.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping

from cashews import Cache
from cashews.backends.redis.backend import _Redis
from redis.asyncio import Redis

from opsgraph.cache.keys import tag_index_key

_POP_BATCH = 500
_CONCURRENCY = 16


async def _bounded(calls: list[Callable[[], Awaitable[object]]]) -> None:
    """Run the calls, at most `_CONCURRENCY` at a time (a burst must not drain the connection pool)."""
    for start in range(0, len(calls), _CONCURRENCY):
        await asyncio.gather(*(call() for call in calls[start : start + _CONCURRENCY]))


def _redis_client(backend: Cache, key: str) -> Redis | None:
    """The redis-py client under `backend` once connected (a single Redis, not a cluster); None on
    mem:// (its calls are in-process: nothing to pipeline) or before the first command connected it."""
    inner = backend._get_backend(key)
    client = inner._client if isinstance(inner, _Redis) and inner.is_init else None
    return client if isinstance(client, Redis) else None  # not a cluster


class TagIndex:
    def __init__(self, backend: Cache, bucket_s: float) -> None:
        self._backend = backend
        self._bucket_s = bucket_s

    def _bucket(self, now: float) -> int:
        return math.floor(now / self._bucket_s)

    async def add(self, keys_by_tag: Mapping[str, Collection[str]], *, now: float) -> None:
        """Record that each key carries its tag. `now` is wall-clock time (shared between replicas).
        On Redis, every tag in one pipelined round trip (a response holds hundreds of tags)."""
        bucket = self._bucket(now)
        expire = (bucket + 2) * self._bucket_s - now
        sets = [(tag_index_key(t, bucket), keys) for t, keys in keys_by_tag.items() if keys]
        if not sets:
            return
        client = _redis_client(self._backend, sets[0][0])
        if client is not None:
            expire_ms = max(1, int(expire * 1000))
            async with client.pipeline(transaction=False) as pipe:
                for index, keys in sets:
                    pipe.sadd(index, *keys)
                    pipe.pexpire(index, expire_ms)
                await pipe.execute()
            return
        calls: list[Callable[[], Awaitable[object]]] = [
            functools.partial(self._backend.set_add, index, *keys, expire=expire) for index, keys in sets
        ]
        await _bounded(calls)

    async def pop(self, tags: Iterable[str], *, now: float) -> set[str]:
        """Remove the tags from the index and return every key that carried one of them."""
        bucket = self._bucket(now)
        keys: set[str] = set()
        for t in tags:
            for b in (bucket - 1, bucket, bucket + 1):
                index = tag_index_key(t, b)
                while True:
                    popped = list(await self._backend.set_pop(index, count=_POP_BATCH))
                    keys.update(popped)
                    if len(popped) < _POP_BATCH:
                        break
                # the memory backend keeps an emptied (or never created) set, without expiry, after a
                # pop; give it the bucket's end. On Redis the emptied set is gone and this is a no-op.
                await self._backend.expire(index, max(1.0, (b + 2) * self._bucket_s - now))
        return keys
