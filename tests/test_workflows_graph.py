"""The mutations through the gateway over HTTP: the real app under uvicorn, the real simulators
upstream, the workflow store on SQLite and on PostgreSQL; writes counted at the ERP simulator."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from test_gateway_support import TEST_ANONYMOUS_ROLE, serving
from test_gateway_support import settings_for as gateway_settings
from workflows_sim import PSA, TEST_TUNING, TIMEBILL_PUT, SimAdmin

from opsgraph.auth import hash_api_key
from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.gateway.app import create_app
from opsgraph.schema.relay import to_global_id
from opsgraph.workflows.post_time import BATCH_SIZE
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytest_plugins = ("workflows_support",)

ENG_1 = to_global_id("Engagement", "ENG-0001")
ENG_4 = to_global_id("Engagement", "ENG-0004")
UNPOSTED = 44  # ENG-0001's approved entries in October 2026, none posted in the seeded world

WORKFLOW = """id kind status correlationId idempotencyKey startedAt finishedAt error failingStep note
  steps { name system status attempts error compensated }"""
POST = f"""mutation Post($input: PostApprovedTimeInput!) {{
  postApprovedTime(input: $input) {{
    workflow {{ {WORKFLOW} }}
    userErrors {{ field message code }}
    engagement {{ code }}
    invoice {{ id }}
    timeEntries {{ id hours postedToErp engagement {{ code }} }}
  }}
}}"""
REPLAY = f"""mutation Replay($id: ID!) {{
  replayWorkflow(id: $id) {{ workflow {{ {WORKFLOW} }} userErrors {{ field message code }} }}
}}"""
RESOLVE = f"""mutation Resolve($id: ID!, $note: String!) {{
  resolveWorkflow(id: $id, note: $note) {{ workflow {{ {WORKFLOW} }} userErrors {{ field message code }} }}
}}"""
RECONCILIATION = """query Rec {
  reconciliation(from: "2026-10-01", to: "2026-10-31") {
    matched mismatches { engagementCode unpostedEntryCount erpPostedHours psaApprovedHours }
  }
}"""
WORKFLOWS = """query Workflows($status: [WorkflowStatus!], $first: Int, $after: String) {
  workflows(status: $status, kind: "postApprovedTime", first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id status }
  }
}"""
NODE = f"query Node($id: ID!) {{ node(id: $id) {{ ... on Workflow {{ {WORKFLOW} }} }} }}"


SECOND_FINANCE_KEY = "og_test-second-finance-0123456789abcdefghijklmn"
"""A second `finance` caller (`caller="finance-2"`): the idempotency key is per caller."""


class Graph:
    """POSTs GraphQL to the gateway; `caller`: a demo role whose key goes in `X-API-Key` (None: anonymous)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def run(self, query: str, caller: str | None = None, **variables: Any) -> dict[str, Any]:
        key = SECOND_FINANCE_KEY if caller == "finance-2" else DEMO_API_KEYS.get(caller or "")
        headers = {"X-API-Key": key} if key else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, caller: str | None = None, **variables: Any) -> dict[str, Any]:
        body = await self.run(query, caller, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def post(self, caller: str | None = "finance", **fields: Any) -> dict[str, Any]:
        payload: dict[str, Any] = (await self.data(POST, caller, input=post_input(**fields)))[
            "postApprovedTime"
        ]
        return payload

    async def eng_1_row(self) -> dict[str, Any] | None:
        report = (await self.data(RECONCILIATION))["reconciliation"]
        rows = [r for r in report["mismatches"] if r["engagementCode"] == "ENG-0001"]
        return rows[0] if rows else None


def post_input(**fields: Any) -> dict[str, Any]:
    base = {
        "idempotencyKey": uuid.uuid4().hex,
        "engagementId": ENG_1,
        "from": "2026-10-01",
        "to": "2026-10-31",
    }
    return {**base, **fields}


@pytest.fixture
async def graph(
    database_url: str, simulators: SimulatorGroup, world: World, erp_sim: SimAdmin
) -> AsyncIterator[Graph]:
    """The gateway on the shared simulators, its workflow store at `database_url`; no retries and no
    breaker opening (faults are seen once, writes counted exactly)."""
    settings = gateway_settings(
        simulators,
        world,
        workflows={"database_url": database_url, "poll_interval_s": 0.02},
        auth={
            "anonymous_role": TEST_ANONYMOUS_ROLE,
            "api_keys": {"finance-2": {"hash": hash_api_key(SECOND_FINANCE_KEY), "roles": ["finance"]}},
        },
    )
    for name in settings.systems:
        settings = settings.with_system(name, **TEST_TUNING)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield Graph(http)


async def test_post_approved_time_shows_in_the_graph_at_once(graph: Graph, erp_sim: SimAdmin) -> None:
    before = await graph.eng_1_row()  # read (and cached) before the mutation
    assert before is not None and before["unpostedEntryCount"] == UNPOSTED
    matched = (await graph.data(RECONCILIATION))["reconciliation"]["matched"]

    key = uuid.uuid4().hex
    payload = await graph.post(caller="finance", idempotencyKey=key)

    workflow = payload["workflow"]
    assert payload["userErrors"] == [] and payload["invoice"] is None
    assert (workflow["kind"], workflow["status"], workflow["idempotencyKey"]) == (
        "postApprovedTime",
        "COMPLETED",
        key,
    )
    assert workflow["error"] is None and workflow["finishedAt"] is not None
    assert [(s["name"], s["system"], s["status"], s["attempts"]) for s in workflow["steps"]] == [
        ("post-time-1", "netsuite", "COMPLETED", 1),
        ("post-time-2", "netsuite", "COMPLETED", 1),
    ]
    assert payload["engagement"] == {"code": "ENG-0001"}
    entries = payload["timeEntries"]
    assert len(entries) == UNPOSTED and len({e["id"] for e in entries}) == UNPOSTED
    assert all(e["postedToErp"] and e["engagement"]["code"] == "ENG-0001" for e in entries)
    assert round(sum(e["hours"] for e in entries), 2) == before["psaApprovedHours"] - before["erpPostedHours"]
    assert await erp_sim.route_count(TIMEBILL_PUT) == UNPOSTED

    assert await graph.eng_1_row() is None  # matched now: the cached postings were dropped
    assert (await graph.data(RECONCILIATION))["reconciliation"]["matched"] == matched + 1
    node = (await graph.data(NODE, id=workflow["id"]))["node"]
    assert node == workflow
    # Posting the same period again (another key) finds nothing left to post.
    again = await graph.post(caller="finance")
    assert again["workflow"]["status"] == "COMPLETED" and again["workflow"]["steps"] == []
    assert again["timeEntries"] == []
    assert await erp_sim.route_count(TIMEBILL_PUT) == UNPOSTED


@pytest.mark.parametrize(
    ("fields", "path", "code"),
    [
        ({"from": "2026-09-01", "to": "2026-09-30"}, ["input", "from"], "PERIOD_CLOSED"),
        ({"engagementId": to_global_id("Engagement", "ENG-9999")}, ["input", "engagementId"], "NOT_FOUND"),
        ({"to": "2026-09-01"}, ["input"], "BAD_USER_INPUT"),
        ({"engagementId": "bm8tYW4taWQ"}, ["input", "engagementId"], "BAD_USER_INPUT"),
        ({"idempotencyKey": "  "}, ["input", "idempotencyKey"], "BAD_USER_INPUT"),
    ],
)
async def test_a_validation_failure_is_a_user_error_and_writes_nothing(
    graph: Graph, erp_sim: SimAdmin, fields: dict[str, str], path: list[str], code: str
) -> None:
    payload = await graph.post(**fields)

    assert payload["workflow"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(path, code)]
    assert payload["userErrors"][0]["message"]
    assert await erp_sim.route_count(TIMEBILL_PUT) == 0
    assert len(await erp_sim.writes()) == 0


async def test_ten_concurrent_mutations_with_one_key_write_each_entry_once(
    graph: Graph, erp_sim: SimAdmin
) -> None:
    fields = post_input()
    payloads = await asyncio.gather(*(graph.post(caller="finance", **fields) for _ in range(10)))

    assert {p["workflow"]["id"] for p in payloads} == {payloads[0]["workflow"]["id"]}
    assert {p["workflow"]["status"] for p in payloads} == {"COMPLETED"}
    assert {len(p["timeEntries"]) for p in payloads} == {UNPOSTED}
    assert await erp_sim.route_count(TIMEBILL_PUT) == UNPOSTED
    assert len(await erp_sim.writes("PUT")) == UNPOSTED
    listed = (await graph.data(WORKFLOWS, status=["COMPLETED"], first=500))["workflows"]["nodes"]
    assert [w["id"] for w in listed].count(payloads[0]["workflow"]["id"]) == 1


async def test_the_same_key_with_another_input_is_a_conflict(graph: Graph, erp_sim: SimAdmin) -> None:
    fields = post_input()
    first = await graph.post(caller="finance", **fields)

    body = await graph.run(POST, "finance", input={**fields, "engagementId": ENG_4})

    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["workflowId"] == first["workflow"]["id"]
    assert error["path"] == ["postApprovedTime"]
    assert await erp_sim.route_count(TIMEBILL_PUT) == UNPOSTED
    # The key is the caller's: another caller with it starts its own workflow.
    other = await graph.post(caller="finance-2", **{**fields, "engagementId": ENG_4})
    assert other["workflow"]["id"] != first["workflow"]["id"]


async def test_a_system_down_before_any_write_is_its_source_error(
    graph: Graph, erp_sim: SimAdmin, simulators: SimulatorGroup
) -> None:
    psa = SimAdmin(simulators.running[PSA].url)
    await psa.faults(outage=True)
    try:
        body = await graph.run(POST, "finance", input=post_input())
    finally:
        await psa.clear_faults()

    (error,) = body["errors"]
    assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    assert error["extensions"]["system"] == PSA and error["extensions"]["role"] == "PSA"
    assert error["message"] == f"System {PSA} is unavailable"
    assert "stacktrace" not in str(error).lower() and "Traceback" not in str(error)
    assert await erp_sim.route_count(TIMEBILL_PUT) == 0


async def test_replay_and_resolve_through_the_graph(graph: Graph, erp_sim: SimAdmin) -> None:
    # Every write after step 1's fails and so does its undoing: two workflows PARKED.
    await erp_sim.faults(error_rate=1.0, methods=["PUT", "DELETE"], after=BATCH_SIZE)
    parked = (await graph.post(caller="finance"))["workflow"]
    await erp_sim.faults(error_rate=1.0, methods=["PUT", "DELETE"], after=0)
    other = (await graph.post(caller="finance", **{"engagementId": ENG_4}))["workflow"]

    assert parked["status"] == "PARKED" and other["status"] == "PARKED"
    assert parked["failingStep"] == "post-time-2" and parked["finishedAt"] is None
    assert parked["error"].startswith("SOURCE_UNAVAILABLE: System netsuite is unavailable; compensation")
    assert "500" not in parked["error"]  # the vendor's text stays in the store and the logs
    queue = (await graph.data(WORKFLOWS, status=["PARKED"], first=500))["workflows"]
    assert {parked["id"], other["id"]} <= {w["id"] for w in queue["nodes"]}
    page = (await graph.data(WORKFLOWS, status=["PARKED"], first=1))["workflows"]
    assert page["totalCount"] == queue["totalCount"] and page["pageInfo"]["hasNextPage"] is (
        queue["totalCount"] > 1
    )
    await erp_sim.clear_faults()

    replayed = (await graph.data(REPLAY, "admin", id=parked["id"]))["replayWorkflow"]
    assert replayed["userErrors"] == []
    assert replayed["workflow"]["status"] == "COMPLETED"
    assert [(s["name"], s["status"], s["attempts"]) for s in replayed["workflow"]["steps"]] == [
        ("post-time-1", "COMPLETED", 1),
        ("post-time-2", "COMPLETED", 2),
    ]
    assert len(await erp_sim.writes("PUT")) == UNPOSTED  # step 1 was not posted again

    resolved = (await graph.data(RESOLVE, "admin", id=other["id"], note="posted by hand"))["resolveWorkflow"]
    assert resolved["workflow"]["status"] == "RESOLVED" and resolved["workflow"]["note"] == "posted by hand"
    again = (await graph.data(REPLAY, "finance", id=other["id"]))["replayWorkflow"]
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [(["id"], "NOT_PARKED")]
    assert again["workflow"]["status"] == "RESOLVED"
    still = {
        w["id"] for w in (await graph.data(WORKFLOWS, status=["PARKED"], first=500))["workflows"]["nodes"]
    }
    assert parked["id"] not in still and other["id"] not in still

    missing = await graph.run(REPLAY, "admin", id=to_global_id("Workflow", "postApprovedTime-" + "0" * 32))
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
