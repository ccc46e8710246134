"""The gateway's Prometheus metrics (prometheus-client), counted where things happen, served on `/metrics`.

One `Metrics` per app, on a registry of its own. With several uvicorn workers, set
`PROMETHEUS_MULTIPROC_DIR` (an empty directory, before the processes start): every worker then writes
its values to files there, and a scrape of any worker reads all of them (`MultiProcessCollector`):
counters and histograms add up, gauges of live state (`subscribers`) add up over live workers,
a breaker counts as open when it is open in any live worker, and the business figures (the same
answer in every worker) are the most recent.

- technical: `opsgraph_request_duration_seconds{operation,operation_type}`,
  `opsgraph_upstream_duration_seconds{system,route}`, `opsgraph_upstream_requests_total`,
  `..._failures_total{reason}`, `..._short_circuits_total` and `opsgraph_upstream_circuit_open`
  (labels `system`, `role`, `vendor`), `opsgraph_cache_{hits,misses,stale_serves,evictions,errors}_total
  {system,entity}`, `opsgraph_workflows{kind,status}`, `opsgraph_subscribers`,
  `opsgraph_event_lag_seconds{system}`;
- business (`business.py` computes them in the background): see `BUSINESS_GAUGES`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from opsgraph.cache.metrics import COUNTERS as CACHE_COUNTERS
from opsgraph.cache.responses import RESULTS as RESPONSE_RESULTS

__all__ = ["MULTIPROC_ENV", "Metrics", "UpstreamMetrics", "route_template"]

disable_created_metrics()  # no `*_created` series: they double the output and no dashboard reads them

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATIONS = 200
"""Distinct operation names kept as labels; later ones count as `other` (names are the callers' choice)."""
FAILURE_REASONS = (
    "server_error",
    "timeout",
    "connection",
    "bad_response",
    "rate_limited",
    "rejected",
    "auth",
)  # connectors/health.py FailureReason (imported there; named here to keep telemetry import-light)

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

_ID_SEGMENT = re.compile(
    r"^(\d+|[0-9a-fA-F-]{16,}|(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?)$"
)


def route_template(path: str) -> str:
    """The route of an upstream path, ids replaced by `{id}` (a label value must not be per record)."""
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))


class UpstreamMetrics:
    """The series of one configured system (its `system`, `role` and `vendor` labels bound)."""

    def __init__(self, metrics: Metrics, system: str, role: str, vendor: str) -> None:
        self._metrics, self.system = metrics, system
        labels = (system, role, vendor)
        self._requests = metrics.upstream_requests.labels(*labels)
        self._failures = {r: metrics.upstream_failures.labels(*labels, r) for r in FAILURE_REASONS}
        self._short_circuits = metrics.upstream_short_circuits.labels(*labels)
        self._circuit = metrics.upstream_circuit_open.labels(*labels)
        self._circuit.set(0)

    def sent(self) -> None:
        self._requests.inc()

    def failed(self, reason: str) -> None:
        self._failures[reason].inc()

    def short_circuit(self) -> None:
        self._short_circuits.inc()

    def circuit(self, is_open: bool) -> None:
        self._circuit.set(int(is_open))

    def duration(self, path: str, seconds: float) -> None:
        self._metrics.upstream_duration.labels(self.system, route_template(path)).observe(seconds)


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.request_duration = Histogram(
            "opsgraph_request_duration_seconds",
            "GraphQL requests over HTTP, by operation",
            ["operation", "operation_type"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.upstream_duration = Histogram(
            "opsgraph_upstream_duration_seconds",
            "Upstream HTTP attempts that got an answer, by system and route (ids as {id})",
            ["system", "route"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        upstream = ["system", "role", "vendor"]
        self.upstream_requests = Counter(
            "opsgraph_upstream_requests", "HTTP attempts sent upstream", upstream, registry=registry
        )
        self.upstream_failures = Counter(
            "opsgraph_upstream_failures",
            "Failed upstream attempts, each once, by reason",
            [*upstream, "reason"],
            registry=registry,
        )
        self.upstream_short_circuits = Counter(
            "opsgraph_upstream_short_circuits",
            "Calls the open circuit breaker refused (nothing sent)",
            upstream,
            registry=registry,
        )
        self.upstream_circuit_open = Gauge(
            "opsgraph_upstream_circuit_open",
            "1 while the system's circuit breaker is open or half-open",
            upstream,
            multiprocess_mode="livemax",
            registry=registry,
        )
        self.cache = {
            name: Counter(f"opsgraph_cache_{name}", text, ["system", "entity"], registry=registry)
            for name, text in CACHE_COUNTERS
        }
        self.response_cache = Counter(
            "opsgraph_response_cache",
            "GraphQL requests at the response cache: hit (served from it), miss (ran), bypass (skipped)",
            ["result"],
            registry=registry,
        )
        self._response_results = {r: self.response_cache.labels(r) for r in RESPONSE_RESULTS}
        self.workflows = Gauge(
            "opsgraph_workflows",
            "Durable workflows by kind and status (from the workflow store, in the background)",
            ["kind", "status"],
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        self.subscribers = Gauge(
            "opsgraph_subscribers",
            "Open subscriptions",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.event_lag = Histogram(
            "opsgraph_event_lag_seconds",
            "From a change in a system to the gateway seeing it (change polling)",
            ["system"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self._operations: set[str] = set()
        self._labelled: dict[str, set[tuple[str, ...]]] = {}

    # -- counted where things happen -------------------------------------------------------------

    def request(self, operation: str | None, operation_type: str | None, seconds: float) -> None:
        name = operation or "anonymous"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATIONS:
                name = "other"
            else:
                self._operations.add(name)
        self.request_duration.labels(name, operation_type or "unknown").observe(seconds)

    def upstream(self, system: str, role: str, vendor: str) -> UpstreamMetrics:
        return UpstreamMetrics(self, system, role, vendor)

    def cache_count(self, field: str, system: str, entity: str, n: int = 1) -> None:
        self.cache[field].labels(system, entity).inc(n)

    def response_cache_count(self, result: str) -> None:
        self._response_results[result].inc()

    def set_gauge(self, gauge: Gauge, values: Mapping[tuple[str, ...], float]) -> None:
        """Set a labelled gauge to `values`; label sets it had before and no longer has go to 0
        (removing a series is not possible across worker processes)."""
        before = self._labelled.setdefault(gauge._name, set())
        for labels in before - set(values):
            gauge.labels(*labels).set(0)
        for labels, value in values.items():
            gauge.labels(*labels).set(value)
        before |= set(values)

    # -- served ------------------------------------------------------------------------------------

    def exposition(self, extra: Iterable[CollectorRegistry] = ()) -> tuple[bytes, str]:
        """The Prometheus text for a scrape: every worker's values under `PROMETHEUS_MULTIPROC_DIR`,
        else this process's."""
        directory = os.environ.get(MULTIPROC_ENV)
        if directory:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=directory)
        else:
            registry = self.registry
        return generate_latest(registry), CONTENT_TYPE_LATEST
