"""The HubSpot connector's CRM writes against its simulator: the engagement code and the amount of a
deal (`PATCH /crm/v3/objects/deals/{id}`), HubSpot's refusals, and a write counted once."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from hubspot_sim import (  # noqa: F401
    Admin,
    Factory,
    HubSpotSim,
    admin_fixture,
    counts,
    hubspot_fixture,
    make_client_fixture,
)

from opsgraph.connectors.base import SourceRejected
from opsgraph.model import Money
from simulators.hubspot.simulator import CREDENTIALS

PATCH = "PATCH /crm/v3/objects/{kind}/{object_id}"


async def test_a_deal_takes_its_engagement_code_and_amount(make_client: Factory, admin: Admin) -> None:
    client = make_client(max_retries=0)
    deals = await client.list_opportunities()
    open_deal = next(d for d in deals if not d.engagement_code)

    await client.set_engagement_code(open_deal.id, "WF-HS-1", idempotency_key="a")
    await client.set_engagement_code(open_deal.id, "WF-HS-1", idempotency_key="b")  # absolute: harmless
    await client.set_opportunity_amount(open_deal.id, Money.of("4321.50", "USD"), idempotency_key="c")

    after = (await client.opportunities_by_ids([open_deal.id]))[open_deal.id]
    assert after.engagement_code == "WF-HS-1"
    assert after.amount is not None and after.amount.amount == Decimal("4321.50")
    assert (await client.opportunities_by_engagement_codes(["WF-HS-1"]))["WF-HS-1"].id == open_deal.id
    assert (await counts(admin))[PATCH] == 3


async def test_hubspot_refuses_a_code_another_deal_holds_and_unknown_properties(
    make_client: Factory, admin: Admin, hubspot: HubSpotSim
) -> None:
    client = make_client(max_retries=0)
    deals = await client.list_opportunities()
    coded = next(d for d in deals if d.engagement_code)
    other = next(d for d in deals if not d.engagement_code)

    with pytest.raises(SourceRejected) as refused:
        await client.set_engagement_code(other.id, coded.engagement_code or "", idempotency_key="a")
    assert refused.value.status == 409
    assert (await client.opportunities_by_ids([other.id]))[other.id].engagement_code is None
    with pytest.raises(ValueError, match="not a HubSpot deal id"):
        await client.set_engagement_code("deal-1", "X", idempotency_key="b")

    headers = {"Authorization": f"Bearer {CREDENTIALS['access_token']}"}
    async with httpx.AsyncClient(base_url=hubspot.url, headers=headers) as http:
        read_only = await http.patch(
            f"/crm/v3/objects/deals/{other.id}", json={"properties": {"hs_is_closed_won": "true"}}
        )
        missing = await http.patch("/crm/v3/objects/deals/999999999", json={"properties": {"amount": "1"}})
    assert read_only.status_code == 400 and read_only.json()["category"] == "VALIDATION_ERROR"
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    assert (await counts(admin))[PATCH] == 1 + 2  # the refused code write, then the two above
