"""`workflowChanged`: a workflow's status changes reach subscribers as they happen, so the exception
queue (PARKED) is live; `status` filters. The workflow engine tells the events through its listener
hook; the subscribers are real graphql-transport-ws clients (gql)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
from events_support import Gateway, subscribed
from test_gateway_support import serving
from test_gateway_support import settings_for as gateway_settings
from test_workflows_graph import Graph
from workflows_sim import TEST_TUNING, SimAdmin

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.gateway.app import create_app
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytest_plugins = ("workflows_support",)

WATCH = """subscription Queue($status: [WorkflowStatus!]) {
  workflowChanged(status: $status) { id kind status failingStep note }
}"""

RESOLVE = """mutation R($id: ID!) {
  resolveWorkflow(id: $id, note: "billed by hand") { workflow { status } }
}"""


@pytest.fixture
async def live(
    simulators: SimulatorGroup, world: World, erp_sim: SimAdmin, tmp_path: object
) -> AsyncIterator[tuple[Gateway, Graph]]:
    settings = gateway_settings(
        simulators,
        world,
        workflows={"database_url": f"sqlite:///{tmp_path}/workflows.sqlite", "poll_interval_s": 0.02},
    )
    for name in settings.systems:
        settings = settings.with_system(name, **TEST_TUNING)
    app = create_app(settings)
    async with (
        serving(app) as url,
        aiohttp.ClientSession() as session,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        yield Gateway(url, app.state.gateway, simulators, session), Graph(http)


async def test_a_parked_workflow_is_pushed_to_the_exception_queue(
    live: tuple[Gateway, Graph], erp_sim: SimAdmin
) -> None:
    gw, graph = live
    admin = {"X-API-Key": DEMO_API_KEYS["admin"]}
    fields = {"query": WATCH, "result_field": "workflowChanged", "init_payload": admin}
    async with (
        subscribed(gw, {"status": ["PARKED"]}, **fields) as queue,
        subscribed(gw, {}, **fields) as everything,
    ):
        await erp_sim.faults(error_rate=1.0, methods=["PUT", "DELETE"], after=0)
        parked = (await graph.post(caller="finance"))["workflow"]
        await erp_sim.clear_faults()
        assert parked["status"] == "PARKED"

        (pushed,) = await queue.next_count(1)
        assert (pushed["id"], pushed["status"]) == (parked["id"], "PARKED")
        assert pushed["kind"] == "postApprovedTime"
        assert pushed["failingStep"] == parked["failingStep"]

        done = await graph.data(RESOLVE, "admin", id=parked["id"])
        assert done["resolveWorkflow"]["workflow"]["status"] == "RESOLVED"
        seen = await everything.next_count(1)
        while seen[-1]["status"] != "RESOLVED":
            seen = await everything.next_count(len(seen) + 1)
        statuses = [e["status"] for e in seen]
        assert statuses[-1] == "RESOLVED" and "PARKED" in statuses
        assert set(statuses) <= {"PENDING", "RUNNING", "PARKED", "RESOLVED"}
        assert {e["id"] for e in seen} == {parked["id"]}
        assert seen[-1]["note"] == "billed by hand"
        assert len(queue.received) == 1  # RESOLVED is not in its filter
