"""Cache counters per (source, entity), and their Prometheus text rendering.

Per key looked up, exactly one of `hits`, `misses` and `stale_serves` counts:
- hits: a fresh value served from the cache;
- misses: the value was not fresh in the cache, so it came from upstream (this call's fetch, a
  concurrent caller's fetch it joined, or a peer replica's) -- or the upstream error was raised;
- stale_serves: the source was down, so a value past its TTL but within the grace was served.
`evictions` counts keys removed by `invalidate` plus cached values found expired on read;
`errors` counts failed cache backend operations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

COUNTERS: tuple[tuple[str, str], ...] = (
    ("hits", "Values served fresh from the cache"),
    ("misses", "Values not fresh in the cache, read from the source"),
    ("stale_serves", "Values served past their TTL because the source was down"),
    ("evictions", "Cached values removed by invalidation or found expired"),
    ("errors", "Failed cache backend operations"),
)


@dataclass(slots=True)
class CacheMetric:
    source: str
    entity: str
    hits: int = 0
    misses: int = 0
    stale_serves: int = 0
    evictions: int = 0
    errors: int = 0


class CacheMetrics:
    """The live counters of one `ReadCache`."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], CacheMetric] = {}

    def of(self, source: str, entity: str) -> CacheMetric:
        metric = self._by_key.get((source, entity))
        if metric is None:
            metric = self._by_key[(source, entity)] = CacheMetric(source, entity)
        return metric

    def snapshot(self) -> list[CacheMetric]:
        """Copies of every counter set, sorted by (source, entity)."""
        return [dataclasses.replace(self._by_key[k]) for k in sorted(self._by_key)]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_lines(metrics: Iterable[CacheMetric]) -> list[str]:
    """Prometheus text exposition: `opsgraph_cache_hits_total{source="psa-na",entity="time_entry"} 3`."""
    rows = list(metrics)
    lines: list[str] = []
    for field, help_text in COUNTERS:
        name = f"opsgraph_cache_{field}_total"
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} counter")
        for m in rows:
            labels = f'source="{_label(m.source)}",entity="{_label(m.entity)}"'
            lines.append(f"{name}{{{labels}}} {getattr(m, field)}")
    return lines
