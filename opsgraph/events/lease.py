"""Which replica polls a system: a lease per system in Redis (or, alone, this process always).

`SET key owner NX PX ttl` takes a free lease; the holder renews it (a compare-and-expire script: only
while it is still the owner) more often than it expires, and releases it at stop (compare-and-delete),
so another replica takes over at its next attempt. A holder that dies without releasing loses the
lease when it expires. Redis unreachable: nobody holds, nobody polls (webhooks still arrive).
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("opsgraph.events")

_KEY = "opsgraph:v1:events:lease:{system}"

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease(Protocol):
    shared: bool
    """True when other replicas compete for the same leases."""

    async def hold(self, system: str, ttl_s: float) -> bool:
        """Take the lease of `system` or renew ours, for `ttl_s`; whether we hold it now."""
        ...

    async def release_all(self) -> None: ...

    async def close(self) -> None: ...


class LocalLease:
    """One gateway without Redis: it polls every system."""

    shared = False

    async def hold(self, system: str, ttl_s: float) -> bool:
        return True

    async def release_all(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisLease:
    shared = True

    def __init__(self, redis: Redis, owner: str | None = None) -> None:
        self._redis = redis
        self.owner = owner or uuid.uuid4().hex
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self.held: set[str] = set()

    async def hold(self, system: str, ttl_s: float) -> bool:
        key, ttl_ms = _KEY.format(system=system), max(1, int(ttl_s * 1000))
        try:
            took = await self._redis.set(key, self.owner, nx=True, px=ttl_ms)
            held = bool(took) or bool(await self._renew(keys=[key], args=[self.owner, ttl_ms]))
        except RedisError as exc:
            logger.warning("the polling lease of %s is unknown (Redis: %s); not polling it", system, exc)
            held = False
        if held and system not in self.held:
            logger.info("this replica polls %s now", system)
        (self.held.add if held else self.held.discard)(system)
        return held

    async def holder(self, system: str) -> str | None:
        raw = await self._redis.get(_KEY.format(system=system))
        return raw.decode() if isinstance(raw, bytes) else raw

    async def release_all(self) -> None:
        for system in sorted(self.held):
            try:
                await self._release(keys=[_KEY.format(system=system)], args=[self.owner])
            except RedisError as exc:
                logger.warning("could not release the polling lease of %s: %s", system, exc)
        self.held.clear()

    async def close(self) -> None:
        await self._redis.aclose()
