"""submitTimeEntries: the mutation through the gateway over HTTP and the engine alone (SQLite and
PostgreSQL stores), Harvest, BambooHR and NetSuite simulators over real sockets, writes counted at
the PSA simulator. These tests write time entries, so they run on simulators of their own and
delete what they wrote after each test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from test_gateway_support import serving
from test_gateway_support import settings_for as gateway_settings
from workflows_sim import PSA, TEST_TUNING, SimAdmin, psa_client, settings_for

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.connectors.harvest.resources import TIME_ENTRIES
from opsgraph.gateway.app import create_app
from opsgraph.resolvers.sources import Sources
from opsgraph.roles.drafts import TimeEntryDraft
from opsgraph.schema.relay import to_global_id
from opsgraph.workflows import WorkflowConflict, WorkflowEngine, WorkflowRecord, WorkflowStatus
from opsgraph.workflows.records import StepStatus
from opsgraph.workflows.submit_time import BATCH_SIZE
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytest_plugins = ("workflows_support",)

KIND = "submitTimeEntries"
HR = "bamboohr"
LIAM = f"{HR}:184"  # active since 2015, assigned to ENG-0001 (active, 2026-05-25..2027-04-10)
ELENA = f"{HR}:166"  # hired 2026-05-04, assigned to ENG-0001
OTHER = f"{HR}:191"  # assigned to ENG-0004, not to ENG-0001
LIAM_USER = "4200084"
POSTS = "POST /v2/time_entries"
PSA_WRITES = (POSTS, "PATCH /v2/time_entries/{id:int}", "DELETE /v2/time_entries/{id:int}")

SUBMIT = """mutation Submit($input: SubmitTimeEntriesInput!) {
  submitTimeEntries(input: $input) {
    workflow { id kind status correlationId error failingStep steps { name system status attempts } }
    userErrors { field message code }
    timeEntries { date hours notes engagement { code } resource { id } }
  }
}"""
LOGGED = """query Logged($id: ID!) {
  node(id: $id) { ... on Engagement { timeEntries(from: "2026-11-23", to: "2026-11-30") { hours notes } } }
}"""


def engagement(code: str) -> str:
    return to_global_id("Engagement", code)


def resource(key: str) -> str:
    return to_global_id("Resource", key)


def entry(day: str = "2026-11-23", hours: float = 3.0, code: str = "ENG-0001", **more: Any) -> dict[str, Any]:
    return {"engagementId": engagement(code), "date": day, "hours": hours, **more}


def submit_input(*entries: dict[str, Any], person: str = LIAM, **fields: Any) -> dict[str, Any]:
    return {
        "idempotencyKey": uuid.uuid4().hex,
        "resourceId": resource(person),
        "entries": list(entries) or [entry()],
        **fields,
    }


def engine_input(*entries: dict[str, Any], person: str = LIAM) -> dict[str, Any]:
    """The engine's input (codes and keys, not global ids)."""
    return {"resource": person, "entries": list(entries)}


def days(n: int, start: date = date(2026, 11, 23)) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


@pytest.fixture
async def psa_sim(own_simulators: SimulatorGroup, sources: Sources) -> AsyncIterator[SimAdmin]:
    """The PSA simulator with no faults and zero counts; afterwards every entry a workflow wrote
    (those with an external reference) is deleted again."""
    admin = SimAdmin(own_simulators.running[PSA].url)
    await admin.clear_faults()
    await admin.clear_stats()
    yield admin
    await admin.clear_faults()
    client = psa_client(sources)
    for record in await client.collect(TIME_ENTRIES, {"from": "2026-10-01", "to": "2027-03-31"}):
        if record.get("external_reference"):
            await client.request("DELETE", f"{TIME_ENTRIES.path}/{record['id']}")


async def psa_writes(admin: SimAdmin) -> int:
    return sum([await admin.route_count(r) for r in PSA_WRITES])


async def written(sources: Sources) -> list[dict[str, Any]]:
    """The PSA's entries that carry an external reference (only workflows write those), oldest first."""
    records = await psa_client(sources).collect(TIME_ENTRIES, {"from": "2026-10-01", "to": "2027-03-31"})
    return sorted((r for r in records if r.get("external_reference")), key=lambda r: int(r["id"]))


