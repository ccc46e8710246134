"""Row rules: a caller whose token (or API key) carries scopes sees only the records of clients whose
region or legal entity is one of them (the policy's `[rows]`: which record types, which client fields).

Applied in the request's loaders after the shared cache: the cache holds every record whatever the
caller (role-independent, one copy), and each request keeps what its caller may see. A caller with no
scopes has no `RowRules` at all: nothing is filtered and nothing costs anything.

A record is visible when its client is: an engagement's client is the CRM client of the opportunity
carrying its code; a time entry's, its engagement's; an invoice's, its ERP customer's client (or the
customer's own legal entity); an opportunity's, its client. A record whose client cannot be found is
not visible to a scoped caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opsgraph import model
from opsgraph.model import record_key

if TYPE_CHECKING:
    from opsgraph.resolvers.loaders import Loaders

__all__ = ["RowRules", "RowScope"]


@dataclass(frozen=True)
class RowScope:
    """A caller's scopes and the policy's `[rows]`: which record types, matched on which client fields."""

    scopes: frozenset[str]
    types: frozenset[str]
    match: frozenset[str]


class RowRules:
    def __init__(self, loaders: Loaders, scope: RowScope) -> None:
        self.loaders = loaders
        self.scope = scope
        self.scopes = frozenset(s.casefold() for s in scope.scopes)
        self.types = scope.types
        self.by_region = "region" in scope.match
        self.by_entity = "legal_entity" in scope.match
        self._engagement_keys: asyncio.Task[frozenset[str]] | None = None

    def _in_scope(self, *values: str | None) -> bool:
        return any(value is not None and value.casefold() in self.scopes for value in values)

    def client_visible(self, client: model.Client | None) -> bool:
        if client is None:
            return False
        return self._in_scope(
            client.region if self.by_region else None, client.legal_entity if self.by_entity else None
        )

    def clients(self, clients: Sequence[model.Client]) -> list[model.Client]:
        if "Client" not in self.types:
            return list(clients)
        return [c for c in clients if self.client_visible(c)]

    async def opportunities(self, opportunities: Sequence[model.Opportunity]) -> list[model.Opportunity]:
        if "Opportunity" not in self.types:
            return list(opportunities)
        clients = await self.loaders.client.load_many(
            [record_key(o.system, o.client_id) for o in opportunities]
        )
        return [o for o, c in zip(opportunities, clients, strict=True) if self.client_visible(c)]

    async def engagements(self, engagements: Sequence[model.Engagement]) -> list[model.Engagement]:
        if "Engagement" not in self.types:
            return list(engagements)
        clients = await asyncio.gather(*(self.loaders.engagement_client(e) for e in engagements))
        return [e for e, c in zip(engagements, clients, strict=True) if self.client_visible(c)]

    async def engagement_keys(self) -> frozenset[str]:
        """Keys of every visible engagement of every PSA system (once per request)."""

        async def build() -> frozenset[str]:
            every = await self.loaders.all_engagements()
            return frozenset(e.key for e in await self.engagements(every))

        if self._engagement_keys is None:
            self._engagement_keys = asyncio.ensure_future(build())
        return await asyncio.shield(self._engagement_keys)

    async def entries(self, entries: Sequence[model.TimeEntry]) -> list[model.TimeEntry]:
        if "TimeEntry" not in self.types:
            return list(entries)
        visible = await self.engagement_keys()
        return [e for e in entries if self.loaders.engagement_key(e) in visible]

    async def unbilled(
        self, found: Sequence[tuple[str, model.UnbilledTime]]
    ) -> list[tuple[str, model.UnbilledTime]]:
        """Uninvoiced time (by engagement key) of visible engagements: it is time, as entries are."""
        if "TimeEntry" not in self.types:
            return list(found)
        visible = await self.engagement_keys()
        return [(key, u) for key, u in found if key in visible]

    async def invoices(self, invoices: Sequence[model.Invoice]) -> list[model.Invoice]:
        if "Invoice" not in self.types:
            return list(invoices)
        visible = await self._visible_customers([record_key(i.system, i.customer_id) for i in invoices])
        return [i for i, ok in zip(invoices, visible, strict=True) if ok]

    async def invoice_totals(
        self, totals: Sequence[tuple[str, model.InvoiceTotal]]
    ) -> list[tuple[str, model.InvoiceTotal]]:
        """Invoice totals (with their ERP system's name) of visible customers: they are invoices."""
        if "Invoice" not in self.types:
            return list(totals)
        visible = await self._visible_customers([record_key(s, t.customer_id) for s, t in totals])
        return [t for t, ok in zip(totals, visible, strict=True) if ok]

    async def _visible_customers(self, keys: Sequence[str]) -> list[bool]:
        """Whether each ERP customer (by key) is visible; an unknown customer is not."""
        customers = await self.loaders.customer.load_many(list(keys))
        unique = {c.key: c for c in customers if c is not None}
        found = await asyncio.gather(*(self._customer_visible(c) for c in unique.values()))
        visible = {k for k, ok in zip(unique, found, strict=True) if ok}
        return [c is not None and c.key in visible for c in customers]

    async def _customer_visible(self, customer: model.ErpCustomer) -> bool:
        if self.by_entity and self._in_scope(customer.legal_entity):
            return True
        return self.client_visible(await self.loaders.client_of_customer(customer))

    async def record(self, record: model.AnyRecord | None) -> bool:
        """Whether one record (of a `node(id:)` lookup) is visible."""
        if record is None:
            return True
        if isinstance(record, model.Client):
            return bool(self.clients([record]))
        if isinstance(record, model.Opportunity):
            return bool(await self.opportunities([record]))
        if isinstance(record, model.Engagement):
            return bool(await self.engagements([record]))
        if isinstance(record, model.TimeEntry):
            return bool(await self.entries([record]))
        if isinstance(record, model.Invoice):
            return bool(await self.invoices([record]))
        return True
