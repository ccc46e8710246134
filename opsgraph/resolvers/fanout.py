"""Reads that fan out to every configured system of a role, below the cache.

A loader's keys are canonical keys (`system:id`): they are grouped by system, each system's port is
asked with its LOCAL ids through the cache (whose `source` part is the system's name, so keys and
tags are per system), and the answer is re-keyed by canonical key. One system's failure fails only
that system's keys. A lookup by a cross-system join key (an engagement code, a CRM client id) asks
every system of the role; a listing reads every system of the role and concatenates in the order
the settings declare the systems.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from opsgraph.cache import tag
from opsgraph.connectors.errors import SourceError
from opsgraph.model import AnyRecord, Role, record_key, split_key
from opsgraph.resolvers.derived import SHARED, Derived
from opsgraph.resolvers.reads import ReadThrough
from opsgraph.resolvers.sources import Sources, System

T = TypeVar("T")
V = TypeVar("V")
R = TypeVar("R", bound=AnyRecord)

Fetch = Callable[[list[str]], Awaitable[Mapping[str, V]]]
"""A port's batch read: local ids (or join values) in, a mapping of those it has out."""

FetchOf = Callable[[System], Fetch[V]]
"""Which batch read of a system's port a loader uses (`lambda s: crm(s).clients_by_ids`)."""

Found = dict[str, V | BaseException | None]


NOT_READY: Any = object()
"""`Memo.ready`: not computed yet (or failed): await it."""


class Memo:
    """Request-scoped memoisation of whole-collection reads; concurrent callers share one call."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[Any]] = {}

    def ready(self, key: Hashable) -> Any:
        """What `get(key)` would return, without awaiting, if it already succeeded; else `NOT_READY`."""
        task = self._tasks.get(key)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return NOT_READY
        return task.result()

    async def get(self, key: Hashable, factory: Callable[[], Awaitable[T]]) -> T:
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(factory())
            self._tasks[key] = task
        result: T = await task
        return result


def ordered(
    keys: Sequence[str], found: Mapping[str, V | BaseException | None]
) -> list[V | BaseException | None]:
    """Values in key order; an error stands in for the one key it belongs to (the DataLoader raises it)."""
    return [found.get(k) for k in keys]


def grouped(
    keys: Sequence[T], found: Mapping[T, list[V] | BaseException | None]
) -> list[list[V] | BaseException]:
    """Children in key order: `[]` for a key with none, its error for a key whose system failed."""
    return [v if isinstance(v := found.get(k), BaseException) else v or [] for k in keys]


def own_tags(entity: str, record: AnyRecord | None) -> list[str]:
    """The record's own tag: a value cached under a join key is dropped when the record changes."""
    return [tag(record.system, entity, record.id)] if record is not None else []


def children_tags(entity: str, records: Iterable[AnyRecord] | None) -> list[str]:
    return [tag(r.system, entity, r.id) for r in records or []]


def by_system(keys: Iterable[str], systems: Iterable[System]) -> dict[str, tuple[System, list[str]]]:
    """Local ids per system name, for the keys of `systems`; a malformed key or another system's
    is left out."""
    named = {s.name: s for s in systems}
    out: dict[str, tuple[System, list[str]]] = {}
    for key in keys:
        try:
            name, local = split_key(key)
        except ValueError:
            continue
        if name in named:
            out.setdefault(name, (named[name], []))[1].append(local)
    return out


