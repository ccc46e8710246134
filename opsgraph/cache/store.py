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
from typing import Any, TypeVar

from cashews import Cache

from opsgraph.cache.keys import entity_key, entity_tag, query_key, tag
from opsgraph.cache.metrics import CacheMetric, prometheus_lines
from opsgraph.cache.months import by_month, months_between, runs
from opsgraph.cache.outcome import SOURCE_DOWN_ERRORS, CacheRead
from opsgraph.cache.policy import CachePolicy
from opsgraph.cache.resolver import Resolver
from opsgraph.cache.tagindex import TagIndex

__all__ = ["SOURCE_DOWN_ERRORS", "CacheRead", "ReadCache"]

V = TypeVar("V")


class ReadCache(Resolver):
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
