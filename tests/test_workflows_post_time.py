"""postApprovedTime end to end: the engine on SQLite and on PostgreSQL, NetSuite and Harvest
simulators over real sockets, writes counted at the ERP simulator."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from workflows_sim import ERP, PSA, TIMEBILL_PUT, SimAdmin, erp_client, psa_client, settings_for

from opsgraph.cache.backend import create_backend
from opsgraph.cache.policy import CachePolicy
from opsgraph.cache.store import ReadCache
from opsgraph.connectors.errors import SourceError
from opsgraph.model import TimeEntryStatus
from opsgraph.resolvers.sources import Sources
from opsgraph.roles.filters import TimeEntryFilter
from opsgraph.workflows import (
    WorkflowConflict,
    WorkflowEngine,
    WorkflowRecord,
    WorkflowStatus,
)
from opsgraph.workflows.records import StepStatus
from simulators.simkit.serve import SimulatorGroup

pytest_plugins = ("workflows_support",)

KIND = "postApprovedTime"
OCTOBER = {"engagement_code": "ENG-0001", "start": "2026-10-01", "end": "2026-10-31"}
"""The demo world's ENG-0001 has 44 approved entries in October 2026, none posted yet."""
UNPOSTED = 44


def key() -> str:
    return uuid.uuid4().hex


async def posted_entry_ids(systems: Sources) -> set[str]:
    postings = await erp_client(systems).list_time_postings(date(2026, 10, 1), date(2026, 10, 31))
    return {p.time_entry_id for p in postings if p.time_entry_id is not None}


async def approved_entry_ids(systems: Sources, code: str) -> set[str]:
    engagement = (await psa_client(systems).engagements_by_codes([code]))[code]
    entries = await psa_client(systems).list_time_entries(
        TimeEntryFilter(start=date(2026, 10, 1), end=date(2026, 10, 31), engagement_id=engagement.id)
    )
    return {e.id for e in entries if e.status is not TimeEntryStatus.UNAPPROVED}


async def completed(engine: WorkflowEngine, data: dict[str, str], idempotency_key: str) -> WorkflowRecord:
    result = await engine.start(
        KIND, data, idempotency_key=idempotency_key, caller="alice", correlation_id="cid-1"
    )
    assert result.user_errors == ()
    assert result.workflow is not None
    return result.workflow


async def test_posts_each_approved_entry_once_and_a_retry_writes_nothing(
    engine: WorkflowEngine, erp_sim: SimAdmin, systems: Sources
) -> None:
    approved = await approved_entry_ids(systems, "ENG-0001")
    assert len(approved) == UNPOSTED
    assert not approved & await posted_entry_ids(systems)

    first = await completed(engine, OCTOBER, "k1")

    assert first.status is WorkflowStatus.COMPLETED
    assert first.correlation_id == "cid-1"
    assert first.finished_at is not None and first.finished_at >= first.started_at
    assert [(s.name, s.system, s.status, s.attempts, s.compensated) for s in first.steps] == [
        ("post-time-1", ERP, StepStatus.COMPLETED, 1, False),
        ("post-time-2", ERP, StepStatus.COMPLETED, 1, False),
    ]
    assert first.result is not None and first.result["posted"] == UNPOSTED
    assert approved <= await posted_entry_ids(systems)  # reconciliation: the engagement is matched
    writes = await erp_sim.writes("PUT")
    assert sorted(w["key"] for w in writes) == sorted(f"eid:{i}" for i in approved)
    assert {w["correlation_id"] for w in writes} == {"cid-1"}
    assert all("[correlation cid-1]" in w["memo"] for w in writes)

    again = await completed(engine, OCTOBER, "k1")

    assert again == first
    assert await erp_sim.route_count(TIMEBILL_PUT) == UNPOSTED

    # Another key: the entries are posted already, so the plan has no step and nothing is written.
    other = await completed(engine, OCTOBER, "k2")
    assert other.status is WorkflowStatus.COMPLETED and other.steps == ()
    assert await erp_sim.route_count(TIMEBILL_PUT) == UNPOSTED


