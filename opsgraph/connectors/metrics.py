"""Prometheus text for the connectors: attempts, failed attempts by reason, short-circuits, circuit state."""

from __future__ import annotations

from collections.abc import Iterable

from opsgraph.connectors.base import SourceClient
from opsgraph.connectors.breaker import CircuitState
from opsgraph.connectors.health import FailureReason

__all__ = ["source_metric_lines"]


def source_metric_lines(clients: Iterable[SourceClient]) -> list[str]:
    """One sample per source (and per failure reason): every failed upstream attempt counted once."""
    clients = list(clients)
    requests = ["# TYPE opsgraph_upstream_requests_total counter"]
    failures = ["# TYPE opsgraph_upstream_failures_total counter"]
    short = ["# TYPE opsgraph_upstream_short_circuits_total counter"]
    circuit = ["# TYPE opsgraph_upstream_circuit_open gauge"]
    for client in clients:
        source = client.source.value
        health = client.health
        requests.append(f'opsgraph_upstream_requests_total{{source="{source}"}} {health.requests}')
        for reason in FailureReason:
            n = health.failed.get(reason, 0)
            failures.append(
                f'opsgraph_upstream_failures_total{{source="{source}",reason="{reason.value}"}} {n}'
            )
        short.append(f'opsgraph_upstream_short_circuits_total{{source="{source}"}} {health.short_circuits}')
        is_open = int(client.breaker.state is not CircuitState.CLOSED)
        circuit.append(f'opsgraph_upstream_circuit_open{{source="{source}"}} {is_open}')
    return [*requests, *failures, *short, *circuit]
