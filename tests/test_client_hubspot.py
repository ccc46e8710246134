"""The HubSpot connector against its simulator: paging, batching, pushed-down search, rate limits,
mapping of every canonical field, and the same business answers as the Salesforce connector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hubspot_sim import (  # noqa: F401
    Admin,
    Factory,
    HubSpotSim,
    admin_fixture,
    counts,
    hubspot_fixture,
    make_client_fixture,
    manual_clock,
    shared_clock,
)

from opsgraph.clock import ManualClock
from opsgraph.connectors.base import (
    SourceConfig,
    SourceDataError,
    SourceRateLimited,
    SourceRejected,
    SourceUnavailable,
)
from opsgraph.connectors.hubspot.mapping import company_to_client, deal_to_opportunity
from opsgraph.connectors.hubspot.resources import DEALS
from opsgraph.connectors.salesforce import SalesforceClient
from opsgraph.model import BillingModel, Client, Money, Opportunity
from opsgraph.roles import ChangeBatch, Entity
from opsgraph.roles.filters import OpportunityFilter
from simulators.hubspot.sim_state import company_id, deal_id
from simulators.simkit.serve import SimulatorGroup
from simulators.world import Client as WorldClient
from simulators.world import Opportunity as WorldOpportunity
from simulators.world import World

LIST = "GET /crm/v3/objects/{kind}"
BATCH = "POST /crm/v3/objects/{kind}/batch/read"
SEARCH = "POST /crm/v3/objects/{kind}/search"
ASSOC = "POST /crm/v4/associations/{from_kind}/{to_kind}/batch/read"
SYSTEM = "hubspot"  # a client built without a system name is named after its vendor
MALFORMED = ["", "garbage", "¹", "1" * 30, "9223372036854775808", "-5", "12.0", " 9000000001", "09000000001"]
"""Ids no HubSpot object can have (ASCII digits of a 64-bit integer): absent, never sent."""


def delta(before: dict[str, int], after: dict[str, int], key: str) -> int:
    return after.get(key, 0) - before.get(key, 0)


def expected_client(c: WorldClient, system: str = SYSTEM) -> Client:
    return Client(
        system=system,
        id=company_id(c.sf_id),
        name=c.name,
        industry=c.industry,
        region=c.region,
        billing_country=c.country,
        legal_entity=c.legal_entity,
        currency=c.currency,
        modified_at=c.modified_at,
    )


def expected_opportunity(o: WorldOpportunity, world: World, system: str = SYSTEM) -> Opportunity:
    currency = next(c.currency for c in world.clients if c.sf_id == o.account_id)
    return Opportunity(
        system=system,
        id=deal_id(o.sf_id),
        name=o.name,
        client_id=company_id(o.account_id),
        stage=o.stage,
        amount=Money.of(o.amount, currency),
        close_date=o.close_date,
        probability=float(o.probability),
        is_closed=o.is_closed,
        is_won=o.is_won,
        billing_model=BillingModel(o.billing_model),
        practice=o.practice,
        engagement_code=o.engagement_code,
        modified_at=o.modified_at,
    )


# -- reads -----------------------------------------------------------------------------------------


async def test_list_clients_maps_every_field_in_one_page(
    make_client: Factory, admin: Admin, world: World
) -> None:
    client = make_client()
    before = await counts(admin)
    found = await client.list_clients()
    after = await counts(admin)
    assert delta(before, after, LIST) == 1  # 40 companies fit in one page of 100
    assert found == [expected_client(c) for c in world.clients]
    assert any(c.legal_entity is None for c in found)  # the seeded drift survives the mapping


async def test_list_opportunities_pages_to_the_end(make_client: Factory, admin: Admin, world: World) -> None:
    client = make_client()
    before = await counts(admin)
    found = await client.list_opportunities()
    after = await counts(admin)
    assert found == [expected_opportunity(o, world) for o in world.opportunities]
    assert delta(before, after, LIST) == 2  # 120 deals: pages of 100
    assert delta(before, after, ASSOC) == 2  # their companies, 100 deals a call


async def test_clients_by_ids_batches_and_unknown_absent(
    make_client: Factory, admin: Admin, world: World
) -> None:
    client = make_client()
    real = [company_id(c.sf_id) for c in world.clients]
    missing = [str(9_100_000_000 + n) for n in range(150 - len(real))]
    before = await counts(admin)
    found = await client.clients_by_ids([*real, *missing, *MALFORMED, real[0]])
    after = await counts(admin)
    assert delta(before, after, BATCH) == 2  # 150 well-formed ids, 100 a call; the others are never sent
    assert sorted(found) == sorted(real)  # keyed by the ids asked for; unknown and malformed absent
    assert [found[company_id(c.sf_id)] for c in world.clients] == [expected_client(c) for c in world.clients]


async def test_malformed_ids_cost_no_request(make_client: Factory, admin: Admin) -> None:
    client = make_client()
    before = await counts(admin)
    assert await client.clients_by_ids(MALFORMED) == {}
    assert await client.opportunities_by_ids(MALFORMED) == {}
    assert await client.opportunities_by_client_ids(MALFORMED) == {i: [] for i in MALFORMED}
    assert await client.opportunities_by_engagement_codes([""]) == {}
    assert await counts(admin) == before


async def test_opportunities_by_ids(make_client: Factory, admin: Admin, world: World) -> None:
    client = make_client(system="crm-us")
    wanted = world.opportunities[::7]
    before = await counts(admin)
    found = await client.opportunities_by_ids([deal_id(o.sf_id) for o in wanted] + ["8000000001"])
    after = await counts(admin)
    assert (delta(before, after, BATCH), delta(before, after, ASSOC)) == (1, 1)
    assert "8000000001" not in found and len(found) == len(wanted)
    assert [found[deal_id(o.sf_id)] for o in wanted] == [
        expected_opportunity(o, world, "crm-us") for o in wanted
    ]
    assert found[deal_id(wanted[0].sf_id)].key == f"crm-us:{deal_id(wanted[0].sf_id)}"


async def test_opportunities_by_client_ids(make_client: Factory, admin: Admin, world: World) -> None:
    client = make_client()
    ids = [company_id(c.sf_id) for c in world.clients] + ["9999999999"]
    before = await counts(admin)
    found = await client.opportunities_by_client_ids(ids)
    after = await counts(admin)
    assert (delta(before, after, ASSOC), delta(before, after, BATCH)) == (1, 2)  # 41 companies; 120 deals
    assert found["9999999999"] == []
    for c in world.clients:
        expected = [expected_opportunity(o, world) for o in world.opportunities if o.account_id == c.sf_id]
        assert found[company_id(c.sf_id)] == expected


async def test_opportunities_by_engagement_codes_uses_id_property(
    make_client: Factory, admin: Admin, world: World
) -> None:
    client = make_client()
    coded = [o for o in world.opportunities if o.engagement_code]
    codes = [o.engagement_code for o in coded if o.engagement_code] + ["ENG-9999"]
    before = await counts(admin)
    found = await client.opportunities_by_engagement_codes(codes)
    after = await counts(admin)
    assert delta(before, after, BATCH) == 2  # 101 codes
    assert "ENG-9999" not in found and len(found) == len(coded)
    assert [found[o.engagement_code] for o in coded if o.engagement_code] == [
        expected_opportunity(o, world) for o in coded
    ]


# -- search pushdown, cap and limits ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("is_closed", "stage"), [(False, None), (True, None), (None, "Proposal"), (True, "Closed Won")]
)
async def test_filters_are_pushed_down_to_search(
    make_client: Factory, admin: Admin, world: World, is_closed: bool | None, stage: str | None
) -> None:
    client = make_client()
    before = await counts(admin)
    found = await client.list_opportunities(OpportunityFilter(is_closed=is_closed, stage=stage))
    after = await counts(admin)
    expected = [
        expected_opportunity(o, world)
        for o in world.opportunities
        if (is_closed is None or o.is_closed == is_closed) and (stage is None or o.stage == stage)
    ]
    assert found == expected and expected
    assert delta(before, after, LIST) == 0
    assert delta(before, after, SEARCH) == 1 + (len(expected) - 1) // 100


async def test_an_unknown_stage_reads_nothing(make_client: Factory, admin: Admin) -> None:
    client = make_client()
    before = await counts(admin)
    assert await client.list_opportunities(OpportunityFilter(stage="Won-ish")) == []
    assert (await counts(admin)) == before


async def test_search_over_the_cap_splits_change_windows(
    make_client: Factory, admin: Admin, world: World
) -> None:
    await admin("POST", "events", {"type": "set_search_cap", "cap": 50})
    client = make_client(search_cap=50)
    earliest = min(o.modified_at for o in world.opportunities)
    before = await counts(admin)
    batch = await client.changed_since(Entity.OPPORTUNITY, earliest - timedelta(milliseconds=1))
    after = await counts(admin)
    assert len(batch.changes) == 120 and len({c.id for c in batch.changes}) == 120
    stamps = [c.modified_at for c in batch.changes if c.modified_at is not None]
    assert (
        len(stamps) == 120
        and stamps == sorted(stamps)
        and batch.high_water == max(o.modified_at for o in world.opportunities)
    )
    assert delta(before, after, "status 400") == 0  # never paged past the cap
    assert delta(before, after, SEARCH) >= 4  # at least three windows plus the first, over-cap, probe


async def test_changed_since_is_strictly_after_and_oldest_first(make_client: Factory, world: World) -> None:
    client = make_client()
    stamps = sorted(c.modified_at for c in world.clients)
    since = stamps[30]
    batch = await client.changed_since(Entity.CLIENT, since)
    expected = sorted((c for c in world.clients if c.modified_at > since), key=lambda c: c.modified_at)
    assert [c.modified_at for c in batch.changes] == [c.modified_at for c in expected]
    assert {c.id for c in batch.changes} == {company_id(c.sf_id) for c in expected}
    assert (batch.entity, batch.since, batch.high_water) == (Entity.CLIENT, since, stamps[-1])
    with pytest.raises(ValueError):
        await client.changed_since(Entity.TIME_ENTRY, since)


async def test_changed_since_finds_a_change_made_at_the_simulator(
    make_client: Factory, admin: Admin, world: World
) -> None:
    client = make_client()
    latest = max(o.modified_at for o in world.opportunities)
    assert await client.changed_since(Entity.OPPORTUNITY, latest) == ChangeBatch(
        entity=Entity.OPPORTUNITY, since=latest, high_water=latest
    )
    late = await admin(
        "POST", "events", {"type": "set_deal_stage", "id": deal_id(world.opportunities[-1].sf_id)}
    )
    batch = await client.changed_since(Entity.OPPORTUNITY, latest)
    assert [c.id for c in batch.changes] == [late["id"]]
    assert batch.high_water == batch.changes[0].modified_at and batch.high_water > latest
    changed = (await client.opportunities_by_ids([late["id"]]))[late["id"]]
    assert (changed.stage, changed.modified_at) == ("Closed Won", batch.high_water)
    again = await client.changed_since(Entity.OPPORTUNITY, batch.high_water)
    assert (again.changes, again.high_water) == ((), batch.high_water)


async def test_probe_up_and_down(make_client: Factory, admin: Admin) -> None:
    client = make_client(max_retries=0)
    before = await counts(admin)
    await client.probe()  # no error: the system answers
    after = await counts(admin)
    assert delta(before, after, BATCH) == 1
    await admin("PUT", "faults", {"outage": True})
    with pytest.raises(SourceUnavailable) as caught:
        await client.probe()
    assert (caught.value.status, caught.value.system) == (503, SYSTEM)


async def test_too_many_filters_are_refused_before_any_request(make_client: Factory, admin: Admin) -> None:
    client = make_client()
    filters = [{"propertyName": "dealname", "operator": "HAS_PROPERTY"}] * 7
    before = await counts(admin)
    with pytest.raises(SourceRejected, match="more than 6 filters"):
        await client.search(DEALS, filters)
    assert (await counts(admin)) == before


# -- errors and rate limits ------------------------------------------------------------------------


async def test_429_is_retried_after_the_interval_header(
    make_client: Factory, admin: Admin, world: World, hubspot: HubSpotSim
) -> None:
    with shared_clock(hubspot, manual_clock()) as clock:
        client = make_client(clock=clock, retry_backoff_s=0.0, retry_max_wait_s=30)
        await admin("PUT", "faults", {"rate_limit": 1, "rate_window_s": 10})
        before = await counts(admin)
        first = await client.list_clients()
        second = await client.list_clients()  # over the limit: 429, wait one interval, then served
        after = await counts(admin)
    assert first == second == [expected_client(c) for c in world.clients]
    assert clock.slept == [10.0]  # X-HubSpot-RateLimit-Interval-Milliseconds: 10000
    assert (delta(before, after, "status 429"), delta(before, after, "status 200")) == (1, 2)


async def test_searches_are_paced_under_the_secondly_limit(
    make_client: Factory, admin: Admin, hubspot: HubSpotSim
) -> None:
    await admin("POST", "events", {"type": "set_search_cap", "cap": 50})
    await admin("POST", "events", {"type": "set_search_rate", "per_second": 4})
    with shared_clock(hubspot, manual_clock()) as clock:
        batch = await make_client(search_cap=50, clock=clock).changed_since(
            Entity.OPPORTUNITY, datetime(2020, 1, 1, tzinfo=UTC)
        )
        searches = (await counts(admin))[SEARCH]
    assert len(batch.changes) == 120
    assert "status 429" not in await counts(admin)
    assert clock.slept == [0.25] * (searches - 1)  # every search after the first waits its turn


async def test_a_secondly_429_is_retried_after_a_second(
    make_client: Factory, admin: Admin, hubspot: HubSpotSim
) -> None:
    await admin("POST", "events", {"type": "set_search_rate", "per_second": 1})
    with shared_clock(hubspot, manual_clock()) as clock:
        client = make_client(clock=clock, retry_backoff_s=0.0)
        client.search_interval_s = 0.0  # type: ignore[misc]  # no pacing: hit the limit
        await client.list_opportunities(OpportunityFilter(stage="Proposal"))
        found = await client.list_opportunities(OpportunityFilter(stage="Negotiation"))
    assert found and {o.stage for o in found} == {"Negotiation"}
    assert clock.slept == [1.0]
    assert (await counts(admin))["status 429"] == 1


async def test_429_waits_the_interval_the_headers_give(make_client: Factory, admin: Admin) -> None:
    clock = ManualClock()
    client = make_client(clock=clock, retry_max_wait_s=120, retry_backoff_s=0.0)
    await admin("PUT", "faults", {"rate_limit": 0, "rate_window_s": 60})
    with pytest.raises(SourceRateLimited) as caught:
        await client.list_clients()
    assert clock.slept == [60.0, 60.0]  # X-HubSpot-RateLimit-Interval-Milliseconds: 60000, no Retry-After
    assert caught.value.retry_after == 60.0
    assert (await counts(admin))["status 429"] == 3  # the first try and max_retries=2


async def test_a_long_retry_after_fails_fast(make_client: Factory, admin: Admin) -> None:
    client = make_client()
    await admin("POST", "events", {"type": "retry_after_on_429"})
    await admin("PUT", "faults", {"rate_limit": 0, "rate_window_s": 60})
    before = await counts(admin)
    with pytest.raises(SourceRateLimited) as caught:
        await client.list_clients()
    after = await counts(admin)
    assert caught.value.retry_after == 60.0
    assert caught.value.vendor_code == "TEN_SECONDLY_ROLLING" and caught.value.status == 429
    assert delta(before, after, "status 429") == 1  # 60 s is past retry_max_wait_s: no retry


async def test_the_daily_limit_is_not_retried(make_client: Factory, admin: Admin) -> None:
    client = make_client()
    await admin("POST", "events", {"type": "exhaust_daily_limit"})
    with pytest.raises(SourceRateLimited) as caught:
        await client.clients_by_ids(["9000001000"])
    assert caught.value.vendor_code == "DAILY" and caught.value.retry_after == 3600.0
    assert (await counts(admin))["status 429"] == 1


async def test_a_bad_token_fails_once_with_the_category(make_client: Factory, admin: Admin) -> None:
    client = make_client()
    client.config = SourceConfig(base_url=client.config.base_url, credentials={"access_token": "pat-wrong"})
    with pytest.raises(SourceUnavailable) as caught:
        await client.list_clients()
    assert caught.value.vendor_code == "INVALID_AUTHENTICATION" and caught.value.status == 401
    assert "HubSpot" in caught.value.message
    assert (await counts(admin))["status 401"] == 1


async def test_an_outage_is_unavailable_after_retries(make_client: Factory, admin: Admin) -> None:
    client = make_client()
    await admin("PUT", "faults", {"outage": True})
    with pytest.raises(SourceUnavailable) as caught:
        await client.list_clients()
    assert caught.value.status == 503 and caught.value.vendor_code == "SERVICE_UNAVAILABLE"
    assert (await counts(admin))["status 503"] == 3  # the first try and max_retries=2


def test_malformed_properties_raise_data_errors_naming_the_field() -> None:
    deal = {"id": "8000000001", "properties": {"dealname": "x", "dealstage": "closedwon", "amount": "lots"}}
    with pytest.raises(SourceDataError) as caught:
        deal_to_opportunity(deal, "9000000001", "crm-us")
    assert (caught.value.record_id, caught.value.field, caught.value.system) == (
        "8000000001",
        "amount",
        "crm-us",
    )
    with pytest.raises(SourceDataError, match="dealstage"):
        deal_to_opportunity({"id": "1", "properties": {"dealname": "x", "dealstage": "nope"}}, "2", SYSTEM)
    with pytest.raises(SourceDataError, match="hs_is_closed"):
        deal_to_opportunity({"id": "1", "properties": {"dealname": "x", "dealstage": "closedwon",
                                                       "hs_is_closed": "yes"}}, "2", SYSTEM)  # fmt: skip
    with pytest.raises(SourceDataError) as caught:
        company_to_client({"id": "9"}, SYSTEM)
    assert (caught.value.record_id, caught.value.field) == ("9", "properties")
    with pytest.raises(SourceDataError) as caught:
        company_to_client({"properties": {"name": "N"}}, SYSTEM)
    assert caught.value.field == "id"
    company = company_to_client(
        {"id": "9", "properties": {"name": "N", "hs_lastmodifieddate": "1700000000000"}}, "crm-us"
    )
    assert company.modified_at is not None and company.modified_at.year == 2023  # epoch-ms strings parse too
    assert (company.system, company.key) == ("crm-us", "crm-us:9")
    opportunity = deal_to_opportunity(
        {"id": "1", "properties": {"dealname": "x", "dealstage": "contractsent", "amount": "10.5"}},
        "2",
        SYSTEM,
    )
    assert (opportunity.amount, opportunity.client_id, opportunity.stage) == (
        Money(amount=Decimal("10.50"), currency="USD"),
        "2",
        "Negotiation",
    )


# -- same world, same answers as the Salesforce connector -----------------------------------------


async def test_same_business_answers_as_salesforce(
    make_client: Factory, admin: Admin, simulators: SimulatorGroup
) -> None:
    sim = simulators.running["salesforce"]
    config = SourceConfig(base_url=sim.url, credentials=dict(sim.info.credentials))
    salesforce = SalesforceClient(config, system=SYSTEM)  # the same system name: the same records
    try:
        sf_clients = await salesforce.list_clients()
        sf_opportunities = await salesforce.list_opportunities()
        sf_open = await salesforce.list_opportunities(OpportunityFilter(is_closed=False))
    finally:
        await salesforce.close()
    client = make_client()
    as_hubspot = [c.model_copy(update={"id": company_id(c.id)}) for c in sf_clients]
    assert await client.list_clients() == as_hubspot

    def translated(found: list[Opportunity]) -> list[Opportunity]:
        return [
            o.model_copy(update={"id": deal_id(o.id), "client_id": company_id(o.client_id)}) for o in found
        ]

    assert await client.list_opportunities() == translated(sf_opportunities)
    assert await client.list_opportunities(OpportunityFilter(is_closed=False)) == translated(sf_open)
