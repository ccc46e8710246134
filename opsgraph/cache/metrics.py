"""Cache counters per (source, entity): the system and entity of the `sources` query and `/metrics`.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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
    sink: CacheSink | None = field(default=None, repr=False, compare=False)

    def add(self, counter: str, n: int = 1) -> None:
        """Count `n` on `counter` (one of `COUNTERS`), here and in the sink."""
        setattr(self, counter, getattr(self, counter) + n)
        if self.sink is not None and n:
            self.sink(counter, self.source, self.entity, n)


CacheSink = Callable[[str, str, str, int], None]
"""(counter, system, entity, n): where the counts also go (the app's Prometheus metrics)."""


class CacheMetrics:
    """The live counters of one `ReadCache`."""

    def __init__(self, sink: CacheSink | None = None) -> None:
        self._by_key: dict[tuple[str, str], CacheMetric] = {}
        self.sink = sink

    def of(self, source: str, entity: str) -> CacheMetric:
        metric = self._by_key.get((source, entity))
        if metric is None:
            metric = self._by_key[(source, entity)] = CacheMetric(source, entity, sink=self.sink)
        return metric

    def snapshot(self) -> list[CacheMetric]:
        """Copies of every counter set, sorted by (source, entity)."""
        return [dataclasses.replace(self._by_key[k], sink=None) for k in sorted(self._by_key)]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_lines(metrics: Iterable[CacheMetric]) -> list[str]:
    """Prometheus text of these counters: `opsgraph_cache_hits_total{system="psa-na",entity="time_entry"} 3`
    (the gateway's `/metrics` serves the same series from prometheus-client, `telemetry/metrics.py`)."""
    rows = list(metrics)
    lines: list[str] = []
    for counter, help_text in COUNTERS:
        name = f"opsgraph_cache_{counter}_total"
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} counter")
        for m in rows:
            labels = f'system="{_label(m.source)}",entity="{_label(m.entity)}"'
            lines.append(f"{name}{{{labels}}} {getattr(m, counter)}")
    return lines
