"""`/metrics` (issue 13): prometheus-client series counted where things happen, the business figures the
graph's own answers, and several worker processes served as one (PROMETHEUS_MULTIPROC_DIR).

The real gateway over a socket against the simulators; scrapes parsed with the Prometheus parser.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from metrics_support import sample, samples
from test_gateway_support import serving, settings_for

from opsgraph.gateway.app import create_app
from opsgraph.telemetry.metrics import Metrics, route_template
from opsgraph.workflows.kinds import KINDS
from simulators.simkit.serve import SimulatorGroup, bind
from simulators.world import World

ROOT = Path(__file__).resolve().parent.parent


async def test_backlog_and_sync_lag_are_the_graphs_answers(simulators: SimulatorGroup, world: World) -> None:
    settings = settings_for(simulators, world, telemetry={"business_metrics_interval_s": 3600})
    app = create_app(settings)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        await app.state.gateway.events.poll_once()  # every system polled once, by hand
        snapshot = await app.state.business.refresh()
        assert snapshot is not None
        scraped = samples((await http.get("/metrics")).text)
        kinds = sorted(KINDS)
        fields = " ".join(
            f'{k}_{s}: workflows(kind: "{k}", status: [{s}]) {{ totalCount }}'
            for k in kinds
            for s in ("PARKED", "COMPLETED")
        )
        query = f"{{ sources {{ system lastChangePollAt }} {fields} }}"
        body = (await http.post("/graphql", json={"query": query})).json()
    assert "errors" not in body, body["errors"]
    data = body["data"]
    assert kinds
    parked = {dict(labels)["kind"]: v for labels, v in scraped["opsgraph_workflows_parked"].items()}
    assert parked == {k: data[f"{k}_PARKED"]["totalCount"] for k in kinds}
    for k in kinds:
        for status in ("PARKED", "COMPLETED"):
            served = scraped["opsgraph_workflows"][(("kind", k), ("status", status))]
            assert served == data[f"{k}_{status}"]["totalCount"]
    computed_at = scraped["opsgraph_business_metrics_last_success_timestamp_seconds"][()]
    lag = {dict(labels)["system"]: v for labels, v in scraped["opsgraph_source_sync_lag_seconds"].items()}
    polled = {s["system"]: datetime.fromisoformat(s["lastChangePollAt"]).timestamp() for s in data["sources"]}
    assert set(lag) == set(polled) == set(simulators.system_settings())
    for system, at in polled.items():
        assert lag[system] == pytest.approx(computed_at - at, abs=0.002)


async def test_requests_upstream_and_subscribers_are_counted(
    simulators: SimulatorGroup, world: World
) -> None:
    settings = settings_for(simulators, world, cache={"enabled": False})
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        for _ in range(3):
            body = await http.post(
                "/graphql", json={"query": "query Few { clients(first: 2) { nodes { name } } }"}
            )
            assert "errors" not in body.json()
        text = (await http.get("/metrics")).text
        stats = (await http.get(f"{simulators.urls()['salesforce']}/_sim/stats")).json()
    scraped = samples(text)
    operation = (("operation", "Few"), ("operation_type", "query"))
    assert scraped["opsgraph_request_duration_seconds_count"][operation] == 3
    assert scraped["opsgraph_request_duration_seconds_sum"][operation] > 0
    upstream = {
        dict(labels)["route"]: n
        for labels, n in scraped["opsgraph_upstream_duration_seconds_count"].items()
        if dict(labels)["system"] == "salesforce"
    }
    requests = sample(
        text, "opsgraph_upstream_requests_total", system="salesforce", role="crm", vendor="salesforce"
    )
    assert sum(upstream.values()) == requests >= 3
    assert requests <= stats["total"]
    assert all("{id}" in r or not any(c.isdigit() for c in r.rsplit("/", 1)[-1]) for r in upstream)
    assert scraped["opsgraph_subscribers"] == {(): 0.0}
    assert (
        sample(text, "opsgraph_upstream_circuit_open", system="salesforce", role="crm", vendor="salesforce")
        == 0
    )


def test_routes_keep_no_record_ids() -> None:
    assert route_template("/v2/projects/123") == "/v2/projects/{id}"
    assert route_template("/services/data/v60.0/sobjects/Account/001000000000001AAA") == (
        "/services/data/v60.0/sobjects/Account/{id}"
    )
    assert route_template("/services/data/v60.0/query") == "/services/data/v60.0/query"
    assert route_template("/crm/v3/objects/companies/batch/read") == "/crm/v3/objects/companies/batch/read"


WORKER = textwrap.dedent(
    """
    import sys
    from opsgraph.telemetry.metrics import Metrics

    metrics = Metrics()
    n = int(sys.argv[1])
    for _ in range(n):
        metrics.request("Portfolio", "query", 0.02)
        metrics.cache_count("hits", "salesforce", "client")
    metrics.upstream("salesforce", "crm", "salesforce").circuit(n == 2)
    metrics.subscribers.set(n)
    """
)


def test_several_worker_processes_are_served_as_one(tmp_path: Path) -> None:
    """Two processes write under PROMETHEUS_MULTIPROC_DIR (as uvicorn workers do); a scrape of either
    reads both: counters and histograms add up, live gauges too, and a breaker open in one is open."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", WORKER, str(n)], env=env, check=True, cwd=ROOT, timeout=120)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    try:
        body, content_type = Metrics().exposition()
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
    assert content_type.startswith("text/plain")
    text = body.decode()
    assert sample(text, "opsgraph_cache_hits_total", system="salesforce", entity="client") == 5
    assert (
        sample(text, "opsgraph_request_duration_seconds_count", operation="Portfolio", operation_type="query")
        == 5
    )
    circuit = samples(text)["opsgraph_upstream_circuit_open"]
    assert max(circuit.values()) == 1