class Fanout:
    """Builds the per-request loaders and listings of every role over `sources`."""

    def __init__(self, sources: Sources, reads: ReadThrough, memo: Memo, derived: Derived = SHARED) -> None:
        self.sources = sources
        self.reads = reads
        self.memo = memo
        self.derived = derived

    def derive(self, slot: Hashable, sources: Sequence[object], build: Callable[[], V]) -> V:
        """`build()` once per version of the cached `sources` (`derived.py`); every time without a
        cache, whose listings are new objects on every read."""
        if self.reads.cache is None or not self.reads.cache.policy.enabled:
            return build()
        return self.derived.get(slot, sources, build)

    async def _read(
        self,
        system: System,
        entity: str,
        ids: list[str],
        fetch: Fetch[V],
        tags_for: Callable[[Any], Iterable[str]] | None,
    ) -> Mapping[str, V | BaseException | None]:
        """One system's batch read through the cache; its failure maps to each of its ids."""
        try:
            return await self.reads.many(system.name, entity, ids, fetch, tags_for)
        except SourceError as exc:
            return dict.fromkeys(ids, exc)

    async def read_keys(
        self,
        role: Role,
        entity: str,
        keys: Sequence[str],
        fetch_of: FetchOf[V],
        tags_for: Callable[[V], Iterable[str]] | None = None,
    ) -> Found[V]:
        """Values by canonical key: each system of `role` asked once with its local ids, concurrently."""
        groups = by_system(keys, self.sources.of_role(role))
        results = await asyncio.gather(
            *(self._read(s, entity, ids, fetch_of(s), tags_for) for s, ids in groups.values())
        )
        found: Found[V] = {}
        for name, part in zip(groups, results, strict=True):
            for local, value in part.items():
                found[record_key(name, local)] = value
        return found

    def by_key(self, role: Role, entity: str, fetch_of: FetchOf[R]) -> DataLoader[str, R | None]:
        """One record per canonical key (None: the system has no such record, or no such system)."""

        async def load(keys: list[str]) -> list[R | BaseException | None]:
            return ordered(keys, await self.read_keys(role, entity, keys, fetch_of))

        return DataLoader(load_fn=load)

    def children(
        self,
        role: Role,
        entity: str,
        fetch_of: FetchOf[list[R]],
        child: str,
        *,
        then: Callable[[Iterable[R]], None] | None = None,
    ) -> DataLoader[str, list[R]]:
        """The children of each parent key, batched across a response level and tagged with each
        child's own tag as `child`; `then` sees every child read (to prime other loaders)."""

        def tags_for(records: list[R]) -> list[str]:
            return children_tags(child, records)

        async def load(keys: list[str]) -> list[list[R] | BaseException]:
            found = await self.read_keys(role, entity, keys, fetch_of, tags_for)
            if then is not None:
                then(r for rows in found.values() if isinstance(rows, list) for r in rows)
            return grouped(keys, found)

        return DataLoader(load_fn=load)

    async def read_joined(
        self, role: Role, entity: str, values: Sequence[str], fetch_of: FetchOf[R], tagged_as: str
    ) -> Found[R]:
        """Records by a cross-system join value, asked of every system of `role`. A join value is
        unique across systems, so the system that has it owns it (the first in declared order, should
        two have it); a value no system has is None, or the first error when some system failed."""
        systems = self.sources.of_role(role)
        unique = list(dict.fromkeys(values))

        def tags_for(record: R) -> list[str]:
            return own_tags(tagged_as, record)

        parts = await asyncio.gather(*(self._read(s, entity, unique, fetch_of(s), tags_for) for s in systems))
        found: Found[R] = {}
        for value in unique:
            error: BaseException | None = None
            for part in parts:
                got = part.get(value)
                if isinstance(got, BaseException):
                    error = error or got
                elif got is not None:
                    found[value] = got
                    break
            else:
                found[value] = error
        return found

    def joined(
        self,
        role: Role,
        entity: str,
        fetch_of: FetchOf[R],
        tagged_as: str,
        *,
        local: Callable[[str], str | None] | None = None,
    ) -> DataLoader[str, R | None]:
        """A DataLoader by join value; `local` turns each key into the value the ports are asked with
        (None: the key cannot match)."""

        async def load(keys: list[str]) -> list[R | BaseException | None]:
            asked = [local(k) if local else k for k in keys]
            found = await self.read_joined(
                role, entity, [v for v in asked if v is not None], fetch_of, tagged_as
            )
            return [found.get(v) if v is not None else None for v in asked]

        return DataLoader(load_fn=load)

    # -- listings ----------------------------------------------------------------------------

    async def listing(
        self,
        system: System,
        entity: str,
        query: str,
        fetch: Callable[[], Awaitable[V]],
        params: Mapping[str, object] | None = None,
    ) -> V:
        """One system's listing, read once per request (and cached), whoever asks."""
        key = (system.name, query, tuple(sorted((params or {}).items())))
        return await self.memo.get(
            key, lambda: self.reads.one(system.name, entity, query, params or {}, fetch)
        )

    async def listings(
        self,
        systems: Iterable[System],
        entity: str,
        query: str,
        fetch_of: Callable[[System], Callable[[], Awaitable[list[T]]]],
        params: Mapping[str, object] | None = None,
    ) -> list[T]:
        """Every system's listing, concatenated in declared order; the first system's error that
        failed (in declared order) is raised."""
        chosen = list(systems)
        slot = ("listings", query, tuple(s.name for s in chosen), tuple(sorted((params or {}).items())))
        return await self.concat(slot, [self.listing(s, entity, query, fetch_of(s), params) for s in chosen])

    async def concat(self, slot: Hashable, reads: Sequence[Awaitable[list[T]]]) -> list[T]:
        """The lists `reads` give, concatenated in their order (once per version of them, in `slot`);
        the first that failed (in that order) raises."""
        parts = await asyncio.gather(*reads, return_exceptions=True)
        lists: list[list[T]] = []
        for part in parts:
            if isinstance(part, BaseException):
                raise part
            lists.append(part)
        if len(lists) == 1:
            return lists[0]  # the cached listing itself: what is derived from it is kept
        return self.derive(slot, lists, lambda: [row for part in lists for row in part])

    def index_ready(self, name: str) -> Any:
        """The index `name` if this request already built it, else `NOT_READY` (a sync resolver's
        fast path: a dictionary lookup needs no coroutine once the index is there)."""
        return self.memo.ready(("index", name))

    async def index(self, name: str, build: Callable[[], Awaitable[V]]) -> V:
        """A structure derived from listings (an index by key), built once per request."""
        return await self.memo.get(("index", name), build)
