"""What a `ReadCache` read gives back (`CacheRead`), and the pieces its read path passes around: each key's
outcome, the entity being read (`Target`), and `FAILED` for a backend call that failed."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeGuard, TypeVar

from opsgraph.cache.metrics import CacheMetric
from opsgraph.connectors.errors import SourceRateLimited, SourceTimeout, SourceUnavailable

V = TypeVar("V")
T = TypeVar("T")

SOURCE_DOWN_ERRORS: tuple[type[Exception], ...] = (SourceUnavailable, SourceTimeout, SourceRateLimited)
"""Errors that mean "the source is down right now": a stale value within the grace is served instead."""


@dataclass(frozen=True, slots=True)
class CacheRead(Generic[V]):
    """A value and where it came from."""

    value: V
    hit: bool
    """Every value used was fresh in the cache (no upstream call)."""
    stale_age_s: float | None
    """Set when a stale value was served because its source was down: the age of the oldest one."""
    max_age_s: float
    """Age of the oldest value used (0 for values just fetched)."""
    ttl_s: float
    """The smallest remaining freshness among the values used (0 when stale or the cache is off)."""
    errors: dict[str, BaseException] = field(default_factory=dict)
    """Per id, the upstream error for ids that had neither a fresh nor a stale value (batch reads only):
    one id failing does not take down the stale values of the others."""


class Failed(enum.Enum):
    FAILED = enum.auto()


FAILED: Literal[Failed.FAILED] = Failed.FAILED
"""What a guarded backend call returns when the backend failed (counted and reported already)."""


class Status(enum.Enum):
    HIT = "hit"
    MISS = "miss"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Outcome:
    value: Any
    stored_at: float
    status: Status


@dataclass(frozen=True, slots=True)
class Target:
    """The entity a read is for: its TTL, how long the backend keeps it, and its counters."""

    source: str
    entity: str
    ttl: float
    lifetime: float
    metric: CacheMetric


FetchKeys = Callable[[list[str]], Awaitable[Mapping[str, Any]]]
"""Values of the keys not fresh in the cache, from upstream."""

TagsOf = Callable[[str, Any], Iterable[str]]
"""The tags of a key's value."""


class Guard(Protocol):
    """Runs a backend call; a failure is counted against `metric`, reported, and returned as `FAILED`."""

    async def __call__(
        self, metric: CacheMetric, call: Callable[[], Awaitable[T]], *, force: bool = False
    ) -> T | Literal[Failed.FAILED]: ...


def is_envelope(value: object) -> TypeGuard[tuple[Any, float]]:
    """A stored `(value, stored_at)`."""
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], float | int)


def read_result(value: T, outcomes: Iterable[Outcome], target: Target, now: float) -> CacheRead[T]:
    """The `CacheRead` of a value made of these outcomes: a hit when all were, the oldest age, the
    smallest remaining freshness."""
    hit = True
    max_age = 0.0
    ttl_left = target.ttl
    stale_age: float | None = None
    for outcome in outcomes:
        age = max(0.0, now - outcome.stored_at)
        max_age = max(max_age, age)
        if outcome.status is Status.STALE:
            stale_age = max(stale_age or 0.0, age)
            ttl_left = 0.0
        else:
            ttl_left = min(ttl_left, max(0.0, target.ttl - age))
        if outcome.status is not Status.HIT:
            hit = False
    return CacheRead(value, hit, stale_age, max_age, ttl_left)
