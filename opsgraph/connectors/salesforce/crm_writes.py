"""Salesforce writes of the CRM port: an opportunity's engagement code and amount.

`SalesforceCrmWrites` is a mixin of `SalesforceClient`: each write is a PATCH of the Opportunity
record (`update`), absolute, so a repeat writes the same values (safe to retry).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from opsgraph.model import Money


class _Host(Protocol):
    async def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None: ...


class SalesforceCrmWrites:
    async def set_engagement_code(
        self: _Host, opportunity_id: str, code: str, *, idempotency_key: str
    ) -> None:
        """Write the engagement code back on a converted opportunity."""
        await self.update("Opportunity", opportunity_id, {"Engagement_Code__c": code})

    async def set_opportunity_amount(
        self: _Host, opportunity_id: str, amount: Money, *, idempotency_key: str
    ) -> None:
        """Apply a change request's amount (the opportunity's currency is the CRM's to keep)."""
        await self.update("Opportunity", opportunity_id, {"Amount": amount.amount})
