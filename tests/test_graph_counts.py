"""Upstream request counts of the read graph, and partial results while a system is down.

The real gateway over a socket against the real simulators, with the read cache off so that
every read reaches a vendor: the counts come from the simulators' `/_sim/stats` deltas.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from test_gateway_support import CLASSIC, HR, HV, NS, SF, running_gateway, settings_for

from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

SOQL = "GET /services/data/v60.0/query"
SOBJECTS = "POST /services/data/v60.0/composite/sobjects/{sobject}"
SUITEQL = "POST /services/rest/query/v1/suiteql"
PROJECTS, TIME_ENTRIES = "GET /v2/projects", "GET /v2/time_entries"
TIME_REPORT = "GET /v2/reports/time/projects"
WARM = """{ engagements(first: 1) { nodes { code contractValue { amount } client { name } } }
  resources(first: 1) { nodes { name } } }"""
ENGAGEMENTS_100 = """{ engagements(first: 100) { nodes {
  code contractValue { amount } practice invoices { number } client { name } } } }"""
OCTOBER_100 = """{ engagements(first: 100) { nodes {
  code timeEntries(from: "2026-10-01", to: "2026-10-31") { hours } } } }"""
CLIENTS_VIEWS = """query($n: Int) { clients(first: $n) { nodes {
  name engagements { code burn { hoursUsed } invoiceReadiness { ready } } } } }"""


def pages(rows: int, size: int) -> int:
    """Requests for a paged listing: at least one, even when it is empty."""
    return max(1, math.ceil(rows / size))


@dataclass(repr=False)  # the group holds the world: its repr is tens of MB
class Gateway:
    http: httpx.AsyncClient
    simulators: SimulatorGroup

    def sim(self, source: str) -> str:
        return self.simulators.urls()[source]

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post("/graphql", json={"query": query, "variables": variables or {}})

    async def ok(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body

    async def reset_stats(self) -> None:
        for source in CLASSIC:
            (await self.http.delete(f"{self.sim(source)}/_sim/stats")).raise_for_status()

    async def counts(self) -> dict[str, dict[str, int]]:
        """Requests per source and route since the last reset."""
        out: dict[str, dict[str, int]] = {}
        for source in CLASSIC:
            stats = (await self.http.get(f"{self.sim(source)}/_sim/stats")).json()
            routes = {k: v["count"] for k, v in stats["routes"].items()}
            assert sum(routes.values()) == stats["total"]
            out[source] = routes
        return out

    async def measure(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        await self.reset_stats()
        body = await self.ok(query, variables)
        counts = await self.counts()
        print(f"\nupstream requests: {counts}")
        return body, counts

    async def set_faults(self, source: str, **faults: Any) -> None:
        (await self.http.put(f"{self.sim(source)}/_sim/faults", json=faults)).raise_for_status()


def total(counts: dict[str, dict[str, int]], source: str | None = None) -> int:
    return sum(sum(c.values()) for s, c in counts.items() if source in (None, s))


@pytest.fixture
async def gw(simulators: SimulatorGroup, world: World) -> AsyncIterator[Gateway]:
    """A gateway with the read cache off and its OAuth tokens (and ERP currencies) already fetched."""
    settings = settings_for(simulators, world, cache={"enabled": False})
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        gateway = Gateway(http, simulators)
        await gateway.ok(WARM)
        yield gateway


# -- request counts ---------------------------------------------------------------------------------


async def test_engagement_page_costs_one_call_per_level(gw: Gateway, world: World) -> None:
    body, counts = await gw.measure(ENGAGEMENTS_100)
    nodes = body["data"]["engagements"]["nodes"]
    assert len(nodes) == len(world.engagements) == 100
    lines = sum(len(i.lines) for i in world.invoices)
    # NetSuite: jobs by code (one IN list), invoices by job (one IN list), their lines (one IN list,
    # paged at 1000 rows). Salesforce: opportunities by engagement code, then accounts by id.
    assert counts[NS] == {SUITEQL: 1 + pages(len(world.invoices), 1000) + pages(lines, 1000)}
    assert counts[SF] == {SOQL: 1, SOBJECTS: 1}
    assert counts[HV] == {PROJECTS: 1}
    assert counts[HR] == {}
    assert total(counts, NS) <= 6
    by_code = {e.code: e for e in world.engagements}
    for node in nodes:
        eng = by_code[node["code"]]
        assert node["client"] == {"name": eng.client.name}
        want = sorted(i.number for i in world.invoices if i.engagement is eng and eng.ns_job_id)
        assert sorted(i["number"] for i in node["invoices"]) == want


async def test_time_entries_of_many_engagements_share_one_listing(gw: Gateway, world: World) -> None:
    start, end = date(2026, 10, 1), date(2026, 10, 31)
    in_range = [e for e in world.time_entries if start <= e.spent_date <= end]
    body, counts = await gw.measure(OCTOBER_100)
    assert counts[HV] == {PROJECTS: 1, TIME_ENTRIES: pages(len(in_range), 2000)}
    assert counts[HV][TIME_ENTRIES] < 100
    assert total(counts) == total(counts, HV)
    hours: dict[str, float] = defaultdict(float)
    entries: dict[str, int] = defaultdict(int)
    for e in in_range:
        hours[e.engagement.code] += e.hours
        entries[e.engagement.code] += 1
    nodes = body["data"]["engagements"]["nodes"]
    assert len(nodes) == 100
    for node in nodes:
        assert len(node["timeEntries"]) == entries[node["code"]], node["code"]
        got = sum(t["hours"] for t in node["timeEntries"])
        assert got == pytest.approx(hours[node["code"]], abs=0.001), node["code"]


async def test_clients_with_burn_and_readiness_cost_a_constant(gw: Gateway, world: World) -> None:
    body, counts = await gw.measure(CLIENTS_VIEWS, {"n": 40})
    clients = body["data"]["clients"]["nodes"]
    assert len(clients) == len(world.clients) == 40
    assert sum(len(c["engagements"]) for c in clients) == len(world.engagements)
    # Readiness lists unbilled time from July 1 (92 days before the billing month) to October 31.
    window = [
        e
        for e in world.time_entries
        if date(2026, 10, 1) - timedelta(days=92) <= e.spent_date <= date(2026, 10, 31) and not e.is_billed
    ]
    assert counts[SF] == {SOQL: 2}  # accounts, then opportunities by account (primes them by code)
    assert counts[HV] == {
        PROJECTS: 1,
        TIME_REPORT: 2,  # burn: two report windows of at most 365 days over 729 days
        TIME_ENTRIES: pages(len(window), 2000),
    }
    # jobs by code, customers by account, accounting periods, and what each job was billed: one
    # SuiteQL SUM ... GROUP BY for every job, not the jobs' invoices and their lines
    assert counts[NS] == {SUITEQL: 4}
    assert counts[HR] == {}
    assert total(counts) == 11
    # A handful of clients costs no more than all of them: the count does not grow with the page.
    _, few = await gw.measure(CLIENTS_VIEWS, {"n": 5})
    assert total(few) <= total(counts)
    assert few[SF] == counts[SF] and few[HV] == counts[HV]


# -- partial results while a vendor is down ---------------------------------------------------------


def covered(errors: list[dict[str, Any]]) -> list[list[str | int]]:
    """The paths errors cover: repeats of one error come merged, listing their paths (up to 10)."""
    return [p for e in errors for p in e["extensions"].get("paths", [e["path"]])]


def assert_source_error(error: dict[str, Any], source: str, correlation_id: str) -> None:
    ext = error["extensions"]
    assert ext["code"] == "SOURCE_UNAVAILABLE", error
    role = {SF: "CRM", HV: "PSA", HR: "HR", NS: "ERP"}[source]
    assert (ext["source"], ext["system"], ext["role"], ext["vendor"]) == (source, source, role, source)
    assert ext["correlationId"] == correlation_id
    assert error["message"]


async def test_netsuite_outage_nulls_only_its_fields(gw: Gateway, world: World) -> None:
    await gw.set_faults(NS, outage=True)
    try:
        response = await gw.post("{ engagements(first: 5) { nodes { code name contractValue { amount } } } }")
    finally:
        await gw.set_faults(NS, outage=False)
    assert response.status_code == 200
    cid = response.headers["X-Correlation-ID"]
    body = response.json()
    nodes = body["data"]["engagements"]["nodes"]
    assert [(n["code"], n["name"]) for n in nodes] == [(e.code, e.name) for e in world.engagements[:5]]
    assert all(n["contractValue"] is None for n in nodes)
    errors = body["errors"]
    assert sorted(covered(errors)) == [["engagements", "nodes", i, "contractValue"] for i in range(5)]
    for error in errors:
        assert_source_error(error, "netsuite", cid)


async def test_netsuite_outage_keeps_the_callers_correlation_id(gw: Gateway) -> None:
    await gw.set_faults(NS, outage=True)
    try:
        response = await gw.http.post(
            "/graphql",
            json={"query": "{ engagements(first: 2) { nodes { code practice } } }"},
            headers={"X-Correlation-ID": "e2e-outage-42"},
        )
    finally:
        await gw.set_faults(NS, outage=False)
    assert response.status_code == 200
    assert response.headers["X-Correlation-ID"] == "e2e-outage-42"
    body = response.json()
    assert [n["practice"] for n in body["data"]["engagements"]["nodes"]] == [None, None]
    assert len(covered(body["errors"])) == 2
    for error in body["errors"]:
        assert_source_error(error, "netsuite", "e2e-outage-42")


async def test_salesforce_outage_fails_clients_but_not_engagements(gw: Gateway, world: World) -> None:
    await gw.set_faults(SF, outage=True)
    try:
        clients = await gw.post("{ clients(first: 5) { totalCount nodes { name } } }")
        engagements = await gw.post("{ engagements(first: 5) { nodes { code client { name } } } }")
    finally:
        await gw.set_faults(SF, outage=False)
    # Salesforce is the root source of clients: the whole (nullable) field fails, `data` still arrives.
    assert clients.status_code == 200
    body = clients.json()
    assert body["data"] == {"clients": None}
    (error,) = body["errors"]
    assert error["path"] == ["clients"]
    assert_source_error(error, "salesforce", clients.headers["X-Correlation-ID"])
    # Engagements come from Harvest: they still arrive, only their Salesforce links are null.
    assert engagements.status_code == 200
    body = engagements.json()
    nodes = body["data"]["engagements"]["nodes"]
    assert [n["code"] for n in nodes] == [e.code for e in world.engagements[:5]]
    assert all(n["client"] is None for n in nodes)
    assert sorted(covered(body["errors"])) == [["engagements", "nodes", i, "client"] for i in range(5)]
    for error in body["errors"]:
        assert_source_error(error, "salesforce", engagements.headers["X-Correlation-ID"])


async def test_salesforce_outage_keeps_sibling_root_fields(gw: Gateway, world: World) -> None:
    await gw.set_faults(SF, outage=True)
    try:
        response = await gw.post(
            "{ clients(first: 5) { nodes { name } } engagements(first: 5) { nodes { code } } }"
        )
    finally:
        await gw.set_faults(SF, outage=False)
    assert response.status_code == 200
    body = response.json()
    assert [e["path"] for e in body["errors"]] == [["clients"]]
    assert body["data"] is not None
    assert [n["code"] for n in body["data"]["engagements"]["nodes"]] == [
        e.code for e in world.engagements[:5]
    ]


async def test_outage_errors_carry_each_requests_own_correlation_id(
    simulators: SimulatorGroup, world: World
) -> None:
    query = "{ engagements(first: 3) { nodes { code contractValue { amount } } } }"
    async with (
        running_gateway(settings_for(simulators, world)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        gw = Gateway(http, simulators)
        await gw.ok("{ invoices(first: 1) { nodes { number } } }")  # the ERP token, not the jobs
        # Slow failures, so that the three requests are surely in flight together.
        await gw.set_faults(NS, outage=True, latency_ms=300)
        try:
            responses = [
                http.post("/graphql", json={"query": query}, headers={"X-Correlation-ID": f"e2e-req-{i}"})
                for i in range(3)
            ]
            done = await asyncio.gather(*responses)
        finally:
            await gw.set_faults(NS, outage=False, latency_ms=0)
    for i, response in enumerate(done):
        assert response.headers["X-Correlation-ID"] == f"e2e-req-{i}"
        body = response.json()
        assert [n["contractValue"] for n in body["data"]["engagements"]["nodes"]] == [None] * 3
        assert len(covered(body["errors"])) == 3
        for error in body["errors"]:
            assert_source_error(error, "netsuite", f"e2e-req-{i}")


async def test_vendor_returning_garbage_is_the_source_failing(gw: Gateway, world: World) -> None:
    """A 200 whose body is not JSON is the system failing: retried, then SOURCE_UNAVAILABLE for that
    source's fields only, nothing else lost."""
    await gw.set_faults(NS, garbage=True)
    await gw.reset_stats()
    try:
        response = await gw.post("{ engagements(first: 3) { nodes { code contractValue { amount } } } }")
        counts = await gw.counts()
    finally:
        await gw.set_faults(NS, garbage=False)
    body = response.json()
    nodes = body["data"]["engagements"]["nodes"]
    assert [n["code"] for n in nodes] == [e.code for e in world.engagements[:3]]
    assert [n["contractValue"] for n in nodes] == [None] * 3
    assert counts[NS] == {SUITEQL: 3}  # the first try and max_retries=2 more: garbage is retried
    assert len(covered(body["errors"])) == 3
    for error in body["errors"]:
        assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
        assert error["extensions"]["source"] == "netsuite"
