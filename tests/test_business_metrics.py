"""Business metrics (issue 13): computed in the background by the graph itself, served from the last
snapshot by `/metrics` (parsed with the Prometheus client's parser), never computed on a scrape.

The real gateway over a socket against the simulators, the demo world's as-of date pinned; each figure
is compared with the graph's own answer to the same question over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from test_gateway_support import running_gateway, settings_for

from opsgraph.telemetry.business import BUSINESS_QUERY
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parent.parent

BUSINESS = (
    "opsgraph_approved_unbilled_hours",
    "opsgraph_invoice_ready_amount",
    "opsgraph_engagements_blocked",
    "opsgraph_reconciliation_mismatches",
    "opsgraph_workflows_parked",
    "opsgraph_source_sync_lag_seconds",
)


def samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


class Scraped:
    def __init__(self, http: httpx.AsyncClient, simulators: SimulatorGroup) -> None:
        self.http, self.simulators = http, simulators

    async def metrics(self) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
        response = await self.http.get("/metrics")
        assert response.status_code == 200
        return samples(response.text)

    async def upstream_total(self) -> int:
        total = 0
        for url in self.simulators.urls().values():
            total += (await self.http.get(f"{url}/_sim/stats")).json()["total"]
        return total


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scraped(simulators: SimulatorGroup, world: World) -> AsyncIterator[Scraped]:
    settings = settings_for(simulators, world, telemetry={"business_metrics_interval_s": 3600})
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        scraped = Scraped(http, simulators)
        for _ in range(600):  # the first snapshot is computed in the background right after start
            if "opsgraph_approved_unbilled_hours" in await scraped.metrics():
                break
            await asyncio.sleep(0.05)
        yield scraped


async def graph_answer(scraped: Scraped, world: World) -> dict[str, Any]:
    variables = {"from": world.as_of.replace(day=1).isoformat(), "to": world.as_of.isoformat()}
    response = await scraped.http.post("/graphql", json={"query": BUSINESS_QUERY, "variables": variables})
    body = response.json()
    assert "errors" not in body
    data: dict[str, Any] = body["data"]
    return data


async def test_every_business_metric_is_served_after_the_first_run(scraped: Scraped) -> None:
    metrics = await scraped.metrics()
    for name in ("opsgraph_approved_unbilled_hours", "opsgraph_reconciliation_mismatches"):
        assert set(metrics[name]) == {()}
    assert metrics["opsgraph_business_metrics_failures_total"] == {(): 0.0}
    assert metrics["opsgraph_business_metrics_last_success_timestamp_seconds"][()] > 0


async def test_the_figures_are_the_graphs_own_answers(scraped: Scraped, world: World) -> None:
    metrics = await scraped.metrics()
    data = await graph_answer(scraped, world)
    rows = [row for row in data["invoiceReadiness"] if row is not None]
    assert len(rows) == len(data["invoiceReadiness"]) >= 5
    hours = round(sum(row["approvedUnbilledHours"] for row in rows), 2)
    assert metrics["opsgraph_approved_unbilled_hours"][()] == pytest.approx(hours)
    assert hours > 0
    ready: dict[str, Decimal] = {}
    for row in rows:
        if row["ready"]:
            currency = row["amount"]["currency"]
            ready[currency] = ready.get(currency, Decimal(0)) + Decimal(str(row["amount"]["amount"]))
    served = {
        dict(labels)["currency"]: value for labels, value in metrics["opsgraph_invoice_ready_amount"].items()
    }
    assert served == pytest.approx({c: float(a) for c, a in ready.items()})
    blocked = Counter(code for row in rows for code in {b["code"] for b in row["blockers"]})
    served_blocked = {
        dict(labels)["blocker"]: int(value)
        for labels, value in metrics["opsgraph_engagements_blocked"].items()
    }
    assert served_blocked == dict(blocked)
    assert sum(served_blocked.values()) >= 1  # the demo world's seeded drift blocks some engagements
    mismatches = len(data["reconciliation"]["mismatches"])
    assert metrics["opsgraph_reconciliation_mismatches"][()] == mismatches


async def test_a_scrape_computes_nothing(scraped: Scraped) -> None:
    for url in scraped.simulators.urls().values():
        (await scraped.http.delete(f"{url}/_sim/stats")).raise_for_status()
    first = await scraped.metrics()
    second = await scraped.metrics()
    assert await scraped.upstream_total() == 0
    for name in BUSINESS:
        assert first.get(name) == second.get(name)


async def test_off_by_default_no_business_metrics(simulators: SimulatorGroup, world: World) -> None:
    async with (
        running_gateway(settings_for(simulators, world)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        metrics = samples((await http.get("/metrics")).text)
    assert not set(metrics) & {*BUSINESS, "opsgraph_business_metrics_failures_total"}


async def test_the_grafana_dashboard_shows_metrics_that_exist(scraped: Scraped) -> None:
    """Every series the dashboard queries is one `/metrics` serves (business and technical)."""
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "opsgraph.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    # a histogram's series (`_bucket`, `_count`, `_sum`) are served under the histogram's name
    found = {name for expr in exprs for name in re.findall(r"opsgraph_[a-z_]+", expr)}
    wanted = {re.sub(r"_(bucket|count|sum)$", "", name) for name in found}
    assert set(BUSINESS) <= wanted and "opsgraph_upstream_requests_total" in wanted
    assert {"opsgraph_request_duration_seconds", "opsgraph_upstream_duration_seconds"} <= wanted
    await scraped.http.post("/graphql", json={"query": "{ clients(first: 1) { nodes { name } } }"})
    text = (await scraped.http.get("/metrics")).text
    served = set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))
    assert wanted <= served, wanted - served
    titles = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert titles == ["Business", "Upstream systems", "Cache"]
