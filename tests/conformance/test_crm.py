"""CRM role conformance: every registered CRM connector against its own simulator (`CrmPort`)."""

from __future__ import annotations

from typing import Any

import pytest

from opsgraph.connectors.registry import Connector
from opsgraph.model import Role
from opsgraph.roles import POLLED, CrmPort, Entity
from opsgraph.roles.filters import OpportunityFilter
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
from .ids import MALFORMED, CrmIds, crm_ids, max_page
from .polling import check_change_polling, check_unpolled_entities
from .serving import Admin, SimServer

ROLE = Role.CRM
SYSTEM = system_name(ROLE)
pytestmark = pytest.mark.parametrize("vendor", vendors_of(ROLE))


@pytest.fixture
def ids(vendor: str) -> CrmIds:
    return crm_ids(vendor)


def _sample_clients(world: World) -> list[Any]:
    """A few clients: each currency, and the one seeded without a legal entity."""
    picked = {c.currency: c for c in reversed(world.clients)}
    drift = next(c for c in world.clients if c.sf_id == world.drift.client_without_legal_entity)
    return [*picked.values(), drift]


def _sample_opportunities(world: World) -> list[Any]:
    """A few opportunities: converted (with a code), open, lost, won but not converted."""
    won = [o for o in world.opportunities if o.engagement_code]
    open_ = [o for o in world.opportunities if not o.is_closed]
    lost = [o for o in world.opportunities if o.is_closed and not o.is_won]
    waiting = [o for o in world.opportunities if o.is_won and not o.engagement_code]
    return [won[0], won[-1], open_[0], open_[-1], lost[0], waiting[0]]


async def test_role_has_connectors(vendor: str, connector: Connector) -> None:
    assert connector.role is ROLE and connector.vendor == vendor


async def test_client_is_the_port(vendor: str, make_client: MakeClient) -> None:
    client = make_client()
    assert (client.system, client.vendor, client.role) == (SYSTEM, vendor, ROLE)
    assert_implements(client, CrmPort)
    await client.probe()


async def test_clients_by_ids(make_client: MakeClient, ids: CrmIds, conformance_world: World) -> None:
    want = {ids.client(c): x.client(SYSTEM, ids, c) for c in _sample_clients(conformance_world)}
    await check_batch_read(make_client().clients_by_ids, want, ids.unknown_clients, SYSTEM, "clients_by_ids")


async def test_opportunities_by_ids(make_client: MakeClient, ids: CrmIds, conformance_world: World) -> None:
    w = conformance_world
    want = {ids.opportunity(o): x.opportunity(SYSTEM, ids, w, o) for o in _sample_opportunities(w)}
    client = make_client()
    await check_batch_read(
        client.opportunities_by_ids, want, ids.unknown_opportunities, SYSTEM, "opportunities_by_ids"
    )


async def test_opportunities_by_client_ids(
    make_client: MakeClient, ids: CrmIds, conformance_world: World
) -> None:
    w = conformance_world
    parents = {ids.client(c): c for c in _sample_clients(w)}
    want = {
        cid: [ids.opportunity(o) for o in w.opportunities if o.account_id == c.sf_id]
        for cid, c in parents.items()
    }
    await check_children_read(
        make_client().opportunities_by_client_ids,
        want,
        ids.unknown_clients,
        SYSTEM,
        "opportunities_by_client_ids",
    )


async def test_opportunities_by_engagement_codes(
    make_client: MakeClient, ids: CrmIds, conformance_world: World
) -> None:
    w = conformance_world
    coded = [o for o in w.opportunities if o.engagement_code][:4]
    asked = {str(o.engagement_code): o for o in coded[:3]}
    asked[str(coded[3].engagement_code).lower()] = coded[3]  # codes match case-insensitively
    result = await make_client().opportunities_by_engagement_codes(
        iter([*asked, "ENG-9999", *MALFORMED, *list(asked)[:1]])
    )
    assert set(result) == set(asked), f"keys {sorted(result)}, want {sorted(asked)}"
    assert_identity(result.values(), SYSTEM)
    for code, o in asked.items():
        assert_same(result[code], x.opportunity(SYSTEM, ids, w, o), f"opportunity of code {code}")


async def test_list_clients_pages_to_the_end(
    make_client: MakeClient, ids: CrmIds, sim: SimServer, vendor: str, conformance_world: World
) -> None:
    w = conformance_world
    client = make_client()
    await client.probe()
    clients, seen = await served(sim, client.list_clients())
    check_paging(seen, len(w.clients), max_page(vendor), "list_clients")
    assert len(clients) == len(w.clients)
    assert_identity(clients, SYSTEM)
    assert in_id_order([c.id for c in clients]), "list_clients is ordered by id"
    assert {c.id for c in clients} == {ids.client(c) for c in w.clients}
    by_id = {c.id: c for c in clients}
    for c in _sample_clients(w):
        assert_same(by_id[ids.client(c)], x.client(SYSTEM, ids, c), f"listed client {c.name}")


