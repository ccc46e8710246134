"""Views of one world for a stack: which CRM the firm runs, one region's slice of the delivery side, and
one of the firm's legal entities' slice of the books.

A view shares the world's records (no copies), so every id and figure in it is the world's own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from simulators.world.records import CRMS, REGIONS, Client, Engagement, World


def with_crm(world: World, crm: str) -> World:
    """The same world, run on `crm`: the ERP's customer and job external ids are that CRM's ids."""
    if crm not in CRMS:
        raise ValueError(f"unknown CRM {crm!r}; the world carries ids for {', '.join(CRMS)}")
    return dataclasses.replace(world, crm=crm)


def crm_client_id(world: World, client: Client) -> str:
    """The id of `client` in the world's CRM (Salesforce account id or HubSpot company id)."""
    return client.hubspot_id if world.crm == "hubspot" else client.sf_id


def crm_opportunity_id(world: World, engagement: Engagement) -> str:
    """The id, in the world's CRM, of the opportunity (deal) `engagement` was sold as."""
    return engagement.hubspot_deal_id if world.crm == "hubspot" else engagement.opportunity_id


def check_regions(regions: Iterable[str]) -> frozenset[str]:
    """`regions` as a set, each one of the world's `REGIONS`; a `ValueError` otherwise (or when empty)."""
    wanted = frozenset(regions)
    unknown = sorted(wanted - set(REGIONS))
    if unknown or not wanted:
        raise ValueError(
            f"regions must be a non-empty set of {', '.join(REGIONS)}; got {sorted(wanted) or 'none'}"
        )
    return wanted


def for_regions(world: World, regions: Iterable[str]) -> World:
    """The slice of `world` a PSA owning `regions` holds: the clients in those regions with their
    opportunities, engagements, assignments, time entries and invoices. Everyone else stays: people,
    time off and accounting periods are the firm's, whichever region a person books to."""
    wanted = check_regions(regions)
    return _for_clients(world, [c for c in world.clients if c.region in wanted])


def _for_clients(world: World, clients: list[Client]) -> World:
    """`world` with only `clients` and what was sold, staffed, booked and billed for them."""
    client_ids = {c.sf_id for c in clients}
    engagements = [e for e in world.engagements if e.client.sf_id in client_ids]
    codes = {e.code for e in engagements}
    return dataclasses.replace(
        world,
        clients=clients,
        opportunities=[o for o in world.opportunities if o.account_id in client_ids],
        engagements=engagements,
        assignments=[a for a in world.assignments if a.engagement.code in codes],
        time_entries=[t for t in world.time_entries if t.engagement.code in codes],
        invoices=[i for i in world.invoices if i.engagement.code in codes],
    )


FIRM_ENTITIES: dict[str, frozenset[str]] = {"UK": frozenset({"United Kingdom"})}
"""The firm's legal entities other than the US parent, by the billing countries whose clients they
book: OpsGraph Consulting Ltd (UK) books British clients in GBP; OpsGraph Consulting Inc. (US) all others."""
PARENT_ENTITY = "US"
ENTITIES = (PARENT_ENTITY, *FIRM_ENTITIES)


def firm_entity(client: Client) -> str:
    """The firm's legal entity whose books hold `client`'s customer, jobs, invoices and posted time."""
    return next((e for e, countries in FIRM_ENTITIES.items() if client.country in countries), PARENT_ENTITY)


def check_entities(entities: Iterable[str]) -> frozenset[str]:
    """`entities` as a set, each one of the firm's `ENTITIES`; a `ValueError` otherwise (or when empty)."""
    wanted = frozenset(entities)
    unknown = sorted(wanted - set(ENTITIES))
    if unknown or not wanted:
        raise ValueError(
            f"legal entities must be a non-empty set of {', '.join(ENTITIES)}; got {sorted(wanted) or 'none'}"
        )
    return wanted


def for_entities(world: World, entities: Iterable[str]) -> World:
    """The slice of `world` the ERP of `entities` holds: their clients with everything booked for them
    (opportunities, engagements, assignments, time, invoices). People and accounting periods stay."""
    wanted = check_entities(entities)
    return _for_clients(world, [c for c in world.clients if firm_entity(c) in wanted])
