"""PSA role conformance: every registered PSA connector against its own simulator (`PsaPort`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest

from opsgraph.connectors.registry import Connector
from opsgraph.model import Role
from opsgraph.roles import POLLED, Entity, PsaPort
from opsgraph.roles.filters import AssignmentFilter, EngagementFilter, TimeEntryFilter
from simulators import world as w
from simulators.world import World

from . import errors
from . import expected as x
from .conftest import MakeClient, system_name, vendors_of
from .contract import (
    assert_identity,
    assert_implements,
    assert_same,
    check_batch_read,
    check_children_read,
    check_paging,
    check_pushed_down,
    in_id_order,
    served,
)
from .ids import PsaIds, max_page, psa_ids, unknown_ids
from .polling import check_change_polling, check_unpolled_entities
from .serving import Admin, SimServer

ROLE = Role.PSA
SYSTEM = system_name(ROLE)
pytestmark = pytest.mark.parametrize("vendor", vendors_of(ROLE))

TIME_RANGE = TimeEntryFilter(start=date(2026, 9, 28), end=date(2026, 10, 4))
"""A week that is half invoiced (September) and half not (October): several of the vendor's pages."""


def _engagements(world: World) -> list[w.Engagement]:
    """Active and finished; each billing model; the capped one over budget; the one missing in the ERP."""
    by_model = {e.billing_model: e for e in world.engagements}
    finished = next(e for e in world.engagements if not e.is_active)
    capped = next(e for e in world.engagements if e.code == world.drift.capped_over_budget)
    return [*by_model.values(), finished, capped]


def _entries(world: World) -> list[w.TimeEntry]:
    """Billed, approved, unapproved, and one without a rate (the seeded drift)."""
    entries = world.time_entries
    billed = next(t for t in entries if t.harvest_invoice_id is not None)
    approved = next(t for t in entries if t.is_closed and t.harvest_invoice_id is None)
    pending = next(t for t in reversed(entries) if not t.is_closed)
    unrated = next(t for t in entries if t.billable_rate is None)
    return [billed, approved, pending, unrated]


def _in_range(world: World, flt: TimeEntryFilter, ids: PsaIds) -> list[w.TimeEntry]:
    def keep(t: w.TimeEntry) -> bool:
        return (
            flt.start <= t.spent_date <= flt.end
            and (flt.engagement_id is None or ids.engagement(t.engagement) == flt.engagement_id)
            and (flt.user_id is None or ids.user(t.person) == flt.user_id)
            and (flt.is_billed is None or t.is_billed == flt.is_billed)
            and (flt.updated_since is None or t.updated_at >= flt.updated_since)
        )

    return [t for t in world.time_entries if keep(t)]


@pytest.fixture
def ids(vendor: str) -> PsaIds:
    """The vendor's ids for the world's delivery records."""
    return psa_ids(vendor)


async def test_role_has_connectors(vendor: str, connector: Connector) -> None:
    assert connector.role is ROLE and connector.vendor == vendor


async def test_client_is_the_port(vendor: str, make_client: MakeClient) -> None:
    client = make_client()
    assert (client.system, client.vendor, client.role) == (SYSTEM, vendor, ROLE)
    assert_implements(client, PsaPort)
    await client.probe()


async def test_engagements_by_ids(
    make_client: MakeClient, vendor: str, ids: PsaIds, conformance_world: World
) -> None:
    want = {ids.engagement(e): x.engagement(SYSTEM, ids, e) for e in _engagements(conformance_world)}
    unknown = unknown_ids(vendor)["engagement"]
    await check_batch_read(make_client().engagements_by_ids, want, unknown, SYSTEM, "engagements_by_ids")


async def test_engagements_by_codes(
    make_client: MakeClient, vendor: str, ids: PsaIds, conformance_world: World
) -> None:
    engagements = _engagements(conformance_world)
    want = {e.code: x.engagement(SYSTEM, ids, e) for e in engagements}
    unknown = [*unknown_ids(vendor)["code"], engagements[0].code.lower()]  # exact match: case counts
    await check_batch_read(make_client().engagements_by_codes, want, unknown, SYSTEM, "engagements_by_codes")


@pytest.mark.parametrize("active", [None, True, False])
async def test_list_engagements(
    active: bool | None,
    make_client: MakeClient,
    sim: SimServer,
    vendor: str,
    ids: PsaIds,
    conformance_world: World,
) -> None:
    world = conformance_world
    client = make_client()
    await client.probe()
    listed, seen = await served(
        sim, client.list_engagements(None if active is None else EngagementFilter(is_active=active))
    )
    want = [e for e in world.engagements if active is None or e.is_active == active]
    check_paging(seen, len(want), max_page(vendor), "list_engagements")
    assert sorted(e.id for e in listed) == sorted(ids.engagement(e) for e in want)
    assert in_id_order([e.id for e in listed]), "list_engagements is ordered by id"
    assert_identity(listed, SYSTEM)
    by_id = {e.id: e for e in listed}
    for e in _engagements(world):
        if active is None or e.is_active == active:
            assert_same(by_id[ids.engagement(e)], x.engagement(SYSTEM, ids, e), f"listed {e.code}")
    if active is not None:
        _, whole = await served(sim, client.list_engagements())
        check_pushed_down(seen, whole, f"list_engagements(is_active={active})")


