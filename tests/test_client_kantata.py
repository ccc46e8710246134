"""The Kantata client's wire details the PSA conformance suite does not cover, and its writes: reads by
ids chunked into `only=` lists, codes read once per listing (not per record), the `errors` body and
429's `Retry-After`, time entries written in batches of 100 and idempotent by external reference,
workspaces with their custom fields, participations added once, time invoiced once."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import pytest
from conformance.serving import Admin, SimServer
from kantata_sim import (  # noqa: F401
    Factory,
    admin_fixture,
    intl_fixture,
    kantata_fixture,
    make_client_fixture,
    routes,
)

from opsgraph.clock import ManualClock
from opsgraph.connectors.errors import SourceError, SourceRateLimited, SourceRejected
from opsgraph.connectors.kantata.resources import WORKSPACES
from opsgraph.model import BillingModel, Money, Role, SourceRef, TimeEntryStatus
from opsgraph.roles import PsaPort
from opsgraph.roles.drafts import AssignmentDraft, BudgetChange, EngagementDraft, TimeEntryDraft
from opsgraph.roles.filters import TimeEntryFilter
from simulators.world import World
from simulators.world.psa_ids import kantata_time_entry_id, kantata_user_id, kantata_workspace_id

OCTOBER = TimeEntryFilter(start=date(2026, 10, 1), end=date(2026, 10, 31))
CRM_CLIENT = SourceRef(system="salesforce", role=Role.CRM, vendor="salesforce", id="001X")


async def test_the_client_is_the_whole_psa_port(make_client: Factory) -> None:
    assert isinstance(make_client(), PsaPort)


async def test_reads_by_ids_are_only_lists_of_at_most_200(
    make_client: Factory, kantata: SimServer, intl: World
) -> None:
    ids = [kantata_time_entry_id(t) for t in intl.time_entries[:450]]
    mark = kantata.log.mark()
    found = await make_client().time_entries_by_ids([*ids, "0123", "abc"])
    seen = kantata.log.since(mark)
    assert set(found) == set(ids)
    entry_pages = [s for s in seen if s.path.endswith("/time_entries.json")]
    assert [len(parse_qs(s.query)["only"][0].split(",")) for s in entry_pages] == [200, 200, 50]
    # the engagement codes of all 450 entries: one read of the workspaces they name
    assert routes(seen).count("GET /api/v1/workspaces.json") == 1


async def test_a_month_of_time_is_listed_with_its_names_in_a_few_pages(
    make_client: Factory, kantata: SimServer, intl: World
) -> None:
    want = [t for t in intl.time_entries if OCTOBER.start <= t.spent_date <= OCTOBER.end]
    mark = kantata.log.mark()
    entries = await make_client().list_time_entries(OCTOBER)
    seen = routes(kantata.log.since(mark))
    assert len(entries) == len(want) > 400
    assert seen.count("GET /api/v1/time_entries.json") == -(-len(want) // 200)
    assert seen.count("GET /api/v1/workspaces.json") == 1
    assert all(e.user_name and e.task and e.engagement_code for e in entries)
    assert {e.currency for e in entries} >= {"EUR", "GBP"}


async def test_kantata_errors_and_429(make_client: Factory, kantata: SimServer, admin: Admin) -> None:
    client = make_client(max_retries=0)
    with pytest.raises(SourceRejected) as refused:
        await client.request("GET", "/time_entries.json", params={"date_performed_between": "2026-10-31"})
    assert refused.value.status == 400 and "date_performed_between" in str(refused.value)
    clock = ManualClock()
    limited = make_client(clock=clock, retry_max_wait_s=5)
    with kantata.shared_clock(clock):
        await admin.faults(rate_limit=0, rate_window_s=60.0)
        with pytest.raises(SourceRateLimited) as caught:
            await limited.probe()
    assert caught.value.system == "psa-intl"


# -- writes -------------------------------------------------------------------------------------------


async def test_time_entries_are_written_in_batches_of_100_once(
    make_client: Factory, kantata: SimServer, intl: World
) -> None:
    a = next(a for a in intl.assignments if a.is_active)
    drafts = [
        TimeEntryDraft(
            engagement_id=kantata_workspace_id(a.engagement),
            user_id=kantata_user_id(a.person),
            date=date(2026, 11, 2),
            hours=0.25,
            notes=f"slot {n}",
            task="Project Management",
        )
        for n in range(150)
    ]
    client = make_client()
    mark = kantata.log.mark()
    made = await client.submit_time_entries(drafts, idempotency_key="wf-kt-1")
    posts = [s for s in kantata.log.since(mark) if s.method == "POST"]
    assert [len(json.loads(s.body)["time_entries"]) for s in posts] == [100, 50]
    assert [e.notes for e in made] == [d.notes for d in drafts]
    assert {(e.hours, e.task, e.status) for e in made} == {
        (0.25, "Project Management", TimeEntryStatus.UNAPPROVED)
    }
    assert {e.bill_rate for e in made} == {a.hourly_rate}

    mark = kantata.log.mark()
    again = await client.submit_time_entries(drafts, idempotency_key="wf-kt-1")
    assert [e.id for e in again] == [e.id for e in made]
    assert [s for s in kantata.log.since(mark) if s.method == "POST"] == []

    gone = await client.withdraw_time_entries(drafts, idempotency_key="wf-kt-1")  # the compensation
    assert sorted(gone) == sorted(e.id for e in made)
    assert await client.time_entries_by_ids(gone) == {}
    assert await client.withdraw_time_entries(drafts, idempotency_key="wf-kt-1") == []


async def test_time_is_invoiced_once(make_client: Factory, kantata: SimServer, intl: World) -> None:
    client = make_client()
    entries = [e for e in await client.list_time_entries(OCTOBER) if e.status is TimeEntryStatus.APPROVED][:5]
    invoice = SourceRef(system="netsuite", role=Role.ERP, vendor="netsuite", id="70001")
    await client.mark_time_entries_billed([e.id for e in entries], invoice, idempotency_key="inv-1")
    after = await client.time_entries_by_ids([e.id for e in entries])
    assert {e.status for e in after.values()} == {TimeEntryStatus.BILLED}
    mark = kantata.log.mark()
    await client.mark_time_entries_billed([e.id for e in entries], invoice, idempotency_key="inv-1")
    assert [s for s in kantata.log.since(mark) if s.method == "POST"] == []


async def test_a_workspace_opens_with_its_code_and_people_join_once(
    make_client: Factory, kantata: SimServer, intl: World
) -> None:
    client = make_client()
    draft = EngagementDraft(
        code="ENG-KT-1",
        name="Kantata Rollout",
        client=CRM_CLIENT,
        client_name="Acme Holdings",
        billing_model=BillingModel.CAPPED,
        hourly_rate=Decimal("200"),
        contract_value=Money.of("50000", "EUR"),
        start_date=date(2026, 12, 1),
    )
    made = await client.create_engagement(draft, idempotency_key="conv-1")
    assert (made.code, made.billing_model, made.budget_hours, made.is_active) == (
        "ENG-KT-1", BillingModel.CAPPED, 250.0, True
    )  # fmt: skip
    assert (await client.create_engagement(draft, idempotency_key="conv-1")).id == made.id

    people = [AssignmentDraft(user_id=kantata_user_id(p), budget_hours=40) for p in intl.people[:3]]
    first = await client.assign(made.id, people, idempotency_key="conv-1")
    mark = kantata.log.mark()
    second = await client.assign(made.id, people, idempotency_key="conv-1")
    assert sorted(a.id for a in first) == sorted(a.id for a in second) and len(first) == 3
    assert [s for s in kantata.log.since(mark) if s.method == "POST"] == []

    bigger = await client.set_engagement_budget(
        made.id, BudgetChange(contract_value=Money.of("60000", "EUR")), idempotency_key="cr-1"
    )
    assert bigger.budget_hours == 300.0
    await client.archive_engagement(made.id, idempotency_key="undo")
    assert not (await client.engagements_by_ids([made.id]))[made.id].is_active


async def test_a_step_resumed_between_the_workspace_and_its_fields_opens_one_workspace(
    make_client: Factory, admin: Admin
) -> None:
    """convertOpportunity's PSA step is two writes (the workspace, then its custom fields); a step that
    died between them and runs again completes the workspace it made instead of opening a second."""
    client = make_client(max_retries=0)
    draft = EngagementDraft(
        code="ENG-KT-2",
        name="Kantata Resumed",
        client=CRM_CLIENT,
        client_name="Acme Holdings",
        billing_model=BillingModel.TIME_AND_MATERIALS,
        hourly_rate=Decimal("180"),
        budget_hours=100,
    )

    async def opened() -> list[dict[str, Any]]:
        pages = await client.pages(WORKSPACES, {"include_archived": "true"})
        return [w for page in pages for w in page["workspaces"].values() if w["title"] == draft.name]

    await admin.faults(error_rate=1.0, methods=["POST"], after=1)  # the workspace passes, its fields fail
    try:
        with pytest.raises(SourceError):
            await client.create_engagement(draft, idempotency_key="conv-2")
    finally:
        await admin.faults(error_rate=0, methods=None, after=0)
    assert len(await opened()) == 1
    assert await client.engagements_by_codes([draft.code]) == {}  # no code yet: invisible as an engagement

    made = await client.create_engagement(draft, idempotency_key="conv-2")  # the step, resumed
    assert [w["id"] for w in await opened()] == [made.id]
    assert (made.code, made.billing_model, made.budget_hours) == (
        "ENG-KT-2",
        BillingModel.TIME_AND_MATERIALS,
        100.0,
    )
    assert (await client.create_engagement(draft, idempotency_key="conv-2")).id == made.id
    assert len(await opened()) == 1