async def test_list_opportunities_pages_to_the_end(
    make_client: MakeClient, ids: CrmIds, sim: SimServer, vendor: str, conformance_world: World
) -> None:
    w = conformance_world
    client = make_client()
    await client.probe()
    opportunities, seen = await served(sim, client.list_opportunities())
    check_paging(seen, len(w.opportunities), max_page(vendor), "list_opportunities")
    assert len(opportunities) == len(w.opportunities)
    assert_identity(opportunities, SYSTEM)
    assert in_id_order([o.id for o in opportunities]), "list_opportunities is ordered by id"
    by_id = {o.id: o for o in opportunities}
    for o in _sample_opportunities(w):
        assert_same(by_id[ids.opportunity(o)], x.opportunity(SYSTEM, ids, w, o), f"listed {o.name}")


@pytest.mark.parametrize(
    "flt",
    [
        OpportunityFilter(is_closed=False),
        OpportunityFilter(is_closed=True),
        OpportunityFilter(stage="Proposal"),
        OpportunityFilter(stage="Closed Lost", is_closed=True),
        OpportunityFilter(stage="No Such Stage"),
    ],
    ids=lambda f: repr(f.model_dump(exclude_none=True)),
)
async def test_list_opportunities_filters_are_pushed_down(
    flt: OpportunityFilter, make_client: MakeClient, ids: CrmIds, sim: SimServer, conformance_world: World
) -> None:
    w = conformance_world
    want = sorted(
        ids.opportunity(o)
        for o in w.opportunities
        if (flt.is_closed is None or o.is_closed == flt.is_closed)
        and (flt.stage is None or o.stage == flt.stage)
    )
    client = make_client()
    await client.probe()
    filtered, seen = await served(sim, client.list_opportunities(flt))
    _, whole = await served(sim, client.list_opportunities())
    assert sorted(o.id for o in filtered) == want
    assert_identity(filtered, SYSTEM)
    check_pushed_down(seen, whole, f"list_opportunities({flt!r})")


# -- errors and rate limits ---------------------------------------------------------------------------


def _read(ids: CrmIds, world: World) -> Any:
    known = ids.client(world.clients[0])
    return lambda client: client.clients_by_ids([known])


async def test_server_error_is_unavailable_and_opens_the_breaker(
    make_client: MakeClient, admin: Admin, sim: SimServer, ids: CrmIds, conformance_world: World
) -> None:
    await errors.check_server_error(make_client, admin, sim, _read(ids, conformance_world))


async def test_outage_is_unavailable(
    make_client: MakeClient, admin: Admin, ids: CrmIds, conformance_world: World
) -> None:
    await errors.check_outage(make_client, admin, _read(ids, conformance_world))


async def test_short_rate_limit_is_retried(
    make_client: MakeClient, admin: Admin, sim: SimServer, ids: CrmIds, conformance_world: World
) -> None:
    await errors.check_rate_limit_retried(make_client, admin, sim, _read(ids, conformance_world))


async def test_long_rate_limit_is_rate_limited(
    make_client: MakeClient, admin: Admin, sim: SimServer, ids: CrmIds, conformance_world: World
) -> None:
    await errors.check_rate_limit_raised(make_client, admin, sim, _read(ids, conformance_world))


async def test_garbage_body_is_a_bad_response(
    make_client: MakeClient, admin: Admin, ids: CrmIds, conformance_world: World
) -> None:
    await errors.check_garbage(make_client, admin, _read(ids, conformance_world))


async def test_rejected_request_does_not_move_the_breaker(make_client: MakeClient, sim: SimServer) -> None:
    await errors.check_rejected(make_client, sim)


# -- change polling (last: the changes are left in the simulator) ---------------------------------


@pytest.mark.parametrize("entity", sorted(POLLED[ROLE]))
async def test_change_polling(
    entity: Entity,
    vendor: str,
    make_client: MakeClient,
    admin: Admin,
    conformance_world: World,
) -> None:
    client = make_client()
    read_back = client.clients_by_ids if entity is Entity.CLIENT else client.opportunities_by_ids
    await check_change_polling(
        vendor, entity, client, make_client(system="crm-user"), conformance_world, admin, read_back
    )


async def test_unpolled_entities_are_refused(make_client: MakeClient, conformance_world: World) -> None:
    await check_unpolled_entities(ROLE, make_client(), conformance_world)
