"""The Salesforce connector against the simulator: canonical values, request counts, auth and failures."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from opsgraph.clock import ManualClock
from opsgraph.connectors.base import (
    SourceConfig,
    SourceDataError,
    SourceRateLimited,
    SourceRejected,
    SourceUnavailable,
)
from opsgraph.connectors.salesforce import SalesforceClient
from opsgraph.connectors.salesforce.mapping import (
    account_to_client,
    client_to_fields,
    opportunity_from_record,
    soql_quote,
    to_18,
)
from opsgraph.model import BillingModel, Client, Money, Opportunity
from opsgraph.roles import ChangeBatch, Entity
from opsgraph.roles.filters import OpportunityFilter
from simulators.simkit.serve import RunningSimulator, SimulatorGroup
from simulators.world import Client as WorldClient
from simulators.world import Opportunity as WorldOpportunity
from simulators.world import World, salesforce_id

API = "/services/data/v60.0"
QUERY = f"GET {API}/query"
RETRIEVE = f"POST {API}/composite/sobjects/{{sobject}}"
TOKEN = "POST /services/oauth2/token"
DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}
SYSTEM = "salesforce"  # a client built without a system name is named after its vendor
MALFORMED = ["", "garbage", "¹", "1" * 30, "001", "0015g00000000G8AA!"]
"""Ids no Salesforce record can have: absent from every answer, never sent."""


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running["salesforce"]


Factory = Callable[..., SalesforceClient]


@pytest.fixture
async def make_client(sim: RunningSimulator) -> AsyncIterator[Factory]:
    made: list[SalesforceClient] = []

    def make(soql_in_chunk: int = 300, system: str | None = None, **overrides: Any) -> SalesforceClient:
        config = SourceConfig(
            base_url=sim.url,
            credentials=dict(sim.info.credentials),
            **{"max_retries": 2, "retry_backoff_s": 0.01, **overrides},
        )
        client = SalesforceClient(config, system=system, soql_in_chunk=soql_in_chunk, clock=ManualClock())
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@pytest.fixture
async def admin(sim: RunningSimulator) -> AsyncIterator[Callable[..., Any]]:
    async with aiohttp.ClientSession() as http:

        async def call(method: str, path: str, json: Any = None) -> Any:
            async with http.request(method, f"{sim.url}/_sim/{path}", json=json) as resp:
                return await resp.json()

        yield call


async def counts(admin: Callable[..., Any]) -> dict[str, int]:
    stats = await admin("GET", "stats")
    out = {route: int(v["count"]) for route, v in stats["routes"].items()}
    out.update({f"status {k}": v for k, v in stats["statuses"].items()})
    return out


def delta(before: dict[str, int], after: dict[str, int], key: str) -> int:
    return after.get(key, 0) - before.get(key, 0)


def expected_client(c: WorldClient, system: str = SYSTEM) -> Client:
    return Client(
        system=system,
        id=c.sf_id,
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
        id=o.sf_id,
        name=o.name,
        client_id=o.account_id,
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


# -- reads ---------------------------------------------------------------------------------------


async def test_clients_by_ids_one_composite_call_and_unknown_absent(
    make_client: Factory, admin: Callable[..., Any], world: World
) -> None:
    client = make_client()
    real = [c.sf_id for c in world.clients]
    missing = [salesforce_id("001", 90_000 + n) for n in range(250 - len(real))]
    await client.list_clients()  # warm the token so the counts below are the reads alone
    before = await counts(admin)
    found = await client.clients_by_ids([*real, *missing, *MALFORMED, real[0]])
    after = await counts(admin)
    assert delta(before, after, RETRIEVE) == 1
    assert list(found) == real  # keyed by the ids asked for, unknown and malformed ones absent
    assert [found[c.sf_id] for c in world.clients] == [expected_client(c) for c in world.clients]


async def test_malformed_ids_cost_no_request(make_client: Factory, admin: Callable[..., Any]) -> None:
    client = make_client()
    await client.probe()  # the token
    before = await counts(admin)
    assert await client.clients_by_ids(MALFORMED) == {}
    assert await client.opportunities_by_ids([*MALFORMED, "0015g00000000G8AAI"]) == {}  # an Account id
    assert await client.opportunities_by_client_ids(MALFORMED) == {i: [] for i in MALFORMED}
    assert await client.opportunities_by_engagement_codes([""]) == {}
    assert await counts(admin) == before


async def test_opportunities_by_ids(make_client: Factory, world: World) -> None:
    client = make_client(system="crm-emea")
    opps = world.opportunities[:5]
    ghost = salesforce_id("006", 99_999)
    found = await client.opportunities_by_ids([o.sf_id for o in opps] + [ghost, world.clients[0].sf_id])
    assert list(found) == [o.sf_id for o in opps]
    assert [found[o.sf_id] for o in opps] == [expected_opportunity(o, world, "crm-emea") for o in opps]
    assert {o.key for o in found.values()} == {f"crm-emea:{o.sf_id}" for o in opps}


async def test_opportunities_by_client_ids_chunks_the_in_list(
    make_client: Factory, admin: Callable[..., Any], world: World
) -> None:
    chunk = 15
    client = make_client(soql_in_chunk=chunk)
    await client.list_clients()
    accounts = [c.sf_id for c in world.clients]
    ghost = salesforce_id("001", 99_999)
    before = await counts(admin)
    found = await client.opportunities_by_client_ids([*accounts, accounts[0][:15], ghost, "garbage"])
    after = await counts(admin)
    assert delta(before, after, QUERY) == math.ceil(len(accounts) / chunk) == 3
    assert set(found) == {*accounts, accounts[0][:15], ghost, "garbage"}
    assert found[ghost] == found["garbage"] == []
    for account in accounts:
        expected = sorted(o.sf_id for o in world.opportunities if o.account_id == account)
        assert [o.id for o in found[account]] == expected  # ordered by id
    assert [o.id for o in found[accounts[0][:15]]] == [o.id for o in found[accounts[0]]]
    first = world.opportunities[0]
    assert next(o for o in found[first.account_id] if o.id == first.sf_id) == expected_opportunity(
        first, world
    )


async def test_opportunities_by_engagement_codes(make_client: Factory, world: World) -> None:
    client = make_client()
    one, two = (o for o in world.opportunities[:2])
    assert one.engagement_code and two.engagement_code
    found = await client.opportunities_by_engagement_codes(
        [one.engagement_code, two.engagement_code.lower(), "ENG-NONE", one.engagement_code]
    )
    assert found == {
        one.engagement_code: expected_opportunity(one, world),
        two.engagement_code.lower(): expected_opportunity(two, world),
    }


async def test_list_opportunities_filters(make_client: Factory, world: World) -> None:
    client = make_client()
    open_ones = await client.list_opportunities(OpportunityFilter(is_closed=False))
    assert [o.id for o in open_ones] == sorted(o.sf_id for o in world.opportunities if not o.is_closed)
    lost = await client.list_opportunities(OpportunityFilter(is_closed=True, stage="Closed Lost"))
    assert [o.id for o in lost] == sorted(o.sf_id for o in world.opportunities if o.stage == "Closed Lost")
    assert await client.list_opportunities(OpportunityFilter(stage="Won-ish")) == []
    everything = await client.list_opportunities()
    assert everything == await client.list_opportunities(OpportunityFilter())
    assert [o.id for o in everything] == sorted(o.sf_id for o in world.opportunities)


async def test_list_clients_matches_the_world(make_client: Factory, world: World) -> None:
    found = await make_client().list_clients()
    assert found == [expected_client(c) for c in sorted(world.clients, key=lambda c: c.sf_id)]


async def test_probe_up_and_down(make_client: Factory, admin: Callable[..., Any]) -> None:
    client = make_client(max_retries=0)
    before = await counts(admin)
    await client.probe()  # no error: the system answers
    after = await counts(admin)
    assert (delta(before, after, TOKEN), delta(before, after, QUERY)) == (1, 1)
    await admin("PUT", "faults", {"outage": True})
    try:
        with pytest.raises(SourceUnavailable) as info:
            await client.probe()
        assert (info.value.status, info.value.system) == (503, SYSTEM)
    finally:
        await admin("PUT", "faults", DEFAULT_FAULTS)
    await client.probe()


async def test_changed_since_finds_a_change_made_at_the_simulator(
    make_client: Factory, admin: Callable[..., Any], world: World
) -> None:
    client = make_client()
    latest = max(*(c.modified_at for c in world.clients), *(o.modified_at for o in world.opportunities))
    try:
        for entity in (Entity.CLIENT, Entity.OPPORTUNITY):
            quiet = await client.changed_since(entity, latest)
            assert quiet == ChangeBatch(entity=entity, since=latest, high_water=latest)
        account, opportunity = world.clients[3], next(o for o in world.opportunities if not o.is_closed)
        await admin("POST", "events", {"type": "update_account", "id": account.sf_id,
                                       "fields": {"Industry": "Media"}})  # fmt: skip
        await admin("POST", "events", {"type": "close_opportunity_won", "id": opportunity.sf_id})
        clients = await client.changed_since(Entity.CLIENT, latest)
        assert [c.id for c in clients.changes] == [account.sf_id]
        assert clients.high_water == clients.changes[0].modified_at and clients.high_water > latest
        changed = (await client.clients_by_ids([account.sf_id]))[account.sf_id]
        assert (changed.industry, changed.modified_at) == ("Media", clients.high_water)
        opportunities = await client.changed_since(Entity.OPPORTUNITY, latest)
        assert [c.id for c in opportunities.changes] == [opportunity.sf_id]
        assert opportunities.high_water > latest
        again = await client.changed_since(Entity.CLIENT, clients.high_water)
        assert (again.changes, again.high_water) == ((), clients.high_water)
        with pytest.raises(ValueError):
            await client.changed_since(Entity.ENGAGEMENT, latest)
    finally:
        await admin("POST", "reset")


async def test_changed_since_is_strictly_after_and_oldest_first(make_client: Factory, world: World) -> None:
    client = make_client()
    stamps = sorted(c.modified_at for c in world.clients)
    since = stamps[30]
    batch = await client.changed_since(Entity.CLIENT, since)
    expected = sorted(
        (c for c in world.clients if c.modified_at > since), key=lambda c: (c.modified_at, c.sf_id)
    )
    assert [c.id for c in batch.changes] == [c.sf_id for c in expected]
    assert [c.modified_at for c in batch.changes] == [c.modified_at for c in expected]
    assert batch.high_water == stamps[-1]


async def test_bad_soql_is_rejected_with_the_vendor_code(make_client: Factory) -> None:
    with pytest.raises(SourceRejected) as info:
        await make_client().query("SELECT Id, Nope FROM Account")
    assert (info.value.code, info.value.vendor_code, info.value.status) == (
        "SOURCE_REJECTED",
        "INVALID_FIELD",
        400,
    )


# -- auth, limits, outages -------------------------------------------------------------------------


async def test_token_refresh_after_revoke(make_client: Factory, admin: Callable[..., Any]) -> None:
    client = make_client()
    assert len(await client.query("SELECT Id FROM Account LIMIT 3")) == 3
    before = await counts(admin)
    await admin("POST", "events", {"type": "revoke_tokens"})
    assert len(await client.query("SELECT Id FROM Account LIMIT 3")) == 3
    after = await counts(admin)
    assert delta(before, after, TOKEN) == 1
    assert delta(before, after, QUERY) == 2  # the 401 and the retry with the new token
    assert delta(before, after, "status 401") == 1


async def test_bad_credentials_fail_as_unavailable(sim: RunningSimulator) -> None:
    config = SourceConfig(
        base_url=sim.url, credentials={"client_id": "opsgraph-sim", "client_secret": "nope"}
    )
    client = SalesforceClient(config)
    try:
        with pytest.raises(SourceUnavailable) as info:
            await client.list_clients()
        assert (info.value.vendor_code, info.value.status) == ("invalid_client", 400)
    finally:
        await client.close()


async def test_rate_limited_after_retries(make_client: Factory, admin: Callable[..., Any]) -> None:
    client = make_client(max_retries=1)
    await client.list_clients()
    await admin("PUT", "faults", {"rate_limit": 0, "rate_window_s": 60})
    try:
        before = await counts(admin)
        with pytest.raises(SourceRateLimited) as info:
            await client.query("SELECT Id FROM Account")
        after = await counts(admin)
    finally:
        await admin("PUT", "faults", DEFAULT_FAULTS)
    assert (info.value.code, info.value.vendor_code, info.value.status) == (
        "SOURCE_RATE_LIMITED",
        "REQUEST_LIMIT_EXCEEDED",
        403,
    )
    assert info.value.retry_after == 1.0
    assert delta(before, after, QUERY) == 2  # the first try and one retry
    assert delta(before, after, "status 403") == 2


async def test_outage_is_unavailable(make_client: Factory, admin: Callable[..., Any]) -> None:
    warm, cold = make_client(max_retries=1), make_client(max_retries=1)
    await warm.list_clients()
    await admin("PUT", "faults", {"outage": True})
    try:
        with pytest.raises(SourceUnavailable) as info:
            await warm.clients_by_ids(["0015g00000000G8AAI"])
        assert (info.value.status, info.value.vendor_code) == (503, "SERVICE_UNAVAILABLE")
        with pytest.raises(SourceUnavailable):
            await cold.list_clients()  # the token endpoint is down too
    finally:
        await admin("PUT", "faults", DEFAULT_FAULTS)
    assert len(await warm.list_clients()) >= 40


# -- writes ----------------------------------------------------------------------------------------


async def test_writes_then_change_polling(
    make_client: Factory, admin: Callable[..., Any], world: World
) -> None:
    client = make_client()
    since = datetime.now(UTC) - timedelta(seconds=1)
    name = "O'Brien \\ Partners\n"
    try:
        new_id = await client.create("Account", {"Name": name, "Industry": "Media"})
        hits = await client.query(f"SELECT Id, Name FROM Account WHERE Name = {soql_quote(name)}")
        assert [(r["Id"], r["Name"]) for r in hits] == [(new_id, name)]

        target = world.clients[1]
        await client.update("Account", target.sf_id, {"Legal_Entity__c": "Renamed GmbH"})
        updated = (await client.clients_by_ids([target.sf_id]))[target.sf_id]
        assert updated.modified_at is not None and updated.modified_at > since
        assert updated.model_dump(exclude={"modified_at"}) == expected_client(target).model_copy(
            update={"legal_entity": "Renamed GmbH"}
        ).model_dump(exclude={"modified_at"})

        fields = {
            "Name": "Client test opportunity",
            "AccountId": target.sf_id,
            "StageName": "Closed Won",
            "CloseDate": datetime(2031, 3, 1).date(),
            "Amount": Decimal("125000.50"),
            "Billing_Model__c": BillingModel.CAPPED,
        }
        opp_id, created = await client.upsert("Opportunity", "Engagement_Code__c", "ENG-C/01", fields)
        assert created is True
        assert await client.upsert("Opportunity", "Engagement_Code__c", "ENG-C/01", {"Probability": 90}) == (
            opp_id,
            False,
        )
        opp = (await client.opportunities_by_engagement_codes(["ENG-C/01"]))["ENG-C/01"]
        assert (opp.id, opp.amount, opp.billing_model, opp.probability, opp.is_won) == (
            opp_id,
            Money.of("125000.50", target.currency),
            BillingModel.CAPPED,
            90.0,
            True,
        )

        changed_accounts = await client.changed_since(Entity.CLIENT, since)
        assert sorted(c.id for c in changed_accounts.changes) == sorted([new_id, target.sf_id])
        assert [c.id for c in (await client.changed_since(Entity.OPPORTUNITY, since)).changes] == [opp_id]

        with pytest.raises(SourceRejected) as info:
            await client.create("Account", {"Nonexistent__c": 1, "Name": "x"})
        assert info.value.vendor_code == "INVALID_FIELD"
    finally:
        await admin("POST", "reset")


# -- mapping -------------------------------------------------------------------------------------


def _account(**fields: Any) -> dict[str, Any]:
    base = {
        "attributes": {"type": "Account", "url": f"{API}/sobjects/Account/0015g00000000G8AAI"},
        "Id": "0015g00000000G8AAI",
        "Name": "Acme Holdings",
        "Industry": "Energy",
        "BillingCountry": "United Kingdom",
        "Region__c": "EMEA",
        "Legal_Entity__c": None,
        "CurrencyIsoCode": "GBP",
        "SystemModstamp": "2025-03-31T17:02:11.250+0000",
    }
    return {**base, **fields}


def test_account_mapping() -> None:
    assert account_to_client(_account(), "crm-na") == Client(
        system="crm-na",
        id="0015g00000000G8AAI",
        name="Acme Holdings",
        industry="Energy",
        region="EMEA",
        billing_country="United Kingdom",
        legal_entity=None,
        currency="GBP",
        modified_at=datetime(2025, 3, 31, 17, 2, 11, 250_000, tzinfo=UTC),
    )
    fields = client_to_fields(account_to_client(_account(), "crm-na"))
    assert fields == {
        "Name": "Acme Holdings",
        "Industry": "Energy",
        "BillingCountry": "United Kingdom",
        "Region__c": "EMEA",
        "Legal_Entity__c": None,
        "CurrencyIsoCode": "GBP",
    }


@pytest.mark.parametrize(
    "record", [_account(Name=None), {k: v for k, v in _account().items() if k != "Name"}]
)
def test_account_without_name_is_a_data_error(record: dict[str, Any]) -> None:
    with pytest.raises(SourceDataError) as info:
        account_to_client(record, "crm-na")
    assert (info.value.field, info.value.record_id, info.value.code, info.value.system) == (
        "Name",
        "0015g00000000G8AAI",
        "SOURCE_DATA_ERROR",
        "crm-na",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"AccountId": None}, "AccountId"),
        ({"Billing_Model__c": "Retainer"}, "Billing_Model__c"),
        ({"SystemModstamp": "yesterday"}, "SystemModstamp"),
        ({"IsWon": "true"}, "IsWon"),
        ({"SystemModstamp": "2025-03-31T17:02:11"}, "SystemModstamp"),  # no zone
        ({"Amount": "lots"}, "Amount"),
    ],
)
def test_opportunity_mapping_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    record = {
        "attributes": {"type": "Opportunity"},
        "Id": "0065g00000001IeAAI",
        "Name": "Acme - Strategy",
        "AccountId": "0015g00000000G8AAI",
        "StageName": "Proposal",
        "Amount": 1000.0,
        "CloseDate": "2026-01-31",
        "Probability": 50.0,
        "IsClosed": False,
        "IsWon": False,
        "Billing_Model__c": "Fixed Fee",
        "SystemModstamp": "2025-03-31T17:02:11.000+0000",
    }
    mapped = opportunity_from_record(record, "crm-na")
    assert (mapped.billing_model, mapped.client_id, mapped.key) == (
        BillingModel.FIXED_FEE,
        "0015g00000000G8AAI",
        "crm-na:0065g00000001IeAAI",
    )
    with pytest.raises(SourceDataError) as info:
        opportunity_from_record({**record, **change}, "crm-na")
    assert (info.value.field, info.value.record_id, info.value.system) == (
        field,
        "0065g00000001IeAAI",
        "crm-na",
    )


def test_soql_quote_and_id_helpers() -> None:
    assert soql_quote("O'Brien \\ Co\n") == "'O\\'Brien \\\\ Co\\n'"
    assert to_18("0015g00000000G8") == "0015g00000000G8AAI"
    assert to_18("0015g00000000G8AAI") == "0015g00000000G8AAI"
