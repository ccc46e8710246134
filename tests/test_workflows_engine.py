"""The engine's settings, ids, write queues and API edges (the mutations' behaviour is in
test_workflows_post_time.py and test_workflows_compensation.py)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import uuid
from pathlib import Path

import pytest
from dbos import DBOS
from pydantic import ValidationError
from starlette.applications import Starlette
from workflows_sim import ERP, TIMEBILL_PUT, SimAdmin, settings_for

from opsgraph.model import Role
from opsgraph.resolvers.sources import Sources
from opsgraph.workflows import (
    QueueLimits,
    Systems,
    WorkflowEngine,
    WorkflowNotFound,
    WorkflowSettings,
    WorkflowStatus,
)
from opsgraph.workflows.engine import dbos_config
from opsgraph.workflows.ids import fingerprint, workflow_id
from opsgraph.workflows.records import UnknownKind
from opsgraph.workflows.runtime import QUEUE_PREFIX

pytest_plugins = ("workflows_support",)

OCTOBER_4 = {"engagement_code": "ENG-0004", "start": "2026-10-01", "end": "2026-10-31"}


def test_settings_default_to_a_sqlite_file_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSGRAPH_WORKFLOWS__DATABASE_URL", raising=False)
    settings = WorkflowSettings(data_dir=tmp_path / "data")

    assert settings.url() == f"sqlite:///{tmp_path / 'data' / 'workflows.sqlite'}"
    assert (tmp_path / "data").is_dir()
    assert settings.limits("erp") == QueueLimits()


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_WORKFLOWS__DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/opsgraph")
    monkeypatch.setenv("OPSGRAPH_WORKFLOWS__QUEUES", '{"erp": {"concurrency": 2, "rate": 9, "period_s": 2}}')

    settings = WorkflowSettings()

    assert settings.url() == "postgresql://postgres@127.0.0.1:5432/opsgraph"
    assert settings.limits("erp") == QueueLimits(concurrency=2, rate=9, period_s=2.0)
    assert settings.limits("psa") == QueueLimits(concurrency=4, rate=20, period_s=1.0)


def test_dbos_is_configured_from_our_settings_only(tmp_path: Path) -> None:
    config = dbos_config(WorkflowSettings(database_url=f"sqlite:///{tmp_path}/w.sqlite", poll_interval_s=0.5))

    assert config["system_database_url"] == f"sqlite:///{tmp_path}/w.sqlite"
    assert config["notification_listener_polling_interval_sec"] == 0.5
    assert "conductor_key" not in config and config["enable_otlp"] is False
    with pytest.raises(ValidationError, match="admin server"):
        WorkflowSettings(admin_server=True)


async def test_a_sqlite_store_runs_in_write_ahead_log_mode(tmp_path: Path, systems: Sources) -> None:
    """WAL, so status reads and DBOS's polls do not block the writing workflow (nor it them); the mode
    is the file's, so DBOS's own connections share it."""
    path = tmp_path / "workflows.sqlite"
    async with WorkflowEngine(settings_for(f"sqlite:///{path}"), systems).running():
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert conn.execute("SELECT count(*) FROM dbos_migrations").fetchone()[0] > 0


def test_the_workflow_id_derives_from_caller_mutation_and_key() -> None:
    wid = workflow_id("alice", "postApprovedTime", "k1")

    assert wid == workflow_id("alice", "postApprovedTime", "k1")
    assert wid.startswith("postApprovedTime-")
    others = {
        workflow_id("bob", "postApprovedTime", "k1"),
        workflow_id("alice", "prepareInvoice", "k1"),
        workflow_id("alice", "postApprovedTime", "k2"),
        workflow_id("alice:postApprovedTime", "", "k1"),
    }
    assert wid not in others and len(others) == 4
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


async def test_each_system_writes_through_a_queue_with_its_limits(
    own_database_url: str, systems: Sources, erp_sim: SimAdmin
) -> None:
    settings = settings_for(own_database_url, queues={ERP: QueueLimits(concurrency=2, rate=50, period_s=2.0)})
    async with WorkflowEngine(settings, systems).running() as engine:
        result = await engine.start(
            "postApprovedTime", OCTOBER_4, idempotency_key=uuid.uuid4().hex, caller="q"
        )
        queue = await DBOS.retrieve_queue_async(QUEUE_PREFIX + ERP)

        assert result.workflow is not None and result.workflow.status is WorkflowStatus.COMPLETED
        assert queue is not None
        assert await queue.get_global_concurrency_async() == 2
        assert await queue.get_limiter_async() == {"limit": 50, "period": 2.0}
        children = await DBOS.list_workflows_async(queue_name=QUEUE_PREFIX + ERP)
        mine = [w for w in children if w.workflow_id.startswith(result.workflow.id + "/")]
        assert sorted(w.workflow_id.removeprefix(result.workflow.id) for w in mine) == [
            "/r1/0/do",
            "/r1/1/do",
        ]
        assert await erp_sim.route_count(TIMEBILL_PUT) == 45


async def test_api_edges(engine: WorkflowEngine, erp_sim: SimAdmin) -> None:
    with pytest.raises(UnknownKind) as unknown:
        await engine.start("launchRocket", {}, idempotency_key="k", caller="c")
    assert unknown.value.code == "BAD_USER_INPUT"
    assert await engine.get("postApprovedTime-nope") is None
    with pytest.raises(WorkflowNotFound):
        await engine.replay("postApprovedTime-nope")

    caller = uuid.uuid4().hex
    empty = {"engagement_code": "ENG-0001", "start": "2026-12-01", "end": "2026-12-31"}  # nothing approved
    ids = []
    for n in range(3):
        result = await engine.start("postApprovedTime", empty, idempotency_key=f"k{n}", caller=caller)
        assert result.workflow is not None and result.workflow.steps == ()
        ids.append(result.workflow.id)
    listed = [r.id for r in await engine.list(kind="postApprovedTime") if r.caller == caller]
    assert listed == ids
    page = await engine.list(kind="postApprovedTime", first=1, after=ids[0])
    assert [r.id for r in page] == [ids[1]]
    assert await erp_sim.route_count(TIMEBILL_PUT) == 0


async def test_the_queue_holds_writes_to_the_systems_concurrency_and_rate(
    own_database_url: str, systems: Sources, erp_sim: SimAdmin
) -> None:
    """Two workflows of two steps each: four writes to the ERP, one at a time, two a second."""
    limits = QueueLimits(concurrency=1, rate=2, period_s=1.0)
    october_1 = {**OCTOBER_4, "engagement_code": "ENG-0001"}
    async with WorkflowEngine(
        settings_for(own_database_url, queues={ERP: limits}), systems
    ).running() as engine:
        results = await asyncio.gather(
            *(
                engine.start("postApprovedTime", d, idempotency_key=uuid.uuid4().hex, caller="q")
                for d in (october_1, OCTOBER_4)
            )
        )
        ids = {
            r.workflow.id
            for r in results
            if r.workflow is not None and r.workflow.status is WorkflowStatus.COMPLETED
        }
        children = [
            w
            for w in await DBOS.list_workflows_async(queue_name=QUEUE_PREFIX + ERP)
            if w.workflow_id.split("/")[0] in ids
        ]

    assert len(ids) == 2 and len(children) == 4
    spans = sorted((w.dequeued_at or 0, w.completed_at or 0) for w in children)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    starts = [start for start, _ in spans]
    assert starts[2] - starts[0] >= 1000 and starts[3] - starts[1] >= 1000  # ms: two per second
    assert await erp_sim.route_count(TIMEBILL_PUT) == 44 + 45


def test_the_gateways_sources_serve_as_the_workflows_systems() -> None:
    systems: Systems = Sources(systems={})  # mypy checks that `Sources` satisfies `Systems`

    assert list(systems.of_role(Role.ERP)) == []


async def test_the_engine_is_a_starlette_lifespan(tmp_path: Path, systems: Sources) -> None:
    engine = WorkflowEngine(settings_for(f"sqlite:///{tmp_path}/w.sqlite"), systems)
    app = Starlette(lifespan=engine.lifespan)

    async with app.router.lifespan_context(app):
        empty = {"engagement_code": "ENG-0001", "start": "2026-12-01", "end": "2026-12-31"}
        result = await engine.start("postApprovedTime", empty, idempotency_key="k", caller="c")
        assert result.workflow is not None and result.workflow.status is WorkflowStatus.COMPLETED
    with pytest.raises(RuntimeError, match="not launched"):
        await engine.list()
    assert await asyncio.to_thread(sum, [1, 2]) == 3  # the loop still has a working default executor
