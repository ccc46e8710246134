"""Change polling (`SystemPort.changed_since`), the same for every role.

The world's records all carry stamps before `quiet_since(world)`; the simulators stamp a change with the
wall clock. A first poll from there gives a high-water mark (its changes are those earlier tests made);
a change made then shows up in the next poll from that mark (once, strictly after its `since`), the mark
moves forward, and a poll from the new mark is empty.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from opsgraph.model import Role
from opsgraph.roles import POLLED, ChangeBatch, Entity
from simulators.world import World

from .changes import change_for
from .contract import BatchRead
from .serving import Admin


def quiet_since(world: World) -> datetime:
    """A moment after every stamp the world seeds (its latest is a day or two after `as_of`)."""
    return datetime.combine(world.as_of + timedelta(days=3), time(), UTC)


def _check_batch(batch: Any, entity: Entity, since: datetime) -> ChangeBatch:
    assert isinstance(batch, ChangeBatch), f"changed_since answered a {type(batch).__name__}"
    assert batch.entity is entity and batch.since == since, (batch.entity, batch.since)
    assert batch.high_water >= since
    ids = [c.id for c in batch.changes]
    assert len(ids) == len(set(ids)), f"{entity}: an id twice in one batch: {ids}"
    stamps = [c.modified_at for c in batch.changes if c.modified_at is not None]
    assert stamps == sorted(stamps), f"{entity}: changes are oldest first"
    assert all(s > since for s in stamps), f"{entity}: a change not strictly after since {since}"
    return batch


async def check_change_polling(
    vendor: str,
    entity: Entity,
    client: Any,
    writer: Any,
    world: World,
    admin: Admin,
    read_back: BatchRead,
) -> None:
    since = quiet_since(world)
    assert datetime.now(UTC) > since, "the simulators stamp changes with the wall clock, behind the world"
    first = _check_batch(await client.changed_since(entity, since), entity, since)
    changed = await change_for(vendor, entity)(world, admin, writer)
    second = _check_batch(await client.changed_since(entity, first.high_water), entity, first.high_water)
    assert changed in [c.id for c in second.changes], f"{entity} {changed!r} changed and was not reported"
    assert second.high_water > first.high_water, "the high-water mark moves past the change"
    third = _check_batch(await client.changed_since(entity, second.high_water), entity, second.high_water)
    assert third.changes == (), f"{entity}: polling again from the mark repeats {third.changes}"
    assert changed in await read_back([changed]), f"{entity} {changed!r} cannot be read back by id"


async def check_unpolled_entities(role: Role, client: Any, world: World) -> None:
    """An entity the role does not poll is a `ValueError`, not an empty batch."""
    for entity in sorted(set(Entity) - POLLED[role]):
        with pytest.raises(ValueError):
            await client.changed_since(entity, quiet_since(world))