async def test_ten_concurrent_calls_with_one_key_write_each_posting_once(
    engine: WorkflowEngine, erp_sim: SimAdmin
) -> None:
    k = key()
    records = await asyncio.gather(*(completed(engine, OCTOBER, k) for _ in range(10)))

    assert {r.id for r in records} == {records[0].id}
    assert {r.status for r in records} == {WorkflowStatus.COMPLETED}
    assert await erp_sim.route_count(TIMEBILL_PUT) == UNPOSTED
    assert len(await erp_sim.writes("PUT")) == UNPOSTED
    assert [r.id for r in await engine.list(kind=KIND) if r.idempotency_key == k] == [records[0].id]


async def test_the_same_key_with_another_input_is_a_conflict(
    engine: WorkflowEngine, erp_sim: SimAdmin
) -> None:
    k = key()
    first = await completed(engine, OCTOBER, k)

    with pytest.raises(WorkflowConflict) as raised:
        await engine.start(
            KIND, {**OCTOBER, "engagement_code": "ENG-0004"}, idempotency_key=k, caller="alice"
        )

    assert raised.value.code == "CONFLICT"
    assert raised.value.workflow_id == first.id
    assert await erp_sim.route_count(TIMEBILL_PUT) == UNPOSTED
    # The key is the caller's: another caller's same key is another workflow.
    assert (await completed(engine, OCTOBER, k)).id == first.id
    other = await engine.start(KIND, OCTOBER, idempotency_key=k, caller="bob")
    assert other.workflow is not None and other.workflow.id != first.id


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({**OCTOBER, "start": "2026-09-01", "end": "2026-09-30"}, ("start",), "PERIOD_CLOSED"),
        ({**OCTOBER, "engagement_code": "ENG-9999"}, ("engagementCode",), "NOT_FOUND"),
        ({**OCTOBER, "end": "2026-09-01"}, (), "BAD_USER_INPUT"),
        ({**OCTOBER, "engagement_code": ""}, ("engagement_code",), "BAD_USER_INPUT"),
    ],
)
async def test_validation_failures_are_user_errors_and_write_nothing(
    engine: WorkflowEngine, erp_sim: SimAdmin, data: dict[str, str], field: tuple[str, ...], code: str
) -> None:
    k = key()
    result = await engine.start(KIND, data, idempotency_key=k, caller="alice")

    assert result.workflow is None
    assert [(e.field, e.code) for e in result.user_errors] == [(field, code)]
    assert await erp_sim.route_count(TIMEBILL_PUT) == 0
    assert [r for r in await engine.list() if r.idempotency_key == k] == []


async def test_after_each_step_the_cache_shows_the_postings_at_once(
    database_url: str, systems: Sources, erp_sim: SimAdmin
) -> None:
    cache = ReadCache(create_backend(None), CachePolicy())

    async def cached_postings() -> tuple[bool, int]:
        read = await cache.get_or_fetch(
            source=ERP,
            query="time_postings",
            params={"from": "2026-10-01", "to": "2026-10-31"},
            fetch=lambda: erp_client(systems).list_time_postings(date(2026, 10, 1), date(2026, 10, 31)),
            entity="time_posting",
        )
        return read.hit, len(read.value)

    hit, before = await cached_postings()
    assert not hit
    assert await cached_postings() == (True, before)  # cached: a workflow must drop it

    async with WorkflowEngine(
        settings_for(database_url), systems, invalidate=cache.invalidate
    ).running() as engine:
        result = await engine.start(KIND, OCTOBER, idempotency_key=key(), caller="alice")
    assert result.workflow is not None and result.workflow.status is WorkflowStatus.COMPLETED

    assert await cached_postings() == (False, before + UNPOSTED)


async def test_a_system_down_before_any_write_is_an_error_with_its_code(
    engine: WorkflowEngine, erp_sim: SimAdmin, simulators: SimulatorGroup
) -> None:
    psa_sim = SimAdmin(simulators.running[PSA].url)
    await psa_sim.faults(outage=True)
    k = key()
    try:
        with pytest.raises(SourceError) as raised:
            await engine.start(KIND, OCTOBER, idempotency_key=k, caller="alice", correlation_id="cid-down")
    finally:
        await psa_sim.clear_faults()

    assert (raised.value.code, raised.value.system, raised.value.correlation_id) == (
        "SOURCE_UNAVAILABLE",
        PSA,
        "cid-down",
    )
    assert [r for r in await engine.list() if r.idempotency_key == k] == []
    assert await erp_sim.route_count(TIMEBILL_PUT) == 0
    # Nothing was recorded: the same key works once the PSA is back.
    assert (await completed(engine, OCTOBER, k)).status is WorkflowStatus.COMPLETED
