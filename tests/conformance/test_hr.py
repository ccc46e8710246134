"""HR role conformance: every registered HR connector against its own simulator (`HrPort`)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from opsgraph.connectors.registry import Connector
from opsgraph.model import Role
from opsgraph.roles import POLLED, Entity, HrPort
from opsgraph.roles.filters import TimeOffFilter
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
    check_paging,
    check_pushed_down,
    served,
)
from .ids import max_page, unknown_ids
from .polling import check_change_polling, check_unpolled_entities
from .serving import Admin, SimServer

ROLE = Role.HR
SYSTEM = system_name(ROLE)
pytestmark = pytest.mark.parametrize("vendor", vendors_of(ROLE))

RANGE = TimeOffFilter(start=date(2026, 10, 1), end=date(2027, 1, 31))
"""Past and upcoming time off: approved and still requested."""


def _employees(world: World) -> list[w.Person]:
    return [p for p in world.people if p.bamboo_id is not None]


def _sample(world: World) -> list[w.Person]:
    """A partner (no manager), a consultant with a manager, someone in a support function."""
    people = _employees(world)
    managed = next(p for p in people if p.supervisor is not None and p.billable)
    support = next(p for p in people if not p.billable)
    return [people[0], managed, support, people[-1]]


def _time_off(world: World, flt: TimeOffFilter) -> list[w.TimeOff]:
    return [
        t
        for t in world.time_off
        if t.person.bamboo_id is not None
        and t.start <= flt.end
        and t.end >= flt.start
        and t.status == flt.status
        and (flt.resource_id is None or t.person.bamboo_id == flt.resource_id)
    ]


async def test_role_has_connectors(vendor: str, connector: Connector) -> None:
    assert connector.role is ROLE and connector.vendor == vendor


async def test_client_is_the_port(vendor: str, make_client: MakeClient) -> None:
    client = make_client()
    assert (client.system, client.vendor, client.role) == (SYSTEM, vendor, ROLE)
    assert_implements(client, HrPort)
    await client.probe()


async def test_resources_by_ids(make_client: MakeClient, vendor: str, conformance_world: World) -> None:
    want = {str(p.bamboo_id): x.resource(SYSTEM, p) for p in _sample(conformance_world)}
    unknown = unknown_ids(vendor)["resource"]
    await check_batch_read(make_client().resources_by_ids, want, unknown, SYSTEM, "resources_by_ids")


async def test_list_resources_pages_to_the_end(
    make_client: MakeClient, sim: SimServer, vendor: str, conformance_world: World
) -> None:
    people = _employees(conformance_world)
    client = make_client()
    await client.probe()
    resources, seen = await served(sim, client.list_resources())
    check_paging(seen, len(people), max_page(vendor), "list_resources")
    assert sorted(r.id for r in resources) == sorted(str(p.bamboo_id) for p in people)
    assert_identity(resources, SYSTEM)
    by_id = {r.id: r for r in resources}
    for p in _sample(conformance_world):
        assert_same(by_id[str(p.bamboo_id)], x.resource(SYSTEM, p), f"listed {p.email}")


@pytest.mark.parametrize("status", ["approved", "requested"])
async def test_list_time_off(status: str, make_client: MakeClient, conformance_world: World) -> None:
    flt = TimeOffFilter(start=RANGE.start, end=RANGE.end, status=status)
    want = {str(t.id): x.time_off(SYSTEM, t) for t in _time_off(conformance_world, flt)}
    assert want, f"the world has {status} time off in the range"
    listed = await make_client().list_time_off(flt)
    assert sorted(t.id for t in listed) == sorted(want)
    assert_identity(listed, SYSTEM)
    for t in listed:
        assert_same(t, want[t.id], f"time off {t.id}")


async def test_list_time_off_of_one_person_is_pushed_down(
    make_client: MakeClient, sim: SimServer, conformance_world: World
) -> None:
    person = next(t.person for t in _time_off(conformance_world, RANGE))
    flt = TimeOffFilter(start=RANGE.start, end=RANGE.end, resource_id=person.bamboo_id)
    client = make_client()
    await client.probe()
    listed, seen = await served(sim, client.list_time_off(flt))
    assert sorted(t.id for t in listed) == sorted(str(t.id) for t in _time_off(conformance_world, flt))
    assert {t.resource_id for t in listed} == {person.bamboo_id}
    _, whole = await served(sim, client.list_time_off(RANGE))
    check_pushed_down(seen, whole, "list_time_off(resource_id=...)")


async def test_list_time_off_of_an_unknown_person_is_empty(make_client: MakeClient, vendor: str) -> None:
    unknown = unknown_ids(vendor)["resource"][0]
    flt = TimeOffFilter(start=RANGE.start, end=RANGE.end, resource_id=unknown)
    assert await make_client().list_time_off(flt) == []


# -- errors and rate limits ---------------------------------------------------------------------------


def _read(world: World) -> Any:
    known = str(_employees(world)[0].bamboo_id)
    return lambda client: client.resources_by_ids([known])


async def test_server_error_is_unavailable_and_opens_the_breaker(
    make_client: MakeClient, admin: Admin, sim: SimServer, conformance_world: World
) -> None:
    await errors.check_server_error(make_client, admin, sim, _read(conformance_world))


async def test_outage_is_unavailable(make_client: MakeClient, admin: Admin, conformance_world: World) -> None:
    await errors.check_outage(make_client, admin, _read(conformance_world))


async def test_short_rate_limit_is_retried(
    make_client: MakeClient, admin: Admin, sim: SimServer, conformance_world: World
) -> None:
    await errors.check_rate_limit_retried(make_client, admin, sim, _read(conformance_world))


async def test_long_rate_limit_is_rate_limited(
    make_client: MakeClient, admin: Admin, sim: SimServer, conformance_world: World
) -> None:
    await errors.check_rate_limit_raised(make_client, admin, sim, _read(conformance_world))


async def test_garbage_body_is_a_bad_response(
    make_client: MakeClient, admin: Admin, conformance_world: World
) -> None:
    await errors.check_garbage(make_client, admin, _read(conformance_world))


async def test_rejected_request_does_not_move_the_breaker(make_client: MakeClient, sim: SimServer) -> None:
    await errors.check_rejected(make_client, sim)


# -- change polling (last: the changes are left in the simulator) ---------------------------------


@pytest.mark.parametrize("entity", sorted(POLLED[ROLE]))
async def test_change_polling(
    entity: Entity, vendor: str, make_client: MakeClient, admin: Admin, conformance_world: World
) -> None:
    client = make_client()
    writer = make_client(system="hr-user")
    await check_change_polling(
        vendor, entity, client, writer, conformance_world, admin, client.resources_by_ids
    )


async def test_unpolled_entities_are_refused(make_client: MakeClient, conformance_world: World) -> None:
    await check_unpolled_entities(ROLE, make_client(), conformance_world)
