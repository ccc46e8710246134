"""The engine under `ReadCache` (`store.py`): keys resolved from the backend or upstream, one call each.

- One backend read per call; only the keys not fresh go upstream, in ONE `fetch_keys` call.
- Single flight in process: each key being resolved has a future that later callers await (a batch awaits
  the keys already in flight and fetches only the rest); across replicas, a short lock (`peers.py`).
- Stale-on-failure: a value past its TTL but within its lifetime is served when the source is down.
- A backend failure is counted and reported (`_guarded`) and the read goes to the source meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

from cashews import Cache
from opentelemetry import trace

from opsgraph.cache.health import BackendHealth
from opsgraph.cache.invalidation import Invalidations
from opsgraph.cache.metrics import CacheMetric, CacheMetrics, CacheSink
from opsgraph.cache.outcome import (
    FAILED,
    SOURCE_DOWN_ERRORS,
    CacheRead,
    Failed,
    FetchKeys,
    Outcome,
    Status,
    TagsOf,
    Target,
    is_envelope,
    read_result,
)
from opsgraph.cache.peers import PeerLocks
from opsgraph.cache.policy import CachePolicy
from opsgraph.cache.tagindex import TagIndex
from opsgraph.clock import Clock, SystemClock

T = TypeVar("T")

_tracer = trace.get_tracer("opsgraph.cache")


def _consume(future: asyncio.Future[Outcome]) -> None:
    """Mark a future's exception as retrieved (it may have no waiter besides its leader)."""
    if not future.cancelled():
        future.exception()


