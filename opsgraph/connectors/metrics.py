"""Prometheus text for the connectors: attempts, failed attempts by reason, short-circuits, circuit state."""

from __future__ import annotations

from collections.abc import Mapping

from opsgraph.connectors.base import SourceClient
from opsgraph.connectors.breaker import CircuitState
from opsgraph.connectors.health import FailureReason

__all__ = ["source_metric_lines"]


def source_metric_lines(systems: Mapping[str, SourceClient]) -> list[str]:
    """One sample per configured system (and per failure reason), labelled with the system's name, role
    and vendor: every failed upstream attempt counted once."""
    requests = ["# TYPE opsgraph_upstream_requests_total counter"]
    failures = ["# TYPE opsgraph_upstream_failures_total counter"]
    short = ["# TYPE opsgraph_upstream_short_circuits_total counter"]
    circuit = ["# TYPE opsgraph_upstream_circuit_open gauge"]
    for name, client in systems.items():
        labels = f'system="{name}",role="{client.role.value}",vendor="{client.vendor}"'
        health = client.health
        requests.append(f"opsgraph_upstream_requests_total{{{labels}}} {health.requests}")
        for reason in FailureReason:
            n = health.failed.get(reason, 0)
            failures.append(f'opsgraph_upstream_failures_total{{{labels},reason="{reason.value}"}} {n}')
        short.append(f"opsgraph_upstream_short_circuits_total{{{labels}}} {health.short_circuits}")
        is_open = int(client.breaker.state is not CircuitState.CLOSED)
        circuit.append(f"opsgraph_upstream_circuit_open{{{labels}}} {is_open}")
    return [*requests, *failures, *short, *circuit]
