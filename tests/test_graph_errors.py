"""The error list of a response (issue 7 items 22 and 27): repeats of one error merged into one
entry, and no vendor text in what clients see.

The real gateway over a socket against the simulators, read cache off.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphql import GraphQLError
from test_gateway_support import CLASSIC, NS, running_gateway, settings_for

from opsgraph.schema.errors import MAX_LISTED_PATHS, merge_repeats
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

ERP_FIELDS_100 = """{ engagements(first: 100) { nodes { code contractValue { amount } practice
  invoices { number } burn { hoursUsed billedToDate { amount } } } } }"""

pytestmark = pytest.mark.asyncio(loop_scope="module")


class Gateway:
    def __init__(self, http: httpx.AsyncClient, simulators: SimulatorGroup) -> None:
        self.http, self.simulators = http, simulators

    async def faults(self, source: str, **faults: Any) -> None:
        url = f"{self.simulators.urls()[source]}/_sim/faults"
        (await self.http.put(url, json=faults)).raise_for_status()

    async def during(self, source: str, query: str, **faults: Any) -> httpx.Response:
        """`query` while `source` misbehaves as `faults` say."""
        await self.faults(source, **faults)
        try:
            return await self.http.post("/graphql", json={"query": query})
        finally:
            await self.faults(source, **{k: type(v)() for k, v in faults.items()})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(simulators: SimulatorGroup, world: World) -> AsyncIterator[Gateway]:
    settings = settings_for(simulators, world, cache={"enabled": False})
    for system in CLASSIC:  # each outage is seen by the request made during it: no open breaker
        settings = settings.with_system(system, max_retries=0, breaker_failure_threshold=1_000_000)
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        gateway = Gateway(http, simulators)
        await http.post("/graphql", json={"query": "{ invoices(first: 1) { nodes { number } } }"})
        yield gateway


# -- item 22: one entry per repeated error ----------------------------------------------------------


async def test_an_erp_outage_over_a_hundred_engagements_is_four_errors(gw: Gateway, world: World) -> None:
    response = await gw.during(NS, ERP_FIELDS_100, outage=True)
    assert response.status_code == 200
    body = response.json()
    nodes = body["data"]["engagements"]["nodes"]
    assert [n["code"] for n in nodes] == [e.code for e in world.engagements[:100]]
    assert all(n["burn"]["hoursUsed"] is not None for n in nodes)
    errors = body["errors"]
    assert sorted(e["path"][-1] for e in errors) == ["billedToDate", "contractValue", "invoices", "practice"]
    for error in errors:
        ext = error["extensions"]
        assert (ext["code"], ext["source"], ext["count"]) == ("SOURCE_UNAVAILABLE", "netsuite", 100)
        assert (ext["system"], ext["role"], ext["vendor"]) == ("netsuite", "ERP", "netsuite")
        assert ext["correlationId"] == response.headers["X-Correlation-ID"]
        assert len(ext["paths"]) == MAX_LISTED_PATHS
        assert error["path"] == ext["paths"][0]
        field = error["path"][3:]
        for path in ext["paths"]:
            assert path[:2] == ["engagements", "nodes"] and path[3:] == field
    assert len(json.dumps(errors)) < 5_000


def _error(path: list[str | int], code: str, source: str | None = "netsuite") -> GraphQLError:
    ext = {"code": code} if source is None else {"code": code, "source": source}
    return GraphQLError("x", path=path, extensions=ext)


async def test_merge_keeps_distinct_errors_apart() -> None:
    errors = [
        _error(["a", 0, "practice"], "SOURCE_UNAVAILABLE"),
        _error(["a", 1, "practice"], "SOURCE_UNAVAILABLE"),
        _error(["a", 2, "practice"], "SOURCE_TIMEOUT"),  # another code
        _error(["a", 3, "practice"], "SOURCE_UNAVAILABLE", "salesforce"),  # another system
        _error(["a", 4, "invoices"], "SOURCE_UNAVAILABLE"),  # another field
        GraphQLError("Syntax Error", extensions={"code": "GRAPHQL_PARSE_FAILED"}),  # no path
        _error(["a", 5, "practice"], "SOURCE_UNAVAILABLE"),
        _error(["nodes", 1], "BAD_USER_INPUT", None),
        _error(["nodes", 3], "BAD_USER_INPUT", None),
        GraphQLError("another message", path=["nodes", 4], extensions={"code": "BAD_USER_INPUT"}),
    ]
    merged = merge_repeats(errors)
    assert [(e.path, (e.extensions or {}).get("count")) for e in merged] == [
        (["a", 0, "practice"], 3),
        (["a", 2, "practice"], None),
        (["a", 3, "practice"], None),
        (["a", 4, "invoices"], None),
        (None, None),
        (["nodes", 1], 2),
        (["nodes", 4], None),
    ]
    paths = [["a", 0, "practice"], ["a", 1, "practice"], ["a", 5, "practice"]]
    assert (merged[0].extensions or {})["paths"] == paths


# -- item 27: vendor text stays in the log ----------------------------------------------------------

SECRET = "ZQX-4711 ORA-00942 table NS_PROD_EU3.TRANSACTION does not exist"


async def test_vendor_text_is_logged_never_sent(gw: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    query = "{ engagements(first: 3) { nodes { code contractValue { amount } } } }"
    await gw.faults(NS, outage=True, error_text=SECRET)
    try:
        with caplog.at_level(logging.WARNING, logger="opsgraph.errors"):
            response = await gw.http.post(
                "/graphql", json={"query": query}, headers={"X-Correlation-ID": "e2e-vendor-text-1"}
            )
            sources = await gw.http.post("/graphql", json={"query": "{ sources { system lastError } }"})
        ready, alive = await gw.http.get("/readyz"), await gw.http.get("/healthz")
    finally:
        await gw.faults(NS, outage=False, error_text="")
    assert response.status_code == 200
    for answer in (response, sources, ready, alive):
        assert "ZQX-4711" not in answer.text and "ORA-00942" not in answer.text
        assert "temporarily unavailable" not in answer.text  # the simulator's own outage text
    (error,) = response.json()["errors"]
    assert error["message"] == "System netsuite is unavailable"
    assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    assert error["extensions"]["correlationId"] == "e2e-vendor-text-1"
    assert "vendorCode" not in error["extensions"]
    status = {s["system"]: s["lastError"] for s in sources.json()["data"]["sources"]}
    assert status["netsuite"] == "System netsuite is unavailable"
    assert ready.status_code in (200, 503)
    logged = [r for r in caplog.records if r.name == "opsgraph.errors" and SECRET in r.getMessage()]
    assert len(logged) == 1  # one line for the three merged paths
    assert logged[0].levelno == logging.WARNING
    assert "e2e-vendor-text-1" in logged[0].getMessage()
    assert "engagements.nodes.0.contractValue (3 paths)" in logged[0].getMessage()
