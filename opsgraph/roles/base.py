"""What every role port shares: the system's name, a health probe, and change polling.

Contract for every port method (the role ports repeat only what differs):
- Ids are the system's own record ids, always strings; a cross-system reference is a `SourceRef`.
- Batch reads by ids (`*_by_ids`, `*_by_codes`) take any iterable, may repeat ids, and answer a
  mapping keyed by the ids asked for; an id the system does not have (or that is not even shaped
  like one of its ids) is absent from the result, never an error and never a `None` value.
- Batch reads of children (`*_by_<parent>_ids`) answer every parent asked for, `[]` where it has none.
- Listings are complete: the connector pages to the end and chunks to the vendor's limits itself;
  filters are pushed down to the vendor where it can filter, applied by the connector where it cannot.
- Failures raise the connector's `SourceError` subclasses (`SourceUnavailable`, `SourceTimeout`,
  `SourceRateLimited`, `SourceRejected`, `SourceDataError` for a malformed record), never a bare
  aiohttp or pydantic error.
- Writes take an `idempotency_key`: the same key with the same input writes once and answers the
  first result again (an upsert on an external id, the vendor's idempotency key, or a lookup of the
  key before the write). Writes are never retried blindly.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import Field, StrictStr, model_validator

from opsgraph.model import Canonical


class Entity(StrEnum):
    """The canonical entities a port can report changes of (each port lists its own)."""

    CLIENT = "client"
    OPPORTUNITY = "opportunity"
    ENGAGEMENT = "engagement"
    ASSIGNMENT = "assignment"
    TIME_ENTRY = "time_entry"
    RESOURCE = "resource"
    TIME_OFF = "time_off"
    CUSTOMER = "customer"
    JOB = "job"
    INVOICE = "invoice"
    TIME_POSTING = "time_posting"


class ChangeKind(StrEnum):
    UPSERTED = "UPSERTED"
    DELETED = "DELETED"


class Change(Canonical):
    """One record that changed; the poller re-reads it through the port's batch read."""

    id: StrictStr = Field(min_length=1)
    kind: ChangeKind = ChangeKind.UPSERTED
    modified_at: datetime | None = None


class ChangeBatch(Canonical):
    """What changed in one entity after `since`.

    `changes` holds each id once (its latest change), oldest first, and only changes strictly after
    `since` (a vendor that filters by day is cut to the instant by the connector). `high_water` is
    the `since` of the next poll: the latest change seen, or the vendor's own mark, never before `since`.
    """

    entity: Entity
    since: datetime
    high_water: datetime
    changes: tuple[Change, ...] = ()

    @model_validator(mode="after")
    def _forward(self) -> ChangeBatch:
        if self.high_water < self.since:
            raise ValueError("high_water is before since")
        return self


@runtime_checkable
class SystemPort(Protocol):
    """What every configured system offers, whatever its role."""

    @property
    def system(self) -> str:
        """The configured name of this system (`psa-emea`), not its vendor."""
        ...

    async def probe(self) -> None:
        """One cheap authenticated read; raises a `SourceError` when the system cannot answer."""
        ...

    async def changed_since(self, entity: Entity, since: datetime) -> ChangeBatch:
        """Changes of `entity` after `since`; `ValueError` for an entity this port does not poll."""
        ...
