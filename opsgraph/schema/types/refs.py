"""Where a record lives: `Role`, `SourceRef` and the helper that builds a record's refs.

A record carries the configured system that holds it (`record.system`) and its id there; its ref adds
that system's role and vendor from the settings (`Sources.ref`). With several systems of a role,
each record names its own, so a ref is never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable

import strawberry

from opsgraph import model
from opsgraph.resolvers.sources import Sources

Role = strawberry.enum(model.Role, name="Role", description="What a system does for the firm.")


@strawberry.type(description="A record's id in one configured system.")
class SourceRef:
    system: str = strawberry.field(description="The configured system's name (not the vendor)")
    role: Role  # type: ignore[valid-type]
    vendor: str
    id: str

    @classmethod
    def of(cls, ref: model.SourceRef) -> SourceRef:
        return cls(system=ref.system, role=ref.role, vendor=ref.vendor, id=ref.id)


def ref(sources: Sources, system: str, record_id: str) -> SourceRef:
    """The ref of record `record_id` of the configured system `system`."""
    return SourceRef.of(sources.ref(system, record_id))


def refs(sources: Sources, records: Iterable[model.Record | None]) -> list[SourceRef]:
    """A ref per record that exists, in the order given (a missing link adds none)."""
    return [ref(sources, r.system, r.id) for r in records if r is not None]
