"""HubSpot writes of the CRM port: a deal's engagement code and amount.

`HubSpotCrmWrites` is a mixin of `HubSpotClient`: each write is `PATCH /crm/v3/objects/deals/{id}`
with the properties to set, absolute, so a repeat writes the same values (safe to retry). HubSpot
refuses a code another deal holds (`engagement_code` is a unique property) with a 409.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from opsgraph.connectors.base import UpstreamResponse
from opsgraph.connectors.hubspot.resources import DEALS
from opsgraph.connectors.ids import is_digits
from opsgraph.model import Money


class _Host(Protocol):
    @property
    def system(self) -> str: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        retry: bool | None = None,
        ok: Collection[int] = (200,),
    ) -> UpstreamResponse: ...


async def _set(host: _Host, deal_id: str, properties: dict[str, str]) -> None:
    if not is_digits(deal_id):
        raise ValueError(f"not a HubSpot deal id: {deal_id!r}")
    await host.request("PATCH", f"{DEALS.path}/{deal_id}", json={"properties": properties}, retry=True)


class HubSpotCrmWrites:
    async def set_engagement_code(
        self: _Host, opportunity_id: str, code: str, *, idempotency_key: str
    ) -> None:
        """Write the engagement code back on a converted deal."""
        await _set(self, opportunity_id, {"engagement_code": code})

    async def set_opportunity_amount(
        self: _Host, opportunity_id: str, amount: Money, *, idempotency_key: str
    ) -> None:
        """Apply a change request's amount (in the deal's currency, which HubSpot keeps)."""
        await _set(self, opportunity_id, {"amount": str(amount.amount)})
