"""A request's view of the shared read cache.

Loaders read through here, one configured system at a time (the system's name is the cache's
`source` part). It scopes keys to the caller, records `STALE_DATA` warnings naming the system when
a value was served stale because that system was down, and tracks the freshness of everything the
response used, for `Cache-Control`/`Age` hints.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from opentelemetry import trace

from opsgraph.cache import ReadCache, entity_tag, tag
from opsgraph.cache.store import CacheRead

V = TypeVar("V")
_tracer = trace.get_tracer("opsgraph.loaders")


@dataclass
class ReadThrough:
    cache: ReadCache | None
    scope: str = "default"
    warnings: list[dict[str, Any]] = field(default_factory=list)
    min_ttl_s: float | None = None
    max_age_s: float = 0.0
    uncached: bool = False
    """Some value came straight from a source with no cache, or the response shows live state (workflows,
    source health): it must not be cached downstream, nor in the response cache."""
    tags: set[str] | None = None
    """When a set (the response cache asks for it): the tags of every value read, which are the tags
    the response is dropped by."""

    def _note(self, read: CacheRead[Any], system: str) -> None:
        if read.stale_age_s is not None:
            # `source` is kept for clients of the previous release; both name the system
            warning = {
                "code": "STALE_DATA",
                "source": system,
                "system": system,
                "age": round(read.stale_age_s, 1),
            }
            if not any(w.get("code") == "STALE_DATA" and w.get("system") == system for w in self.warnings):
                self.warnings.append(warning)
        self.min_ttl_s = read.ttl_s if self.min_ttl_s is None else min(self.min_ttl_s, read.ttl_s)
        self.max_age_s = max(self.max_age_s, read.max_age_s)

    async def many(
        self,
        system: str,
        entity: str,
        ids: Sequence[str],
        fetch: Callable[[list[str]], Awaitable[Mapping[str, V]]],
        tags_for: Callable[[V], Iterable[str]] | None = None,
    ) -> Mapping[str, V | BaseException | None]:
        """Records of `system` by local id. An id whose read failed and that has no stale value maps
        to its error, so the loader fails that key alone (served stale values for the other ids stay)."""
        with _tracer.start_as_current_span(f"load {system}.{entity}") as span:
            span.set_attributes(
                {"opsgraph.system": system, "opsgraph.entity": entity, "opsgraph.keys": len(ids)}
            )
            if self.cache is None:
                self.uncached = True
                return await fetch(list(ids))
            read = await self.cache.get_or_fetch_many(
                source=system, entity=entity, ids=ids, fetch=fetch, scope=self.scope, tags_for=tags_for
            )
            span.set_attribute("opsgraph.cache_hit", read.hit)
        self._note(read, system)
        if self.tags is not None:
            self.tags.update(tag(system, entity, i) for i in ids)
            if tags_for is not None:
                for value in read.value.values():
                    if value is not None:
                        self.tags.update(tags_for(value))
        if read.errors:
            self.uncached = True
            return {**read.value, **read.errors}
        return read.value

    async def one(
        self,
        system: str,
        entity: str,
        query: str,
        params: Mapping[str, object],
        fetch: Callable[[], Awaitable[V]],
        tags_for: Callable[[V], Iterable[str]] | None = None,
    ) -> V:
        """One listing of `system`, cached per (scope, system, query, params)."""
        with _tracer.start_as_current_span(f"list {system}.{query}") as span:
            span.set_attributes({"opsgraph.system": system, "opsgraph.entity": entity})
            if self.cache is None:
                self.uncached = True
                return await fetch()
            read = await self.cache.get_or_fetch(
                source=system,
                query=query,
                params=params,
                fetch=fetch,
                entity=entity,
                scope=self.scope,
                tags_for=tags_for,
            )
            span.set_attribute("opsgraph.cache_hit", read.hit)
        self._note(read, system)
        if self.tags is not None:
            self.tags.add(entity_tag(system, entity))
            if tags_for is not None and read.value is not None:
                self.tags.update(tags_for(read.value))
        return read.value

    async def months(
        self,
        system: str,
        entity: str,
        query: str,
        params: Mapping[str, object],
        span: tuple[date, date],
        fetch: Callable[[date, date], Awaitable[Iterable[V]]],
        day_of: Callable[[V], date],
    ) -> list[tuple[V, ...]]:
        """One listing of `system` over `span`, cached by calendar month (`ReadCache.get_or_fetch_months`):
        the months' records, oldest month first, whole months."""
        start, end = span
        with _tracer.start_as_current_span(f"list {system}.{query}") as s:
            s.set_attributes({"opsgraph.system": system, "opsgraph.entity": entity})
            if self.cache is None:
                self.uncached = True
                return [tuple(await fetch(start, end))]
            read = await self.cache.get_or_fetch_months(
                source=system,
                query=query,
                params=params,
                start=start,
                end=end,
                fetch=fetch,
                day_of=day_of,
                entity=entity,
                scope=self.scope,
            )
            s.set_attribute("opsgraph.cache_hit", read.hit)
        self._note(read, system)
        if self.tags is not None:
            self.tags.add(entity_tag(system, entity))
        return read.value
