"""`ReadCache`: the read path's cache. Resolvers call `get_or_fetch_many` (loaders, by id) and
`get_or_fetch` (lists and child queries), `get_or_fetch_months` (date ranges, by calendar month); mutations
and change events call `invalidate` (`invalidation.py`).

What it guarantees:
- One backend read per call; only the keys not fresh go upstream, in ONE `fetch` call.
- Stampede protection: concurrent misses on a key make one upstream call. In process, each key being
  resolved has a future that later callers await (so a batch awaits the keys already in flight and
  fetches only the rest). Across replicas, a short lock on the set of keys being fetched (`peers.py`).
- Stale-on-failure: values live in the backend for TTL + `stale_grace_s` as `(value, stored_at)`. Past the
  TTL they are refetched; if the source is down (`SOURCE_DOWN_ERRORS`) the stale value is served and
  `CacheRead.stale_age_s` says how old it is. Past TTL + grace the error propagates.
- The cache never fails a query: a backend error is counted, logged once per outage, and the read goes
  straight to the source until the backend answers again. Invalidations that fail during an outage are
  kept and replayed when it recovers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any, Literal, TypeVar

from cashews import Cache
from opentelemetry import trace

from opsgraph.cache.health import BackendHealth
from opsgraph.cache.invalidation import Invalidations
from opsgraph.cache.keys import entity_key, entity_tag, query_key, tag
from opsgraph.cache.metrics import CacheMetric, CacheMetrics, CacheSink, prometheus_lines
from opsgraph.cache.months import by_month, months_between, runs
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

__all__ = ["SOURCE_DOWN_ERRORS", "CacheRead", "ReadCache"]

V = TypeVar("V")
T = TypeVar("T")

_tracer = trace.get_tracer("opsgraph.cache")


def _consume(future: asyncio.Future[Outcome]) -> None:
    """Mark a future's exception as retrieved (it may have no waiter besides its leader)."""
    if not future.cancelled():
        future.exception()


