"""Redis with a local copy that Redis invalidates: cashews' client-side caching (`BcastClientSide`),
registered as the cashews backend `opsgraph-redis` (the Redis URL goes in `address`).

Redis tracks every key under `CLIENT_SIDE_PREFIX` (`CLIENT TRACKING ... BCAST PREFIX`) and tells each
replica's listener when one is written, deleted or expires; the listener drops its copy. A warm read is then
a dictionary lookup returning the object unpickled once, as on mem://. Until the listener has subscribed
(and while it reconnects after losing Redis) reads go to Redis. A peer's invalidation reaches this copy
within a Redis round trip, not at once.

What cashews does not: invalidations over RESP2 (redis-py 8 speaks RESP3, where they arrive as pushes
its listener never reads), and `close()` cancels a listener waiting to reconnect instead of awaiting it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from cashews import register_backend
from cashews.backends.memory import Memory
from cashews.backends.redis.client_side import BcastClientSide
from cashews.picklers import PicklerType

__all__ = ["CLIENT_SIDE_PREFIX", "LOCAL_COPY_SCHEME", "RedisWithLocalCopy"]

LOCAL_COPY_SCHEME = "opsgraph-redis"
CLIENT_SIDE_PREFIX = "og:"
"""Prefix of every key written through the local copy (the tag index's sets, never copied, have none)."""


class RedisWithLocalCopy(BcastClientSide):
    def __init__(self, *args: Any, local_size: int = 10_000, **kwargs: Any) -> None:
        kwargs["protocol"] = 2  # invalidations as messages on `__redis__:invalidate`
        kwargs["client_side_prefix"] = CLIENT_SIDE_PREFIX
        kwargs["local_cache"] = Memory(size=local_size, check_interval=60)
        super().__init__(*args, **kwargs)

    async def close(self) -> None:
        task = self._listen_task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self._listen_task = None
        await super().close()


register_backend(LOCAL_COPY_SCHEME, RedisWithLocalCopy, pickler=PicklerType.DEFAULT)
