"""Which ERP systems keep a legal entity's books: the `legalEntity` filters route by the ERP systems'
scopes (one ERP per legal entity of the firm), so only those systems are read."""

from __future__ import annotations

from opsgraph.model import Role
from opsgraph.resolvers.sources import Sources, System
from opsgraph.schema.errors import BadUserInput


def erp_books(sources: Sources, legal_entity: str) -> list[System]:
    """The ERP systems scoped to `legal_entity` alone; a `BAD_USER_INPUT` when no system keeps that
    entity's books apart (an unscoped ERP holds several entities' records and cannot tell them apart)."""
    route = sources.route(Role.ERP, legal_entity)
    if not route.exact or not route.systems:
        own = sorted({v for s in sources.of_role(Role.ERP) if s.scope and len(s.scope) == 1 for v in s.scope})
        raise BadUserInput(
            f"no ERP system keeps the books of legal entity {legal_entity!r} apart; "
            f"legal entities with books of their own: {', '.join(own) or 'none'}",
            argument="filter.legalEntity",
        )
    return list(route.systems)
