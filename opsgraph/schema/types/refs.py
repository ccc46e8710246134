"""Where a record lives, by role: `Role`, `SourceRef` and the helper that builds a record's refs.

A record knows its id per role (the PSA project id, the ERP job id...); the configured system that
serves that role names it. With one system per role that is unambiguous; a role with no or several
systems yields no ref rather than a guess.
"""

from __future__ import annotations

from collections.abc import Iterable

import strawberry

from opsgraph import model
from opsgraph.resolvers.sources import Sources
from opsgraph.schema.types.common import Role


@strawberry.type(description="A record's id in one configured system.")
class SourceRef:
    system: str = strawberry.field(description="The configured system's name (not the vendor)")
    role: Role  # type: ignore[valid-type]
    vendor: str
    id: str


def refs(sources: Sources, ids: Iterable[tuple[model.Role, object | None]]) -> list[SourceRef]:
    """A ref per (role, id) with an id, named after the one system serving that role."""
    out = []
    for role, record_id in ids:
        if record_id is None:
            continue
        systems = sources.of_role(role)
        if len(systems) != 1:
            continue
        s = systems[0]
        out.append(SourceRef(system=s.name, role=s.role, vendor=s.vendor, id=str(record_id)))
    return out
