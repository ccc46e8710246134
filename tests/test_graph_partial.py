"""A failing system nulls only the fields it serves (issue 7 item 6).

One table of (list, field, system down): the real gateway over a socket against the simulators
with one system in outage. For each row: the list still arrives with the same records, a field
another system serves keeps its value, and the failing field is null on every record with an
error at exactly that field's path, `SOURCE_UNAVAILABLE` from the system that is down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from test_gateway_support import CLASSIC, HR, HV, NS, SF, running_gateway, settings_for

from opsgraph.schema.relay import from_global_id
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

OCTOBER = 'filter: { from: "2026-10-01", to: "2026-10-31" }'
JANUARY = 'from: "2026-01-01", to: "2026-01-31"'

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass(frozen=True)
class Case:
    root: str
    selection: str
    """The fields of each record: `keep` and `fails` among them."""
    down: str
    fails: tuple[str, ...]
    keep: tuple[str, ...] = ("id",)
    args: str = "first: 3"
    only_where_linked: bool = False
    """The field short-circuits to null without a link (no ERP job, no engagement code): errors only
    where it had a value."""

    @property
    def query(self) -> str:
        return f"{{ {self.root}({self.args}) {{ nodes {{ id {self.selection} }} }} }}"

    def __str__(self) -> str:
        return f"{self.root}.{'.'.join(self.fails)}[{self.down} down]"


BURNT, PCT = ("burn", "hoursUsed"), ("burn", "percentHoursUsed")
CASES = [
    # Engagements come from the PSA; the ERP and the CRM serve some of their fields.
    Case("engagements", "code contractValue { amount }", NS, ("contractValue",), ("code",)),
    Case("engagements", "code practice", NS, ("practice",), ("code",)),
    Case("engagements", "code invoices { number }", NS, ("invoices",), ("code",)),
    Case("engagements", "code sourceLinks { harvestId }", NS, ("sourceLinks",), ("code",)),
    Case("engagements", "code links { id }", NS, ("links",), ("code",)),
    Case("engagements", "code dataQuality { code }", NS, ("dataQuality",), ("code",)),
    Case("engagements", "code invoiceReadiness { ready }", NS, ("invoiceReadiness",), ("code",)),
    # Burn: hours from the PSA, money from the ERP.
    Case("engagements", "burn { hoursUsed contractValue { amount } }", NS, ("burn", "contractValue"), BURNT),
    Case("engagements", "burn { hoursUsed billedToDate { amount } }", NS, ("burn", "billedToDate"), BURNT),
    Case("engagements", "burn { percentHoursUsed percentBilled }", NS, ("burn", "percentBilled"), PCT),
    Case("engagements", "burn { hoursUsed status }", NS, ("burn", "status"), BURNT),
    Case("engagements", "code client { name }", SF, ("client",), ("code",)),
    Case("engagements", "code opportunity { name }", SF, ("opportunity",), ("code",)),
    Case("engagements", "code sourceLinks { harvestId }", SF, ("sourceLinks",), ("code",)),
    Case("engagements", "code dataQuality { code }", SF, ("dataQuality",), ("code",)),
    Case("engagements", "code invoiceReadiness { ready }", SF, ("invoiceReadiness",), ("code",)),
    # Clients come from the CRM.
    Case("clients", "name invoices { number }", NS, ("invoices",), ("name",)),
    Case("clients", "name arBalance { amount }", NS, ("arBalance",), ("name",)),
    Case("clients", "name sourceLinks { salesforceId }", NS, ("sourceLinks",), ("name",)),
    Case("clients", "name links { id }", NS, ("links",), ("name",)),
    Case("clients", "name dataQuality { code }", NS, ("dataQuality",), ("name",)),
    Case("clients", "name engagements { code }", HV, ("engagements",), ("name",)),
    # People come from HR, joined to the PSA: a PSA outage nulls only the PSA's fields.
    Case("resources", "name weeklyCapacityHours", HV, ("weeklyCapacityHours",), ("name",)),
    Case("resources", "email defaultBillRate { amount }", HV, ("defaultBillRate",), ("email",)),
    Case("resources", "name assignments { id }", HV, ("assignments",), ("name",)),
    Case("resources", f"name timeEntries({JANUARY}) {{ id }}", HV, ("timeEntries",), ("name",)),
    Case("resources", f"title utilization({JANUARY}) {{ key }}", HV, ("utilization",), ("title",)),
    Case("resources", "department sourceLinks { harvestId }", HV, ("sourceLinks",), ("department",)),
    Case("resources", "department links { id }", HV, ("links",), ("department",)),
    Case("resources", "name dataQuality { code }", HV, ("dataQuality",), ("name",)),
    # Time entries come from the PSA.
    Case("timeEntries", "hours postedToErp", NS, ("postedToErp",), ("hours",), f"first: 3, {OCTOBER}"),
    Case("timeEntries", "date resource { name }", HR, ("resource",), ("date",), f"first: 3, {OCTOBER}"),
    # Invoices come from the ERP, opportunities from the CRM.
    Case("invoices", "number client { name }", SF, ("client",), ("number",), only_where_linked=True),
    Case("invoices", "number engagement { code }", HV, ("engagement",), ("number",), only_where_linked=True),
    Case("opportunities", "name engagement { code }", HV, ("engagement",), ("name",), "first: 20", True),
]


@dataclass(repr=False)  # the group holds the world: its repr is tens of MB
class Gateway:
    http: httpx.AsyncClient
    simulators: SimulatorGroup

    async def post(self, query: str) -> httpx.Response:
        return await self.http.post("/graphql", json={"query": query})

    async def ok(self, query: str) -> dict[str, Any]:
        response = await self.post(query)
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body["data"]

    async def set_faults(self, source: str, **faults: Any) -> None:
        url = f"{self.simulators.urls()[source]}/_sim/faults"
        (await self.http.put(url, json=faults)).raise_for_status()

    async def during_outage(self, source: str, query: str) -> dict[str, Any]:
        await self.set_faults(source, outage=True)
        try:
            response = await self.post(query)
        finally:
            await self.set_faults(source, outage=False)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(simulators: SimulatorGroup, world: World) -> AsyncIterator[Gateway]:
    """No read cache (every read reaches a vendor), no retries, and breakers that never open, so that
    each outage is seen by exactly the request made during it."""
    settings = settings_for(simulators, world, cache={"enabled": False})
    for system in CLASSIC:
        settings = settings.with_system(system, max_retries=0, breaker_failure_threshold=1_000_000)
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        gateway = Gateway(http, simulators)
        await gateway.ok("{ invoices(first: 1) { nodes { number } } clients(first: 1) { nodes { name } } }")
        yield gateway


def at(value: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        value = value[name]
    return value


def error_paths(errors: list[dict[str, Any]]) -> tuple[int, list[list[str | int]]]:
    """How many paths the errors cover, and those they list (a merged error lists its first 10)."""
    count, listed = 0, []
    for error in errors:
        ext = error["extensions"]
        paths = ext.get("paths", [error["path"]])
        assert paths[0] == error["path"] and len(paths) == min(10, ext.get("count", 1)), error
        count += ext.get("count", 1)
        listed += paths
    return count, listed


def assert_covers(errors: list[dict[str, Any]], expected: list[list[str | int]]) -> None:
    count, listed = error_paths(errors)
    assert count == len(expected)
    assert listed and all(p in expected for p in listed), listed


def psa_only(resource_id: str) -> bool:
    """A person only the PSA knows: the id holds the PSA user's key, not an HR record's."""
    return from_global_id(resource_id)[1].startswith(f"{HV}:")


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_failing_system_nulls_only_its_field(gw: Gateway, case: Case) -> None:
    before = (await gw.ok(case.query))[case.root]["nodes"]
    body = await gw.during_outage(case.down, case.query)
    assert body["data"][case.root] is not None, body.get("errors")
    nodes = body["data"][case.root]["nodes"]
    if case.root == "resources":
        # People only the PSA knows cannot be listed without it; everyone HR knows arrives.
        before = [n for n in before if not (case.down is HV and psa_only(n["id"]))]
        warning = {"code": "INCOMPLETE_DATA", "source": HV, "system": HV}
        assert warning.items() <= body["extensions"]["warnings"][0].items()
    assert before, "the case needs records"
    assert [n["id"] for n in nodes] == [n["id"] for n in before]
    for node, old in zip(nodes, before, strict=True):
        assert at(node, case.keep) == at(old, case.keep)
        assert at(node, case.fails) is None
    where = [i for i, n in enumerate(before) if not case.only_where_linked or at(n, case.fails) is not None]
    assert where, "the case needs records where the field has a value"
    assert_covers(body["errors"], [[case.root, "nodes", i, *case.fails] for i in where])
    for error in body["errors"]:
        assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE", error
        assert error["extensions"]["source"] == error["extensions"]["system"] == case.down


@pytest.mark.parametrize("down", [NS, SF], ids=lambda s: f"{s} down")
async def test_readiness_list_nulls_only_its_items(gw: Gateway, down: str) -> None:
    """The root readiness list arrives with one null item (and one error) per engagement."""
    query = "{ invoiceReadiness { ready engagement { code } } }"
    before = (await gw.ok(query))["invoiceReadiness"]
    body = await gw.during_outage(down, query)
    assert len(before) > 3
    assert body["data"]["invoiceReadiness"] == [None] * len(before)
    assert_covers(body["errors"], [["invoiceReadiness", i] for i in range(len(before))])
    assert {e["extensions"]["source"] for e in body["errors"]} == {down}
