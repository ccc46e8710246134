"""One poll of one system: what changed in each entity its role polls, since that entity's mark."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from opsgraph.clock import Clock
from opsgraph.connectors.errors import SourceError
from opsgraph.events.marks import Mark, MarkStore
from opsgraph.roles import POLLED, Change, Entity, Role, SystemPort

logger = logging.getLogger("opsgraph.events")


@dataclass(frozen=True)
class Changed:
    """Changes of one entity in one system, polled or pushed by a webhook."""

    system: str
    entity: Entity
    changes: list[Change]


@dataclass(frozen=True)
class EntityChanges(Changed):
    """The new changes a poll found, and the mark to keep once they took effect."""

    mark: Mark


@dataclass
class PollResult:
    system: str
    found: list[EntityChanges] = field(default_factory=list)
    started: list[Entity] = field(default_factory=list)
    """Entities that had no mark: this poll set it to now, and asked the system nothing."""
    failed: dict[Entity, SourceError] = field(default_factory=dict)


def start_mark(clock: Clock) -> Mark:
    """A first mark: the start of the current second (vendors stamp whole seconds), minus one."""
    return Mark(datetime.fromtimestamp(math.floor(clock.time()), UTC) - timedelta(seconds=1))


async def poll_system(
    system: str, role: Role, port: SystemPort, marks: MarkStore, clock: Clock
) -> PollResult:
    """Ask `port` for each polled entity's changes since its mark. An entity without a mark gets one
    (now) and is not asked; a failing entity keeps its mark, so its changes come at the next poll.
    Marks are not stored here: the caller commits them after the changes took effect."""
    result = PollResult(system)
    for entity in sorted(POLLED[role]):
        mark = await marks.get(system, entity)
        if mark is None:
            await marks.put(system, entity, start_mark(clock))
            result.started.append(entity)
            continue
        try:
            batch = await port.changed_since(entity, mark.since)
        except SourceError as exc:
            logger.warning("polling %s %s failed: %s (%s)", system, entity, exc.code, exc)
            result.failed[entity] = exc
            continue
        fresh = mark.fresh(batch.changes)
        polled_at = datetime.fromtimestamp(clock.time(), UTC)
        result.found.append(
            EntityChanges(system, entity, fresh, mark.advanced(batch.high_water, fresh, polled_at))
        )
    return result
