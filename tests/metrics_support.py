"""Reading a `/metrics` scrape with the Prometheus client's own parser (no tests here)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]


def samples(text: str) -> dict[str, dict[Labels, float]]:
    """Every sample of the scrape: name -> (sorted label pairs) -> value. Fails on a malformed scrape."""
    out: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def sample(text: str, name: str, **labels: str) -> float:
    """The value of `name{labels}` in the scrape; fails when the series is not there."""
    found = samples(text).get(name, {}).get(tuple(sorted(labels.items())))
    assert found is not None, f"{name}{labels} not in /metrics"
    return found
