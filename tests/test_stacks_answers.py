"""One world, two stacks: the classic stack (Salesforce as the CRM) and the hubspot stack (HubSpot as
the CRM, the ERP joined to HubSpot ids) give the same business answers through the real gateway.

Ids and links differ between the stacks by design; every figure, name, status and list must match.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from stack_answers import (
    PORTFOLIO,
    READINESS,
    RECONCILIATION,
    UTILIZATION,
    StackGateway,
    business,
    differences,
    stack_gateway,
)

from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World

Gateways = dict[str, StackGateway]
MONTH = {"from": "2026-10-01", "to": "2026-10-31"}
ALL = 500  # the largest page: every client of the small world
SUITEQL = "POST /services/rest/query/v1/suiteql"
HUBSPOT_BATCH_READ = "POST /crm/v3/objects/{kind}/batch/read"


@pytest.fixture(scope="module")
def hubspot_stack(world: World) -> Iterator[SimulatorGroup]:
    """The hubspot stack over the session's world: HubSpot, Harvest, BambooHR, NetSuite."""
    with SimulatorThread(world, stack="hubspot") as group:
        yield group


@pytest.fixture
async def gateways(
    simulators: SimulatorGroup, hubspot_stack: SimulatorGroup, world: World
) -> AsyncIterator[Gateways]:
    """A gateway on each stack (read cache off), its tokens and ERP currencies already fetched."""
    async with (
        stack_gateway("classic", simulators, world) as classic,
        stack_gateway("hubspot", hubspot_stack, world) as hubspot,
    ):
        for gateway in (classic, hubspot):
            await gateway.data(PORTFOLIO, {"first": 1})
        yield {"classic": classic, "hubspot": hubspot}