class Resolver:
    def __init__(
        self,
        backend: Cache,
        policy: CachePolicy,
        *,
        clock: Clock | None = None,
        sink: CacheSink | None = None,
    ) -> None:
        """`clock.time` stamps values (ages and TTLs are shared with other replicas through the
        backend); `clock.monotonic` paces the backend retries and bounds the wait for a peer's lock."""
        self._backend = backend
        self._policy = policy
        self._clock = clock or SystemClock()
        self._metrics = CacheMetrics(sink)  # `sink`: the app's Prometheus counters
        self._health = BackendHealth(policy.backend_retry_s, monotonic=self._clock.monotonic)
        self._tags = TagIndex(backend, policy.max_lifetime_s)
        self._inflight: dict[str, asyncio.Future[Outcome]] = {}
        # "invalidated while fetching": each invalidation gets the next sequence number; a fetch notes
        # the number current when it starts and does not store a value whose tag got a later one.
        self._invalidations = Invalidations(backend, self._tags, self._clock, self._guarded)
        self._peers = PeerLocks(backend, policy, self._clock, self._guarded, self._read)

    # ---------------------------------------------------------------- resolution

    def _target(self, source: str, entity: str) -> Target:
        return Target(
            source,
            entity,
            self._policy.ttl_for(entity),
            self._policy.lifetime_for(entity),
            self._metrics.of(source, entity),
        )

    async def _resolve(
        self, target: Target, keys: list[str], fetch_keys: FetchKeys, tags_of: TagsOf
    ) -> tuple[dict[str, Outcome], dict[str, BaseException]]:
        """`_resolve_keys` in a span `cache <system>.<entity>`: keys, hits, misses, stale serves (the
        upstream call of a miss is its child)."""
        with _tracer.start_as_current_span(f"cache {target.source}.{target.entity}") as span:
            outcomes, errors = await self._resolve_keys(target, keys, fetch_keys, tags_of)
            statuses = [o.status for o in outcomes.values()]
            span.set_attributes(
                {
                    "opsgraph.system": target.source,
                    "opsgraph.entity": target.entity,
                    "opsgraph.cache.keys": len(keys),
                    "opsgraph.cache.hits": statuses.count(Status.HIT),
                    "opsgraph.cache.misses": statuses.count(Status.MISS) + len(errors),
                    "opsgraph.cache.stale": statuses.count(Status.STALE),
                }
            )
            return outcomes, errors

    async def _resolve_keys(
        self, target: Target, keys: list[str], fetch_keys: FetchKeys, tags_of: TagsOf
    ) -> tuple[dict[str, Outcome], dict[str, BaseException]]:
        """Single-flight per key: lead the keys nobody is resolving, await the others.
        Returns the outcome of each key that has a value, and the error of each that has none."""
        loop = asyncio.get_running_loop()
        outcomes: dict[str, Outcome] = {}
        errors: dict[str, BaseException] = {}
        pending = keys
        while pending:
            waits = {k: self._inflight[k] for k in pending if k in self._inflight}
            mine: dict[str, asyncio.Future[Outcome]] = {}
            for k in pending:
                if k not in waits:
                    future: asyncio.Future[Outcome] = loop.create_future()
                    future.add_done_callback(_consume)
                    mine[k] = self._inflight[k] = future
            try:
                if mine:
                    await self._lead(target, mine, fetch_keys, tags_of)
            finally:
                for k, future in mine.items():
                    if not future.done():  # only when the leader was cancelled: its waiters retry
                        future.cancel()
                    if self._inflight.get(k) is future:
                        del self._inflight[k]
            if waits:
                await asyncio.wait(waits.values())
            pending = []
            for k, future in (*mine.items(), *waits.items()):
                if future.cancelled():
                    pending.append(k)
                elif (exc := future.exception()) is not None:
                    errors[k] = exc
                    target.metric.add("misses")
                else:
                    outcome = outcomes[k] = future.result()
                    if outcome.status is Status.HIT:
                        target.metric.add("hits")
                    elif outcome.status is Status.STALE:
                        target.metric.add("stale_serves")
                    else:
                        target.metric.add("misses")
        return outcomes, errors

    async def _lead(
        self,
        target: Target,
        futures: dict[str, asyncio.Future[Outcome]],
        fetch_keys: FetchKeys,
        tags_of: TagsOf,
    ) -> None:
        """Settle every future: from the cache when fresh, else from upstream (or stale if it is down)."""
        keys = list(futures)
        entries = await self._read(target, keys) or {}
        now = self._clock.time()
        need: list[str] = []
        stale: dict[str, Outcome] = {}
        for k in keys:
            envelope = entries.get(k)
            if envelope is not None:
                value, stored_at = envelope
                age = now - stored_at
                if age <= target.ttl:
                    futures[k].set_result(Outcome(value, stored_at, Status.HIT))
                    continue
                target.metric.add("evictions")  # observed expiry
                if age <= target.lifetime:
                    stale[k] = Outcome(value, stored_at, Status.STALE)
            need.append(k)
        if need:
            await self._fill(target, need, futures, stale, fetch_keys, tags_of)

    async def _fill(
        self,
        target: Target,
        need: list[str],
        futures: dict[str, asyncio.Future[Outcome]],
        stale: dict[str, Outcome],
        fetch_keys: FetchKeys,
        tags_of: TagsOf,
    ) -> None:
        lock = await self._peers.acquire(target, need)
        if lock is not None and not lock.held:
            need = await self._peers.await_peer(target, need, futures, lock)
            lock = None
            if not need:
                return
        try:
            await self._fetch_and_settle(target, need, futures, stale, fetch_keys, tags_of)
        finally:
            if lock is not None:
                await self._peers.release(target, lock)

    async def _fetch_and_settle(
        self,
        target: Target,
        keys: list[str],
        futures: dict[str, asyncio.Future[Outcome]],
        stale: dict[str, Outcome],
        fetch_keys: FetchKeys,
        tags_of: TagsOf,
    ) -> None:
        started = self._invalidations.fetch_started()
        try:
            try:
                found = await fetch_keys(keys)
            except SOURCE_DOWN_ERRORS as exc:
                for k in keys:
                    if k in stale:
                        futures[k].set_result(stale[k])
                    else:
                        futures[k].set_exception(exc)
                return
            except Exception as exc:
                for k in keys:
                    futures[k].set_exception(exc)
                return
            stored_at = self._clock.time()
            values = {k: found.get(k) for k in keys}
            for k, value in values.items():
                futures[k].set_result(Outcome(value, stored_at, Status.MISS))
            await self._store(target, values, stored_at, tags_of, started)
        finally:
            self._invalidations.fetch_done(started)

    def _read_result(self, value: T, outcomes: Iterable[Outcome], target: Target) -> CacheRead[T]:
        return read_result(value, outcomes, target, self._clock.time())

    # ---------------------------------------------------------------- backend access

    async def _guarded(
        self, metric: CacheMetric, call: Callable[[], Awaitable[T]], *, force: bool = False
    ) -> T | Literal[Failed.FAILED]:
        """Run a backend operation; on failure count it against `metric`, report it and return `FAILED`."""
        if not force and not self._health.available():
            return FAILED
        began = self._health.begin()
        try:
            result = await call()
        except Exception as exc:
            metric.add("errors")
            self._health.failed(exc, began)
            return FAILED
        self._health.succeeded(began)
        return result

    async def _read(self, target: Target, keys: list[str]) -> dict[str, tuple[Any, float]] | None:
        if self._invalidations.pending and self._health.available():
            await self._invalidations.replay()
        values = await self._guarded(target.metric, lambda: self._backend.get_many(*keys))
        if values is FAILED:
            return None
        entries: dict[str, tuple[Any, float]] = {}
        for k, v in zip(keys, values, strict=True):
            if is_envelope(v):
                entries[k] = v
        return entries

    async def _store(
        self,
        target: Target,
        values: Mapping[str, Any],
        stored_at: float,
        tags_of: TagsOf,
        started: int,
    ) -> None:
        pairs: dict[str, tuple[Any, float]] = {}
        keys_by_tag: dict[str, list[str]] = {}
        for k, value in values.items():
            key_tags = set(tags_of(k, value))
            if self._invalidations.changed_since(key_tags, started):
                continue  # invalidated here while it was being fetched: it may predate the change
            pairs[k] = (value, stored_at)
            for t in key_tags:
                keys_by_tag.setdefault(t, []).append(k)
        if not pairs:
            return
        # index first: a value must never be in the cache without the tags that can remove it
        wall = self._clock.time()
        if await self._guarded(target.metric, lambda: self._tags.add(keys_by_tag, now=wall)) is FAILED:
            return
        await self._guarded(target.metric, lambda: self._backend.set_many(pairs, expire=target.lifetime))
