"""Which PSA holds each region's delivery records, and the ids that PSA gives them.

The world's own PSA ids are Harvest's (`harvest_project_id`, `harvest_user_id`, the time entry and
assignment ids). Kantata numbers the same records its own way: each of its ids is a base of its own
plus the record's number in the world, so one world serves either PSA with the same figures.
`World.psa` names, per region, the PSA that holds it (no entry: Harvest); the ERP's references to PSA
records (a time bill's external id, an invoice's) use that PSA's ids (`psa_time_entry_id`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from simulators.world.records import (
    Assignment,
    Client,
    Engagement,
    Invoice,
    Person,
    TimeEntry,
    World,
)
from simulators.world.views import check_regions

PSAS = ("harvest", "kantata")
"""The PSAs a world carries ids for."""

# The world's numbering (simulators/world/builder.py) and Kantata's bases over it.
_PROJECT0, _USER0, _CLIENT0 = 3_300_000, 4_200_000, 5_100_000
_ASSIGNMENT0, _ENTRY0, _INVOICE0 = 8_800_000, 1_000_000_000, 13_000_000
KANTATA_WORKSPACE_BASE = 41_000_000
KANTATA_USER_BASE = 7_100_000
KANTATA_GROUP_BASE = 830_000
KANTATA_PARTICIPATION_BASE = 52_000_000
KANTATA_TIME_ENTRY_BASE = 600_000_000
KANTATA_INVOICE_BASE = 2_600_000
KANTATA_STORY_BASE = 90_000_000
"""A workspace's stories (its tasks) are `KANTATA_STORY_BASE + 10 * n + task id`."""


def kantata_workspace_id(e: Engagement) -> str:
    return str(KANTATA_WORKSPACE_BASE + e.harvest_project_id - _PROJECT0)


def kantata_user_id(p: Person) -> str:
    return str(KANTATA_USER_BASE + p.harvest_user_id - _USER0)


def kantata_group_id(c: Client) -> str:
    """The workspace group standing for the client (Kantata has no client record of its own)."""
    return str(KANTATA_GROUP_BASE + c.harvest_client_id - _CLIENT0)


def kantata_participation_id(a: Assignment) -> str:
    return str(KANTATA_PARTICIPATION_BASE + a.id - _ASSIGNMENT0)


def kantata_time_entry_id(t: TimeEntry) -> str:
    return str(KANTATA_TIME_ENTRY_BASE + t.id - _ENTRY0)


def kantata_invoice_id(harvest_invoice_id: int) -> str:
    return str(KANTATA_INVOICE_BASE + harvest_invoice_id - _INVOICE0)


def kantata_story_id(e: Engagement, task_id: int) -> str:
    return str(KANTATA_STORY_BASE + 10 * (e.harvest_project_id - _PROJECT0) + task_id)


def with_psa(world: World, psa: Mapping[str, str]) -> World:
    """The same world, its regions' delivery records held by the PSA named per region (others: Harvest)."""
    if psa:
        check_regions(psa)
    unknown = sorted(set(psa.values()) - set(PSAS))
    if unknown:
        raise ValueError(f"unknown PSA {unknown[0]!r}; the world carries ids for {', '.join(PSAS)}")
    return dataclasses.replace(world, psa=dict(psa))


def psa_of(world: World, e: Engagement) -> str:
    return world.psa.get(e.client.region, "harvest")


def psa_time_entry_id(world: World, t: TimeEntry) -> str:
    """The id of `t` in the PSA holding its region."""
    return kantata_time_entry_id(t) if psa_of(world, t.engagement) == "kantata" else str(t.id)


def psa_invoice_id(world: World, i: Invoice) -> str:
    """The id, in the PSA holding its region, of the PSA invoice `i` was raised from."""
    if psa_of(world, i.engagement) == "kantata":
        return kantata_invoice_id(i.harvest_invoice_id)
    return str(i.harvest_invoice_id)