async def test_list_users(
    make_client: MakeClient, sim: SimServer, vendor: str, ids: PsaIds, conformance_world: World
) -> None:
    world = conformance_world
    client = make_client()
    await client.probe()
    users, seen = await served(sim, client.list_users())
    check_paging(seen, len(world.people), max_page(vendor), "list_users")
    assert len(users) == len(world.people)
    assert_identity(users, SYSTEM)
    by_id = {u.id: u for u in users}
    part_time = next(p for p in world.people if p.weekly_capacity_hours != 40.0)
    for p in [world.people[0], world.people[-1], part_time]:
        assert_same(by_id[ids.user(p)], x.psa_user(SYSTEM, ids, p), f"user {p.email}")


@pytest.mark.parametrize("active", [None, True, False])
async def test_list_assignments(
    active: bool | None,
    make_client: MakeClient,
    sim: SimServer,
    vendor: str,
    ids: PsaIds,
    conformance_world: World,
) -> None:
    world = conformance_world
    client = make_client()
    await client.probe()
    listed, seen = await served(
        sim, client.list_assignments(None if active is None else AssignmentFilter(is_active=active))
    )
    want = {ids.assignment(a): a for a in world.assignments if active is None or a.is_active == active}
    check_paging(seen, len(want), max_page(vendor), "list_assignments")
    assert sorted(a.id for a in listed) == sorted(want)
    assert_identity(listed, SYSTEM)
    unrated = next(a for a in world.assignments if a.id == world.drift.assignment_without_rate)
    by_id = {a.id: a for a in listed}
    for a in [*list(want.values())[:2], unrated]:
        if ids.assignment(a) in want:
            assert_same(by_id[ids.assignment(a)], x.assignment(SYSTEM, ids, a), f"assignment {a.id}")
    if active is not None:
        _, whole = await served(sim, client.list_assignments())
        check_pushed_down(seen, whole, f"list_assignments(is_active={active})")


async def test_assignments_by_engagement_ids(
    make_client: MakeClient, vendor: str, ids: PsaIds, conformance_world: World
) -> None:
    world = conformance_world
    parents = {ids.engagement(e): e for e in _engagements(world)}
    want = {
        pid: [ids.assignment(a) for a in world.assignments if a.engagement is e] for pid, e in parents.items()
    }
    result = await check_children_read(
        make_client().assignments_by_engagement_ids,
        want,
        unknown_ids(vendor)["engagement"],
        SYSTEM,
        "assignments_by_engagement_ids",
        ordered=False,
    )
    expected = {
        ids.assignment(a): x.assignment(SYSTEM, ids, a)
        for a in world.assignments
        if a.engagement in parents.values()
    }
    for children in [result[p] for p in parents]:
        for a in children:
            assert_same(a, expected[a.id], f"assignment {a.id}")


async def test_time_entries_by_ids(
    make_client: MakeClient, vendor: str, ids: PsaIds, conformance_world: World
) -> None:
    want = {ids.time_entry(t): x.time_entry(SYSTEM, ids, t) for t in _entries(conformance_world)}
    unknown = unknown_ids(vendor)["time_entry"]
    await check_batch_read(make_client().time_entries_by_ids, want, unknown, SYSTEM, "time_entries_by_ids")