class ReadCache:
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

    @property
    def policy(self) -> CachePolicy:
        return self._policy

    @property
    def backend(self) -> Cache:
        return self._backend

    @property
    def tag_index(self) -> TagIndex:
        """The tag index `invalidate` pops (the response cache registers its entries in it too)."""
        return self._tags

    @property
    def generation(self) -> int:
        """How many invalidations this process has made (it changes with each one)."""
        return self._invalidations.generation

    # ---------------------------------------------------------------- public API

    async def get_or_fetch_many(
        self,
        *,
        source: str,
        entity: str,
        ids: Sequence[str],
        fetch: Callable[[list[str]], Awaitable[Mapping[str, V]]],
        scope: str = "default",
        tags_for: Callable[[V], Iterable[str]] | None = None,
    ) -> CacheRead[dict[str, V | None]]:
        """Records by id. `fetch` gets the ids not fresh in the cache, once; an id it leaves out of its
        result is cached as None ("does not exist"). Each value is tagged `tag(source, entity, id)`
        plus `tags_for(value)`."""
        unique = list(dict.fromkeys(ids))
        if not self._policy.enabled:
            found = await fetch(unique) if unique else {}
            return CacheRead({i: found.get(i) for i in unique}, False, None, 0.0, 0.0)
        target = self._target(source, entity)
        id_of = {entity_key(scope, source, entity, i): i for i in unique}

        async def fetch_keys(keys: list[str]) -> Mapping[str, Any]:
            found = await fetch([id_of[k] for k in keys])
            return {k: found.get(id_of[k]) for k in keys}

        def tags_of(key: str, value: Any) -> Iterable[str]:
            yield tag(source, entity, id_of[key])
            if tags_for is not None and value is not None:
                yield from tags_for(value)

        outcomes, failed = await self._resolve(target, list(id_of), fetch_keys, tags_of)
        if failed and not outcomes:
            raise next(iter(failed.values()))
        values: dict[str, V | None] = {id_of[k]: o.value for k, o in outcomes.items()}
        read = self._read_result(values, outcomes.values(), target)
        return replace(read, errors={id_of[k]: e for k, e in failed.items()}) if failed else read

    async def get_or_fetch(
        self,
        *,
        source: str,
        query: str,
        params: Mapping[str, object],
        fetch: Callable[[], Awaitable[V]],
        entity: str,
        scope: str = "default",
        tags: Iterable[str] = (),
        tags_for: Callable[[V], Iterable[str]] | None = None,
    ) -> CacheRead[V]:
        """A list or child query, cached per (scope, source, query, params) with the TTL of `entity`.
        Tagged with `tags`, `tags_for(value)` (e.g. the id of every record in the list) and always the
        entity-wide tag `entity_tag(source, entity)`, which any `invalidate(source, entity, ...)` drops."""
        if not self._policy.enabled:
            return CacheRead(await fetch(), False, None, 0.0, 0.0)
        target = self._target(source, entity)
        key = query_key(scope, source, query, params)
        static_tags = [*tags, entity_tag(source, entity)]

        async def fetch_keys(keys: list[str]) -> Mapping[str, Any]:
            return {key: await fetch()}

        def tags_of(_key: str, value: Any) -> Iterable[str]:
            yield from static_tags
            if tags_for is not None and value is not None:
                yield from tags_for(value)

        outcomes, failed = await self._resolve(target, [key], fetch_keys, tags_of)
        if key in failed:
            raise failed[key]
        outcome = outcomes[key]
        result: V = outcome.value
        return self._read_result(result, [outcome], target)

    async def get_or_fetch_months(
        self,
        *,
        source: str,
        query: str,
        params: Mapping[str, object],
        start: date,
        end: date,
        fetch: Callable[[date, date], Awaitable[Iterable[V]]],
        day_of: Callable[[V], date],
        entity: str,
        scope: str = "default",
    ) -> CacheRead[list[tuple[V, ...]]]:
        """Records of `start..end` by calendar month (`months.py`), oldest month first, each month in
        the order `fetch` listed it. Each month is cached on its own, keyed by (scope, source, query,
        params, month) with the TTL of `entity` and its entity-wide tag, so overlapping ranges share
        months; the months not fresh are fetched whole, one `fetch(first day, last day)` per run of
        consecutive months. Months are whole: the caller trims the edges to `start..end`."""
        months = months_between(start, end)
        if not self._policy.enabled:
            found = await fetch(start, end)
            return CacheRead(list(by_month(found, day_of, months).values()), False, None, 0.0, 0.0)
        target = self._target(source, entity)
        month_at = {query_key(scope, source, query, {**params, "month": m}): m for m in months}
        static_tags = [entity_tag(source, entity)]

        async def fetch_keys(keys: list[str]) -> Mapping[str, Any]:
            asked = [month_at[k] for k in keys]
            parts = await asyncio.gather(*(fetch(a, b) for a, b in runs(asked)))
            split = by_month((r for part in parts for r in part), day_of, asked)
            return {k: split[month_at[k]] for k in keys}

        def tags_of(_key: str, _value: Any) -> Iterable[str]:
            return static_tags

        outcomes, failed = await self._resolve(target, list(month_at), fetch_keys, tags_of)
        if failed:
            raise next(iter(failed.values()))
        buckets: list[tuple[V, ...]] = [outcomes[k].value for k in month_at]
        return self._read_result(buckets, outcomes.values(), target)

    async def invalidate(self, source: str, entity: str, id: str) -> int:
        """Drop every cached value tagged `tag(source, entity, id)`, and every list tagged with the
        entity-wide tag; returns how many keys were removed. Works across scopes and across every
        ReadCache sharing the backend."""
        tags = list(dict.fromkeys([tag(source, entity, id), entity_tag(source, entity)]))
        metric = self._metrics.of(source, entity)
        return await self._invalidations.invalidate(metric, tags, enabled=self._policy.enabled)

    @property
    def backend_down(self) -> bool:
        """Whether the backend is in an outage (reads go straight to the sources meanwhile)."""
        return self._health.down

    def metrics(self) -> list[CacheMetric]:
        """Copies of the counters per (source, entity)."""
        return self._metrics.snapshot()

    def prometheus_lines(self) -> list[str]:
        return prometheus_lines(self._metrics.snapshot())

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