async def test_two_uvicorn_workers_serve_one_set_of_metrics(
    simulators: SimulatorGroup, world: World, tmp_path: Path
) -> None:
    """`uvicorn --workers 2` over the factory with PROMETHEUS_MULTIPROC_DIR: whichever worker answers a
    scrape, it counts every worker's requests."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "OPSGRAPH_SYSTEMS": json.dumps(simulators.system_settings()),
        "OPSGRAPH_TODAY": world.as_of.isoformat(),
        "OPSGRAPH_AUTH__ANONYMOUS_ROLE": "viewer",
        "OPSGRAPH_EVENTS__POLL": "false",
        "OPSGRAPH_LOG_LEVEL": "warning",
        "OPSGRAPH_WORKFLOWS__DATABASE_URL": f"sqlite:///{tmp_path / 'workflows.sqlite'}",
    }
    command = [
        str(Path(sys.executable).parent / "uvicorn"),
        "--factory",
        "opsgraph.gateway.asgi:app",
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    log = (tmp_path / "uvicorn.log").open("w")
    server = await asyncio.create_subprocess_exec(*command, env=env, cwd=tmp_path, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            for _ in range(600):  # both workers import and start (seconds on a loaded machine)
                ready = len({p.name.split("_")[-1] for p in metrics_dir.glob("*.db")}) >= 2
                try:
                    if ready and (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.returncode is None, (tmp_path / "uvicorn.log").read_text()
                await asyncio.sleep(0.1)
            query = {"query": "query Workers { clients(first: 1) { nodes { name } } }"}
            for _ in range(6):  # a connection each: the kernel spreads them over the workers
                async with httpx.AsyncClient(base_url=url, timeout=60) as one:
                    assert "errors" not in (await one.post("/graphql", json=query)).json()
            for _ in range(4):
                async with httpx.AsyncClient(base_url=url, timeout=60) as one:
                    text = (await one.get("/metrics")).text
                count = sample(
                    text,
                    "opsgraph_request_duration_seconds_count",
                    operation="Workers",
                    operation_type="query",
                )
                assert count == 6
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 60)
        log.close()
    pids = {p.stem.rsplit("_", 1)[-1] for p in metrics_dir.glob("*.db")}
    assert len(pids) >= 2, pids
