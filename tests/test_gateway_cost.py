"""Cost budgets: an operation estimated over its caller's budget is refused before any upstream call."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import parse
from test_gateway_support import TEST_ANONYMOUS_ROLE, serving, settings_for

from opsgraph.auth.caller import Caller, Role
from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.gateway.app import create_app, gateway_schema
from opsgraph.gateway.cost import CostModel, compile_plan
from opsgraph.gateway.cost_limit import CostLimit
from opsgraph.gateway.demand_settings import CostSettings
from opsgraph.schema import build_schema
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

GRAPH = build_schema()._schema
MODEL = CostModel(list_sizes={"Engagement.timeEntries": 100}, default_list_size=10)

ALIAS = (
    "r{i}: resources(first: 500) {{ totalCount nodes {{ id name email title department location status "
    'timeEntries(from: "2026-01-01", to: "2026-11-20") {{ id date hours billable status notes task '
    "billRate {{ amount currency }} amount {{ amount currency }} engagement {{ code name }} "
    "links {{ system id }} }} }} }}"
)
ABUSE = "query Abuse { " + " ".join(ALIAS.format(i=i) for i in range(30)) + " }"
"""30 aliases of the largest list, each with a year of time entries: the 9 KB query that answered
29.6 MB before budgets."""

WIDE = (
    "query Wide { resources(first: 500) { nodes { name "
    'timeEntries(from: "2026-10-01", to: "2026-10-31") { date hours status billable notes task } } } }'
)
"""About 300,000: over the viewer's default budget, within finance's."""


def estimate(query: str, variables: dict[str, Any] | None = None, model: CostModel = MODEL) -> int:
    plan = compile_plan(GRAPH, parse(query), None, model)
    assert plan is not None
    return plan.cost(variables or {})


def test_fields_count_once_per_resolution_and_lists_multiply() -> None:
    assert estimate("{ clients(first: 5) { totalCount nodes { id name } } }") == 1 + 1 + 1 + 5 * 2
    assert estimate("{ clients { nodes { id } } }") == 1 + 1 + 50  # the default page size
    assert estimate("{ clients(first: 9999) { nodes { id } } }") == 1 + 1 + 500  # capped as `first` is
    assert estimate("{ clients(first: 2) { nodes { engagements { code } } } }") == 1 + 1 + 2 * (1 + 10)
    assert estimate('{ nodes(ids: ["a", "b", "c"]) { id } }') == 1 + 3
    declared = CostModel(list_sizes={"*.links": 3, "Client.links": 1})
    links = "{ clients(first: 2) { nodes { links { id } engagements { links { id } } } } }"
    assert estimate(links, model=declared) == 1 + 1 + 2 * ((1 + 1) + (1 + 10 * (1 + 3)))
    assert estimate("{ __schema { types { name fields { name } } } }") == 0  # introspection is free


def test_aliases_and_fragments_count_per_use() -> None:
    one = estimate("{ clients(first: 5) { nodes { id } } }")
    two = "{ a: clients(first: 5) { nodes { id } } b: clients(first: 5) { nodes { id } } }"
    assert estimate(two) == 2 * one
    spread = "query { clients(first: 5) { ...Page } } fragment Page on ClientConnection { nodes { id name } }"
    assert estimate(spread) == 1 + 1 + 5 * 2  # the connection's page size reaches into the fragment
    twice = "query { clients(first: 4) { nodes { ...C ...C } } } fragment C on Client { id name }"
    assert estimate(twice) == 1 + 1 + 4 * 4


def test_page_sizes_and_list_lengths_from_variables() -> None:
    query = "query($n: Int, $ids: [ID!]!) { clients(first: $n) { nodes { id } } nodes(ids: $ids) { id } }"
    assert estimate(query, {"n": 3, "ids": ["x", "y"]}) == (1 + 1 + 3) + (1 + 2)
    assert estimate(query, {"ids": []}) == (1 + 1 + 50) + 1
    assert estimate(query, {"n": "many", "ids": "x"}) == (1 + 1 + 50) + (1 + 10)  # refused later anyway
    assert estimate("query($n: Int = 7) { clients(first: $n) { nodes { id } } }") == 1 + 1 + 7


def test_a_fragment_chain_compiles_in_linear_time() -> None:
    chain = [f"fragment F{i} on Client {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40)]
    last = "fragment F40 on Client { id }"
    query = "query { clients(first: 1) { nodes { ...F0 } } } " + " ".join(chain) + " " + last
    assert estimate(query) == 1 + 1 + 2**40


def test_budget_is_the_largest_of_the_callers_roles() -> None:
    settings = CostSettings(budgets={"viewer": 10, "finance": 1000})
    both = Caller("ana", frozenset({Role.VIEWER, Role.FINANCE}), None, "jwt")
    assert settings.budget_of(both) == 1000
    assert settings.budget_of(None) == 10


async def stats_total(admin: httpx.AsyncClient, simulators: SimulatorGroup) -> int:
    return sum([(await admin.get(f"{url}/_sim/stats")).json()["total"] for url in simulators.urls().values()])


async def test_the_abusive_query_is_refused_before_any_upstream_call(
    simulators: SimulatorGroup, world: World
) -> None:
    assert 8 * 1024 < len(ABUSE) < 10 * 1024
    app = create_app(settings_for(simulators, world))
    async with serving(app) as url, httpx.AsyncClient(timeout=30) as http:
        for sim in simulators.urls().values():
            await http.delete(f"{sim}/_sim/stats")
        response = await http.post(
            f"{url}/graphql",
            json={"query": ABUSE},
            headers={"Accept": "application/graphql-response+json"},
        )
        upstream = await stats_total(http, simulators)
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    extensions = error["extensions"]
    assert extensions["code"] == "QUERY_TOO_COMPLEX" and extensions["limit"] == "cost"
    assert extensions["budget"] == 1_000_000  # anonymous in the tests: executive (TEST_ANONYMOUS_ROLE)
    assert extensions["estimate"] == estimate(ABUSE, model=CostSettings().model()) > 1_000_000
    assert upstream == 0


async def test_the_budget_follows_the_role_and_the_plan_is_built_once(
    simulators: SimulatorGroup, world: World
) -> None:
    settings = settings_for(simulators, world)
    schema = gateway_schema(settings)
    [limit] = [e for e in schema.extensions if isinstance(e, type) and issubclass(e, CostLimit)]
    app = create_app(settings, schema=schema)
    expected = estimate(WIDE, model=settings.cost.model())
    assert 250_000 < expected < 1_000_000

    async def run(role: str) -> httpx.Response:
        return await http.post(
            f"{url}/graphql", json={"query": WIDE}, headers={"X-API-Key": DEMO_API_KEYS[role]}
        )

    async with serving(app) as url, httpx.AsyncClient(timeout=30) as http:
        viewer = await run("viewer")
        finance = await run("finance")
        again = await run("viewer")
    assert viewer.json()["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "cost",
        "estimate": expected,
        "budget": 250_000,
    }
    assert again.json() == viewer.json()
    body = finance.json()
    assert "errors" not in body and len(body["data"]["resources"]["nodes"]) > 0
    assert limit.plans.compiled == 1


async def test_budgets_can_be_turned_off(simulators: SimulatorGroup, world: World) -> None:
    settings = settings_for(simulators, world, cost={"enabled": False})
    schema = gateway_schema(settings)
    assert not [e for e in schema.extensions if isinstance(e, type) and issubclass(e, CostLimit)]


@pytest.mark.parametrize("budget", [0, 5])
async def test_a_configured_budget_is_the_limit(
    simulators: SimulatorGroup, world: World, budget: int
) -> None:
    settings = settings_for(simulators, world, cost={"budgets": {TEST_ANONYMOUS_ROLE: budget}})
    async with serving(create_app(settings)) as url, httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{url}/graphql", json={"query": "{ clients(first: 1) { nodes { id } } }"})
    body = response.json()
    if budget == 0:
        assert body["errors"][0]["extensions"]["budget"] == 0
    else:
        assert "errors" not in body and len(body["data"]["clients"]["nodes"]) == 1
