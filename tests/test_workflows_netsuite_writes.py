"""The ERP writes the workflows use, against the NetSuite simulator: time bills upserted on the PSA
entry's id, NetSuite's refusals, and their deletion (compensation)."""

from __future__ import annotations

from datetime import date

import pytest
from workflows_sim import ERP, PSA, TIMEBILL_PUT, SimAdmin, erp_client, psa_client

from opsgraph.connectors.errors import SourceRejected
from opsgraph.model import Role, SourceRef
from opsgraph.resolvers.sources import Sources
from opsgraph.roles.drafts import TimePostingDraft

pytest_plugins = ("workflows_support",)


def entry(entry_id: str) -> SourceRef:
    return SourceRef(system=PSA, role=Role.PSA, vendor="harvest", id=entry_id)


async def draft(systems: Sources, entry_id: str, day: date, hours: float = 1.5) -> TimePostingDraft:
    job = (await erp_client(systems).jobs_by_codes(["ENG-0001"]))["ENG-0001"]
    users = await psa_client(systems).list_users()
    return TimePostingDraft(
        time_entry=entry(entry_id),
        job_id=job.id,
        person_email=users[0].email,
        date=day,
        hours=hours,
        memo="m",
    )


async def bills(systems: Sources, entry_id: str) -> list[tuple[str | None, float]]:
    postings = await erp_client(systems).list_time_postings(date(2026, 1, 1), date(2026, 12, 31))
    return [(p.time_entry_id, p.hours) for p in postings if p.time_entry_id == entry_id]


async def test_a_posting_is_an_upsert_on_the_entry_id(systems: Sources, erp_sim: SimAdmin) -> None:
    first = await erp_client(systems).post_time(
        [await draft(systems, "wf-9001", date(2026, 10, 5))], idempotency_key="a"
    )
    again = await erp_client(systems).post_time(
        [await draft(systems, "wf-9001", date(2026, 10, 5), hours=2.0)], idempotency_key="b"
    )

    assert [p.id for p in again] == [p.id for p in first]
    assert first[0].time_entry_id == "wf-9001" and first[0].system == ERP
    assert await bills(systems, "wf-9001") == [("wf-9001", 2.0)]
    assert await erp_sim.route_count(TIMEBILL_PUT) == 2

    deleted = await erp_client(systems).delete_time_postings(
        [entry("wf-9001"), entry("wf-9001")], idempotency_key="c"
    )

    assert deleted == 1  # the second is gone already: skipped, not an error
    assert await bills(systems, "wf-9001") == []


async def test_netsuite_refuses_a_posting_in_a_closed_period(systems: Sources, erp_sim: SimAdmin) -> None:
    with pytest.raises(SourceRejected) as refused:
        await erp_client(systems).post_time(
            [await draft(systems, "wf-9002", date(2026, 9, 15))], idempotency_key="d"
        )

    assert (refused.value.status, refused.value.vendor_code) == (400, "USER_ERROR")
    assert await bills(systems, "wf-9002") == []


async def test_an_unknown_person_is_refused_before_any_write(systems: Sources, erp_sim: SimAdmin) -> None:
    good = await draft(systems, "wf-9003", date(2026, 10, 6))
    stranger = good.model_copy(update={"time_entry": entry("wf-9004"), "person_email": "nobody@example.com"})

    with pytest.raises(SourceRejected, match=r"nobody@example\.com"):
        await erp_client(systems).post_time([good, stranger], idempotency_key="e")

    assert await erp_sim.route_count(TIMEBILL_PUT) == 0
