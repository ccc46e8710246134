"""The CRM port: clients (accounts, companies) and opportunities (deals), and write-backs.

Change polling covers `Entity.CLIENT` and `Entity.OPPORTUNITY`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from opsgraph.model import Client, Money, Opportunity
from opsgraph.roles.base import SystemPort
from opsgraph.roles.filters import OpportunityFilter


@runtime_checkable
class CrmPort(SystemPort, Protocol):
    async def clients_by_ids(self, ids: Iterable[str]) -> Mapping[str, Client]:
        """Clients by CRM id; unknown ids are absent."""
        ...

    async def list_clients(self) -> list[Client]:
        """Every client, ordered by id."""
        ...

    async def opportunities_by_ids(self, ids: Iterable[str]) -> Mapping[str, Opportunity]:
        """Opportunities by CRM id; unknown ids are absent."""
        ...

    async def opportunities_by_client_ids(self, client_ids: Iterable[str]) -> Mapping[str, list[Opportunity]]:
        """Each client's opportunities, ordered by id; `[]` for a client with none or unknown."""
        ...

    async def opportunities_by_engagement_codes(self, codes: Iterable[str]) -> Mapping[str, Opportunity]:
        """The opportunity carrying each engagement code (case-insensitive; several: the lowest id)."""
        ...

    async def list_opportunities(self, filter: OpportunityFilter | None = None) -> list[Opportunity]:
        """Opportunities matching `filter`, pushed down to the vendor, ordered by id."""
        ...

    # -- writes (convertOpportunity, applyChangeRequest) --------------------------------------

    async def set_engagement_code(self, opportunity_id: str, code: str, *, idempotency_key: str) -> None:
        """Write the engagement code back on a converted opportunity (absolute: safe to repeat)."""
        ...

    async def set_opportunity_amount(
        self, opportunity_id: str, amount: Money, *, idempotency_key: str
    ) -> None:
        """Carry a changed contract value to the opportunity (absolute: safe to repeat)."""
        ...