async def same_answer(
    gateways: Gateways, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The classic stack's data for `query`, after asserting that both stacks answer it without errors
    and with equal business answers (ids, links and CRM ids aside, lists in business-key order)."""
    classic, hubspot = [await gateways[stack].data(query, variables) for stack in ("classic", "hubspot")]
    assert differences(business(classic), business(hubspot)) == [], "left: classic, right: hubspot"
    return classic


def unposted_months(world: World) -> dict[str, str]:
    """The whole months holding the seeded unposted time: reconciliation has mismatches there."""
    unposted = set(world.drift.unposted_entry_ids)
    days = [e.spent_date for e in world.time_entries if e.id in unposted]
    last = max(days)
    end = (last.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return {"from": min(days).replace(day=1).isoformat(), "to": end.isoformat()}


def amount(money: dict[str, str] | None) -> Decimal:
    return Decimal(0) if money is None else Decimal(money["amount"])


# -- the same answers -----------------------------------------------------------------------------


async def test_portfolio_is_the_same_on_both_stacks(gateways: Gateways, world: World) -> None:
    classic = await same_answer(gateways, PORTFOLIO, {"first": ALL})
    clients = classic["clients"]["nodes"]
    assert classic["clients"]["totalCount"] == len(clients) == len(world.clients) >= 20
    assert sum(len(c["opportunities"]) for c in clients) == len(world.opportunities)
    engagements = [e for c in clients for e in c["engagements"]]
    assert len(engagements) == len(world.engagements)
    assert sum(amount(c["arBalance"]) for c in clients) > 0
    assert sum(1 for e in engagements if e["contractValue"] is not None) >= len(engagements) - 1
    assert {e["burn"]["status"] for e in engagements} >= {"ON_TRACK", "OVER_BUDGET"}
    assert sum(e["burn"]["hoursUsed"] for e in engagements) > 0
    assert {c["currency"] for c in clients} >= {"USD", "EUR"}
    stages = {o["stage"] for c in clients for o in c["opportunities"]}
    assert "Closed Won" in stages and len(stages) >= 3
    issues = [i["code"] for c in clients for i in c["dataQuality"]]
    assert issues == ["MISSING_LEGAL_ENTITY"]  # the seeded client without a legal entity


async def test_invoice_readiness_is_the_same_on_both_stacks(gateways: Gateways) -> None:
    classic = await same_answer(gateways, READINESS)
    rows = classic["invoiceReadiness"]
    ready = [r for r in rows if r["ready"]]
    assert len(rows) >= 10 and 0 < len(ready) < len(rows)
    assert sum(r["approvedUnbilledHours"] for r in ready) > 0
    assert sum(amount(r["amount"]) for r in ready) > 0
    blockers = {b["code"] for r in rows for b in r["blockers"]}
    assert blockers >= {"MISSING_LEGAL_ENTITY", "NOT_IN_ERP", "MISSING_RATE", "CAP_EXCEEDED"}


async def test_utilization_of_a_month_is_the_same_on_both_stacks(gateways: Gateways, world: World) -> None:
    classic = await same_answer(gateways, UTILIZATION, MONTH)
    rows = classic["utilization"]
    assert len(rows) == len(world.people)
    assert sum(r["totalHours"] for r in rows) > sum(r["billableHours"] for r in rows) * 0.5 > 0
    assert all(r["capacityHours"] > 0 for r in rows)
    assert sum(1 for r in rows if r["utilization"]) > len(rows) // 2
    assert {r["resource"]["email"] for r in rows if r["resource"]} >= {p.email for p in world.people[:10]}


async def test_reconciliation_is_the_same_on_both_stacks(gateways: Gateways, world: World) -> None:
    classic = await same_answer(gateways, RECONCILIATION, unposted_months(world))
    report = classic["reconciliation"]
    mismatches = report["mismatches"]
    assert report["engagementsChecked"] > report["matched"] > 0
    assert report["matched"] == report["engagementsChecked"] - len(mismatches)
    assert sum(r["unpostedEntryCount"] for r in mismatches) == len(world.drift.unposted_entry_ids)
    assert world.drift.engagement_missing_in_erp in {r["engagementCode"] for r in mismatches}
    assert {i["code"] for i in report["dataQuality"]} >= {"MISSING_IN_ERP", "MISSING_IN_HR"}


# -- the links differ, by the CRM -----------------------------------------------------------------


@pytest.mark.parametrize(("stack", "crm"), [("classic", "salesforce"), ("hubspot", "hubspot")])
async def test_each_client_links_its_stacks_crm_and_the_erp(
    gateways: Gateways, world: World, stack: str, crm: str
) -> None:
    data = await gateways[stack].data(PORTFOLIO, {"first": ALL})
    by_name = {c.name: c for c in world.clients}
    nodes = data["clients"]["nodes"]
    assert len(nodes) == len(world.clients)
    for node in nodes:
        client = by_name[node["name"]]
        crm_id = client.hubspot_id if crm == "hubspot" else client.sf_id
        refs = {ref["role"]: ref for ref in node["links"]}
        assert refs["CRM"] == {"system": crm, "role": "CRM", "vendor": crm, "id": crm_id}
        assert (refs["ERP"]["system"], refs["ERP"]["vendor"]) == ("netsuite", "netsuite")
        assert refs["ERP"]["id"]


async def test_the_erp_ref_of_a_client_is_the_same_on_both_stacks(gateways: Gateways) -> None:
    """The ERP customer is one record: only its external id (the CRM's id) differs between stacks."""
    refs = []
    for stack in ("classic", "hubspot"):
        data = await gateways[stack].data(PORTFOLIO, {"first": ALL})
        refs.append(
            {c["name"]: [r for r in c["links"] if r["role"] == "ERP"] for c in data["clients"]["nodes"]}
        )
    assert refs[0] == refs[1]


# -- batching still holds --------------------------------------------------------------------------


def pages(rows: int, size: int) -> int:
    return max(1, math.ceil(rows / size))


def paging_allowance(world: World) -> dict[tuple[str, str], int]:
    """The requests every client may cost beyond five: further pages of the same paged reads (the
    vendor's page or batch size), never a request per record."""
    lines = sum(len(i.lines) for i in world.invoices)
    invoice_pages = pages(len(world.invoices), 1000) - 1 + pages(lines, 1000) - 1
    return {
        # invoices and their lines, read by customer (AR balance); burn's billed to date is one sum
        ("netsuite", SUITEQL): invoice_pages,
        ("hubspot", HUBSPOT_BATCH_READ): pages(len(world.opportunities), 100) - 1,  # deals by id
    }


def by_route(counts: dict[str, dict[str, int]]) -> dict[tuple[str, str], int]:
    return {(system, route): n for system, routes in counts.items() for route, n in routes.items()}


@pytest.mark.parametrize("stack", ["classic", "hubspot"])
async def test_portfolio_requests_do_not_grow_with_the_clients(
    gateways: Gateways, world: World, stack: str
) -> None:
    gateway = gateways[stack]
    few_data, few_counts = await gateway.measure(PORTFOLIO, {"first": 5})
    all_data, all_counts = await gateway.measure(PORTFOLIO, {"first": ALL})
    print(f"\n{stack} upstream requests, first 5: {few_counts}\nfirst {ALL}: {all_counts}")
    assert len(few_data["clients"]["nodes"]) == 5
    assert len(all_data["clients"]["nodes"]) == len(world.clients) == 8 * 5
    few, every, allowance = by_route(few_counts), by_route(all_counts), paging_allowance(world)
    assert set(every) == set(few)
    grown = {route: (few[route], n) for route, n in every.items() if n > few[route] + allowance.get(route, 0)}
    assert grown == {}, "eight times the clients cost more requests than further pages"
    assert all(every[route] >= n for route, n in few.items())
    assert {system for system, _ in every} >= {"harvest", "netsuite"}
    assert sum(every.values()) <= 16
