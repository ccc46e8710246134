"""The whole-response cache (ARCHITECTURE §5): a query's serialised response, in the read cache's backend.

An entry is the response's JSON bytes and when it stops being fresh (on the injected clock). It is
registered in the read cache's tag index under every tag of every value the response used, so the
read cache's `invalidate` (a workflow's write, a change event) deletes it with those values, on every
replica sharing the backend. Its lifetime is the least remaining freshness of those values.

A response is stored only when nothing was invalidated in this process while it was computed (it might
hold a value from before the change); the gateway decides what may be stored (`gateway/response_cache.py`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from cashews import Cache
from pydantic import BaseModel, ConfigDict, Field

from opsgraph.cache.tagindex import TagIndex
from opsgraph.clock import Clock

__all__ = ["RESULTS", "ResponseCache", "ResponseCachePolicy", "ResponseSink"]

log = logging.getLogger("opsgraph.cache")

RESULTS = ("hit", "miss", "bypass")
"""What happened to one request at the response cache: served from it, looked up and not found (the
request ran), or not looked up (`Cache-Control: no-cache`, a request it cannot key)."""

ResponseSink = Callable[[str], None]
"""Counts one result (one of `RESULTS`): the app's Prometheus counter."""


class ResponseCachePolicy(BaseModel):
    """`OPSGRAPH_RESPONSE_CACHE__...`"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="serve repeated queries from the whole-response cache")
    max_body_bytes: int = Field(
        1024 * 1024, ge=0, description="larger responses are not stored (they would crowd out the others)"
    )
    min_ttl_s: float = Field(1.0, ge=0, description="responses fresh for less than this are not stored")


@dataclass(frozen=True, slots=True)
class CachedResponse:
    body: bytes
    expires_at: float
    """`clock.time()` when it stops being fresh."""
    born_at: float
    """When the oldest value it holds was fetched (its `Age` counts from then)."""
    operation: str | None
    """The operation's name (for the request log and metrics of a hit)."""


class ResponseCache:
    def __init__(
        self,
        backend: Cache,
        tags: TagIndex,
        policy: ResponseCachePolicy,
        *,
        clock: Clock,
        generation: Callable[[], int],
        sink: ResponseSink | None = None,
    ) -> None:
        """`tags` must be the read cache's own index (same backend, same buckets) so that its
        invalidations find these entries; `generation` is its invalidation count in this process."""
        self._backend = backend
        self._tags = tags
        self._clock = clock
        self._generation = generation
        self.policy = policy
        self.sink = sink
        self.counts = dict.fromkeys(RESULTS, 0)
        self.stores = 0

    def count(self, result: str) -> None:
        self.counts[result] += 1
        if self.sink is not None:
            self.sink(result)

    @property
    def generation(self) -> int:
        """Note it when a request starts; `put` refuses a response computed across an invalidation."""
        return self._generation()

    async def get(self, key: str) -> CachedResponse | None:
        """The fresh entry under `key`, or None (a backend failure is a miss, never an error)."""
        try:
            value: Any = await self._backend.get(key)
        except Exception as exc:
            log.debug("response cache read failed: %s", type(exc).__name__)
            return None
        if value.__class__ is not tuple or len(value) != 4:
            return None
        body, expires_at, born_at, operation = value
        if self._clock.time() >= expires_at:
            return None
        return CachedResponse(body, expires_at, born_at, operation)

    async def put(
        self,
        key: str,
        body: bytes,
        tags: Collection[str],
        *,
        ttl_s: float,
        age_s: float,
        operation: str | None,
        since: int,
    ) -> bool:
        """Store `body` for `ttl_s` under `key`, tagged (`age_s`: the age of the oldest value it holds;
        `operation`: its name); False when it may not be (see the module)."""
        if (
            not tags
            or ttl_s < self.policy.min_ttl_s
            or len(body) > self.policy.max_body_bytes
            or self._generation() != since
        ):
            return False
        now = self._clock.time()
        try:
            # index first: an entry must never be in the backend without the tags that can remove it
            await self._tags.add({t: (key,) for t in tags}, now=now)
            entry = (body, now + ttl_s, now - age_s, operation)
            await self._backend.set(key, entry, expire=max(1, math.ceil(ttl_s)))
            if self._generation() != since:  # invalidated while being stored: its tags may be popped
                await self._backend.delete(key)
                return False
        except Exception as exc:
            log.debug("response cache write failed: %s", type(exc).__name__)
            return False
        self.stores += 1
        return True