async def test_list_time_entries_pages_to_the_end(
    make_client: MakeClient, sim: SimServer, vendor: str, ids: PsaIds, conformance_world: World
) -> None:
    world = conformance_world
    want = _in_range(world, TIME_RANGE, ids)
    client = make_client()
    await client.probe()
    entries, seen = await served(sim, client.list_time_entries(TIME_RANGE))
    check_paging(seen, len(want), max_page(vendor), "list_time_entries")
    assert len(entries) == len(want)
    assert sorted(t.id for t in entries) == sorted(ids.time_entry(t) for t in want)
    assert_identity(entries, SYSTEM)
    dates = [t.date for t in entries]
    assert dates == sorted(dates, reverse=True), "list_time_entries is newest first"
    by_id = {t.id: t for t in entries}
    for t in want[:: max(1, len(want) // 5)]:
        assert_same(by_id[ids.time_entry(t)], x.time_entry(SYSTEM, ids, t), f"time entry {t.id}")


def _filters(world: World, ids: PsaIds) -> list[TimeEntryFilter]:
    e = next(t.engagement for t in _in_range(world, TIME_RANGE, ids))
    p = next(t.person for t in _in_range(world, TIME_RANGE, ids))
    base = {"start": TIME_RANGE.start, "end": TIME_RANGE.end}
    return [
        TimeEntryFilter(**base, engagement_id=ids.engagement(e)),
        TimeEntryFilter(**base, user_id=ids.user(p)),
        TimeEntryFilter(**base, is_billed=True),
        TimeEntryFilter(**base, is_billed=False),
        TimeEntryFilter(**base, updated_since=datetime(2026, 10, 8, 12, 0, 30, tzinfo=UTC)),
        TimeEntryFilter(**base, engagement_id="3999999"),
    ]


@pytest.mark.parametrize("which", range(6))
async def test_list_time_entries_filters_are_pushed_down(
    which: int, make_client: MakeClient, sim: SimServer, ids: PsaIds, conformance_world: World
) -> None:
    flt = _filters(conformance_world, ids)[which]
    client = make_client()
    await client.probe()
    entries, seen = await served(sim, client.list_time_entries(flt))
    want = _in_range(conformance_world, flt, ids)
    assert sorted(t.id for t in entries) == sorted(ids.time_entry(t) for t in want)
    assert_identity(entries, SYSTEM)
    _, whole = await served(sim, client.list_time_entries(TIME_RANGE))
    check_pushed_down(seen, whole, f"list_time_entries({flt.model_dump(exclude_none=True)})")


async def test_hours_by_engagement(make_client: MakeClient, ids: PsaIds, conformance_world: World) -> None:
    start, end = date(2026, 10, 1), date(2026, 10, 31)
    want = x.time_totals(ids, conformance_world.time_entries, start, end)
    totals = await make_client().hours_by_engagement(start, end)
    assert set(totals) == set(want), "one entry per engagement with time in the range"
    for key, expected_totals in want.items():
        assert_same(totals[key], expected_totals, f"time totals of engagement {key}")


# -- errors and rate limits ---------------------------------------------------------------------------


def _read(world: World, ids: PsaIds) -> Any:
    known = ids.engagement(world.engagements[0])
    return lambda client: client.engagements_by_ids([known])


async def test_server_error_is_unavailable_and_opens_the_breaker(
    make_client: MakeClient, admin: Admin, sim: SimServer, ids: PsaIds, conformance_world: World
) -> None:
    await errors.check_server_error(make_client, admin, sim, _read(conformance_world, ids))


async def test_outage_is_unavailable(
    make_client: MakeClient, admin: Admin, ids: PsaIds, conformance_world: World
) -> None:
    await errors.check_outage(make_client, admin, _read(conformance_world, ids))


async def test_short_rate_limit_is_retried(
    make_client: MakeClient, admin: Admin, sim: SimServer, ids: PsaIds, conformance_world: World
) -> None:
    await errors.check_rate_limit_retried(make_client, admin, sim, _read(conformance_world, ids))


async def test_long_rate_limit_is_rate_limited(
    make_client: MakeClient, admin: Admin, sim: SimServer, ids: PsaIds, conformance_world: World
) -> None:
    await errors.check_rate_limit_raised(make_client, admin, sim, _read(conformance_world, ids))


async def test_garbage_body_is_a_bad_response(
    make_client: MakeClient, admin: Admin, ids: PsaIds, conformance_world: World
) -> None:
    await errors.check_garbage(make_client, admin, _read(conformance_world, ids))


async def test_rejected_request_does_not_move_the_breaker(make_client: MakeClient, sim: SimServer) -> None:
    await errors.check_rejected(make_client, sim)


# -- change polling (last: the changes are left in the simulator) ---------------------------------


@pytest.mark.parametrize("entity", sorted(POLLED[ROLE]))
async def test_change_polling(
    entity: Entity,
    vendor: str,
    make_client: MakeClient,
    admin: Admin,
    ids: PsaIds,
    conformance_world: World,
) -> None:
    client = make_client()

    async def assignments_by_ids(asked: Iterable[str]) -> Mapping[str, Any]:
        parent = ids.engagement(conformance_world.engagements[5])  # where changes.py changes one
        wanted = set(asked)
        children = (await client.assignments_by_engagement_ids([parent]))[parent]
        return {a.id: a for a in children if a.id in wanted}

    read_back = {
        Entity.ENGAGEMENT: client.engagements_by_ids,
        Entity.TIME_ENTRY: client.time_entries_by_ids,
        Entity.ASSIGNMENT: assignments_by_ids,
    }[entity]
    writer = make_client(system="psa-user")
    await check_change_polling(vendor, entity, client, writer, conformance_world, admin, read_back)


async def test_unpolled_entities_are_refused(make_client: MakeClient, conformance_world: World) -> None:
    await check_unpolled_entities(ROLE, make_client(), conformance_world)