class Graph:
    """Calls the gateway as `delivery` (an authenticated caller, who may submit for anyone)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def run(
        self, query: str, headers: dict[str, str] | None = None, **variables: Any
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"X-API-Key": DEMO_API_KEYS["delivery"], **(headers or {})},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def submit(self, fields: dict[str, Any], correlation: str | None = None) -> dict[str, Any]:
        headers = None if correlation is None else {"X-Correlation-ID": correlation}
        body = await self.run(SUBMIT, headers=headers, input=fields)
        assert "errors" not in body, body["errors"]
        payload: dict[str, Any] = body["data"]["submitTimeEntries"]
        return payload


@pytest.fixture
async def graph(
    database_url: str, own_simulators: SimulatorGroup, world: World, psa_sim: SimAdmin
) -> AsyncIterator[Graph]:
    settings = gateway_settings(
        own_simulators, world, workflows={"database_url": database_url, "poll_interval_s": 0.02}
    )
    for name in settings.systems:
        settings = settings.with_system(name, **TEST_TUNING)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield Graph(http)


@pytest.fixture
async def engine(database_url: str, sources: Sources, psa_sim: SimAdmin) -> AsyncIterator[WorkflowEngine]:
    async with WorkflowEngine(settings_for(database_url), sources).running() as running:
        yield running


# -- through the gateway ----------------------------------------------------------------------------


async def test_submitted_entries_are_written_once_and_the_graph_shows_them_at_once(
    graph: Graph, psa_sim: SimAdmin, sources: Sources
) -> None:
    before = await graph.run(LOGGED, id=engagement("ENG-0001"))  # cached now: the mutation must drop it
    logged_before = before["data"]["node"]["timeEntries"]
    fields = submit_input(entry(), entry("2026-11-24", 5.5, notes="Design review", task="project management"))

    payload = await graph.submit(fields, correlation="cid-submit")
    again = await graph.submit(fields)  # a retry: the first result, no write
    after = await graph.run(LOGGED, id=engagement("ENG-0001"))

    workflow = payload["workflow"]
    assert payload["userErrors"] == [] and workflow["status"] == "COMPLETED"
    assert workflow["correlationId"] == "cid-submit"
    assert [(s["name"], s["system"], s["status"], s["attempts"]) for s in workflow["steps"]] == [
        ("psa-time-1", PSA, "COMPLETED", 1)
    ]
    person = {"id": resource(LIAM)}
    assert payload["timeEntries"] == [
        {
            "date": "2026-11-23",
            "hours": 3.0,
            "notes": None,
            "engagement": {"code": "ENG-0001"},
            "resource": person,
        },
        {
            "date": "2026-11-24",
            "hours": 5.5,
            "notes": "Design review",
            "engagement": {"code": "ENG-0001"},
            "resource": person,
        },
    ]
    assert again["workflow"]["id"] == workflow["id"]
    assert await psa_sim.route_count(POSTS) == 2
    assert sorted(map(str, after["data"]["node"]["timeEntries"])) == sorted(
        map(str, [*logged_before, {"hours": 3.0, "notes": None}, {"hours": 5.5, "notes": "Design review"}])
    )
    made = await written(sources)
    assert [(r["user"]["id"], r["project"]["code"], r["task"]["name"]) for r in made] == [
        (int(LIAM_USER), "ENG-0001", "Delivery"),  # the first billable task
        (int(LIAM_USER), "ENG-0001", "Project Management"),
    ]
    assert {r["external_reference"]["group_id"] for r in made} == {"cid-submit"}
    assert len({r["external_reference"]["id"] for r in made}) == 2


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (  # not active in HR on the date (hired 2026-05-04) and the period is closed
            submit_input(entry("2026-05-01"), person=ELENA),
            {
                (("input", "entries", "0", "date"), "NOT_ACTIVE_IN_HR"),
                (("input", "entries", "0", "date"), "NOT_ASSIGNED"),  # ENG-0001 starts 2026-05-25
            },
        ),
        (submit_input(entry(), person=OTHER), {(("input", "entries", "0", "engagementId"), "NOT_ASSIGNED")}),
        (
            submit_input(entry(code="ENG-0002")),  # inactive, and nobody on it any more
            {
                (("input", "entries", "0", "engagementId"), "ENGAGEMENT_INACTIVE"),
                (("input", "entries", "0", "engagementId"), "NOT_ASSIGNED"),
            },
        ),
        (submit_input(entry("2026-09-15")), {(("input", "entries", "0", "date"), "PERIOD_CLOSED")}),
        (
            submit_input(entry(hours=0), entry("2026-11-24", 25)),
            {
                (("input", "entries", "0", "hours"), "HOURS_OUT_OF_BOUNDS"),
                (("input", "entries", "1", "hours"), "HOURS_OUT_OF_BOUNDS"),
            },
        ),
        (  # the day's total
            submit_input(entry(hours=12), entry(hours=8, notes="b"), entry(hours=6, notes="c")),
            {(("input", "entries", "2", "hours"), "HOURS_OUT_OF_BOUNDS")},
        ),
        (
            submit_input(entry(notes="x"), entry("2026-11-24"), entry(notes=" X ")),
            {(("input", "entries", "2"), "DUPLICATE")},
        ),
        (submit_input(entry(task="Gardening")), {(("input", "entries", "0", "task"), "UNKNOWN_TASK")}),
        (submit_input(entry(code="ENG-9999")), {(("input", "entries", "0", "engagementId"), "NOT_FOUND")}),
        (submit_input(entry(), person=f"{HR}:99999"), {(("input", "resourceId"), "NOT_FOUND")}),
        (submit_input(entries=[]), {(("input", "entries"), "BAD_USER_INPUT")}),
        (
            submit_input(entry(engagementId=resource(LIAM))),
            {(("input", "entries", "0", "engagementId"), "BAD_USER_INPUT")},
        ),
    ],
)
async def test_each_refused_entry_is_a_user_error_with_its_path_and_nothing_is_written(
    graph: Graph, psa_sim: SimAdmin, fields: dict[str, Any], expected: set[tuple[tuple[str, ...], str]]
) -> None:
    payload = await graph.submit(fields)

    assert payload["workflow"] is None
    assert {(tuple(e["field"]), e["code"]) for e in payload["userErrors"]} == expected
    assert all(e["message"] for e in payload["userErrors"])
    assert await psa_writes(psa_sim) == 0


async def test_an_entry_duplicating_one_in_the_psa_is_refused(graph: Graph, psa_sim: SimAdmin) -> None:
    first = await graph.submit(submit_input(entry("2026-11-25", 2, notes="Standup")))
    assert first["workflow"]["status"] == "COMPLETED"

    again = await graph.submit(submit_input(entry("2026-11-25", 2, notes="standup"), entry("2026-11-26", 2)))

    assert again["workflow"] is None
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [
        (["input", "entries", "0"], "DUPLICATE")
    ]
    assert await psa_sim.route_count(POSTS) == 1


async def test_the_psa_writes_a_batch_once_per_key_and_withdraws_it(
    sources: Sources, psa_sim: SimAdmin, own_simulators: SimulatorGroup
) -> None:
    psa = psa_client(sources)
    project = (await psa.engagements_by_codes(["ENG-0001"]))["ENG-0001"]
    drafts = [
        TimeEntryDraft(engagement_id=project.id, user_id=LIAM_USER, date=date(2026, 11, 23), hours=2),
        TimeEntryDraft(engagement_id=project.id, user_id=LIAM_USER, date=date(2026, 11, 24), hours=3),
    ]

    first = await psa.submit_time_entries(drafts, idempotency_key="wf-1/psa-time-1")
    again = await psa.submit_time_entries(drafts, idempotency_key="wf-1/psa-time-1")  # a resumed step

    assert [e.id for e in again] == [e.id for e in first]
    assert [(e.date, e.hours, e.engagement_id, e.user_id) for e in first] == [
        (date(2026, 11, 23), 2, project.id, LIAM_USER),
        (date(2026, 11, 24), 3, project.id, LIAM_USER),
    ]
    assert await psa_sim.route_count(POSTS) == 2
    assert sorted(await psa.engagement_tasks(project.id)) == ["Delivery", "Internal", "Project Management"]
    gone = await psa.withdraw_time_entries(drafts, idempotency_key="wf-1/psa-time-1")
    assert sorted(gone) == sorted(e.id for e in first)
    assert await psa.withdraw_time_entries(drafts, idempotency_key="wf-1/psa-time-1") == []
    assert await written(sources) == []
    # Harvest's own refusal of an entry for a person not on the project, in its wire format.
    async with httpx.AsyncClient(base_url=own_simulators.running[PSA].url) as http:
        headers = {"Authorization": "Bearer sim-harvest-token", "Harvest-Account-Id": "1121001"}
        body = {
            "project_id": int(project.id),
            "task_id": 1,
            "spent_date": "2026-11-23",
            "hours": 1,
            "user_id": 4200091,
        }
        refused = await http.post("/v2/time_entries", json=body, headers=headers)
    assert (refused.status_code, refused.json()) == (
        422,
        {"message": f"User 4200091 is not assigned to project {project.id}"},
    )


# -- the engine ---------------------------------------------------------------------------------------


async def completed(engine: WorkflowEngine, data: dict[str, Any], key: str) -> WorkflowRecord:
    result = await engine.start(KIND, data, idempotency_key=key, caller="alice", correlation_id="cid-1")
    assert result.user_errors == ()
    assert result.workflow is not None
    return result.workflow


ENTRIES = engine_input(
    {"engagement_code": "ENG-0001", "date": "2026-11-23", "hours": 4},
    {"engagement_code": "ENG-0001", "date": "2026-11-24", "hours": 4},
)


async def test_ten_concurrent_calls_with_one_key_write_each_entry_once(
    engine: WorkflowEngine, psa_sim: SimAdmin, sources: Sources
) -> None:
    key = uuid.uuid4().hex
    records = await asyncio.gather(*(completed(engine, ENTRIES, key) for _ in range(10)))

    assert {r.id for r in records} == {records[0].id}
    assert {r.status for r in records} == {WorkflowStatus.COMPLETED}
    assert await psa_sim.route_count(POSTS) == 2
    assert len(await written(sources)) == 2
    assert records[0].result is not None and records[0].result["submitted"] == 2
    assert records[0].result["hours"] == 8


async def test_the_same_key_with_another_input_is_a_conflict(
    engine: WorkflowEngine, psa_sim: SimAdmin
) -> None:
    key = uuid.uuid4().hex
    first = await completed(engine, ENTRIES, key)
    other = engine_input({"engagement_code": "ENG-0001", "date": "2026-11-23", "hours": 5})

    with pytest.raises(WorkflowConflict) as raised:
        await engine.start(KIND, other, idempotency_key=key, caller="alice")

    assert (raised.value.code, raised.value.workflow_id) == ("CONFLICT", first.id)
    assert await psa_sim.route_count(POSTS) == 2


async def test_a_failing_batch_withdraws_the_batches_before_it(
    engine: WorkflowEngine, psa_sim: SimAdmin, sources: Sources
) -> None:
    many = engine_input(
        *({"engagement_code": "ENG-0001", "date": d, "hours": 1} for d in days(BATCH_SIZE + 5))
    )
    await psa_sim.faults(error_rate=1.0, methods=["POST"], after=BATCH_SIZE)

    result = await engine.start(KIND, many, idempotency_key=uuid.uuid4().hex, caller="alice")

    record = result.workflow
    assert record is not None and record.status is WorkflowStatus.COMPENSATED
    assert record.failing_step == "psa-time-2"
    assert [(s.name, s.status, s.compensated) for s in record.steps] == [
        ("psa-time-1", StepStatus.COMPENSATED, True),
        ("psa-time-2", StepStatus.FAILED, True),
    ]
    assert await written(sources) == []  # no orphan entry
    assert await psa_sim.route_count("DELETE /v2/time_entries/{id:int}") == BATCH_SIZE
