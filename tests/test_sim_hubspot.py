"""The HubSpot simulator's wire formats over a real socket (VENDOR_APIS_MORE.md section 1)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
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

from opsgraph.connectors.base import UpstreamResponse
from opsgraph.connectors.hubspot import HubSpotClient
from opsgraph.connectors.hubspot.resources import DEAL_PROPERTIES
from opsgraph.connectors.hubspot.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    sign_v3,
    signed_headers,
    verify_v3,
)
from simulators.hubspot.sim_state import company_id, deal_id
from simulators.world import World

COMPANIES = "/crm/v3/objects/companies"
DEALS = "/crm/v3/objects/deals"
ERROR_KEYS = {"status", "message", "correlationId", "category", "links"}


async def wire(
    client: HubSpotClient, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
) -> UpstreamResponse:
    """One authenticated exchange with no retry, so the simulator's own answer is what we see."""
    return await client.raw_request(
        method, path, params=params, json=body, headers=await client.auth_headers()
    )


def ids_filter(n: int, prop: str = "dealname") -> list[dict[str, str]]:
    return [{"propertyName": prop, "operator": "HAS_PROPERTY"} for _ in range(n)]


# -- lists and objects -----------------------------------------------------------------------------


async def test_list_pages_with_cursor_to_the_end(make_client: Factory, admin: Admin, world: World) -> None:
    client = make_client()
    seen: list[str] = []
    params = {"limit": "15", "properties": "name,industry,region,hs_lastmodifieddate"}
    pages = 0
    while True:
        response = await wire(client, "GET", COMPANIES, params=params)
        assert response.status == 200
        pages += 1
        body = response.body
        for obj in body["results"]:
            assert set(obj) == {"id", "properties", "createdAt", "updatedAt", "archived"}
            assert obj["archived"] is False
            assert set(obj["properties"]) == {"name", "industry", "region", "hs_lastmodifieddate"}
            assert all(v is None or isinstance(v, str) for v in obj["properties"].values())
            seen.append(obj["id"])
        if "paging" not in body:
            break
        nxt = body["paging"]["next"]
        assert set(nxt) == {"after", "link"} and f"after={nxt['after']}" in nxt["link"].replace("%3D", "=")
        params = {**params, "after": nxt["after"]}
    assert pages == 3  # 40 companies, 15 a page
    assert seen == [company_id(c.sf_id) for c in world.clients]
    assert seen[0] == str(9_000_000_000 + 1000)


async def test_default_properties_and_strings_only(make_client: Factory, admin: Admin, world: World) -> None:
    client = make_client()
    response = await wire(client, "GET", DEALS, params={"limit": "1"})
    deal = response.body["results"][0]
    assert set(deal["properties"]) == {
        "dealname", "amount", "dealstage", "pipeline", "closedate", "createdate", "hs_lastmodifieddate",
        "hs_object_id",
    }  # fmt: skip
    opportunity = world.opportunities[0]
    assert deal["id"] == deal_id(opportunity.sf_id) == str(8_000_000_000 + 5000)
    assert deal["properties"]["amount"] == str(opportunity.amount)
    assert deal["properties"]["closedate"] == f"{opportunity.close_date.isoformat()}T00:00:00.000Z"


async def test_limit_over_100_and_unknown_object_are_validation_errors(
    make_client: Factory, admin: Admin
) -> None:
    client = make_client()
    over = await wire(client, "GET", COMPANIES, params={"limit": "101"})
    unknown = await wire(client, "GET", "/crm/v3/objects/widgets")
    missing = await wire(client, "GET", f"{COMPANIES}/123")
    for response, status, category in ((over, 400, "VALIDATION_ERROR"), (unknown, 400, "VALIDATION_ERROR"),
                                       (missing, 404, "OBJECT_NOT_FOUND")):  # fmt: skip
        assert response.status == status
        assert set(response.body) >= ERROR_KEYS and response.body["status"] == "error"
        assert response.body["category"] == category


async def test_get_by_unique_id_property(make_client: Factory, admin: Admin, world: World) -> None:
    client = make_client()
    response = await wire(
        client,
        "GET",
        f"{DEALS}/ENG-0003",
        params={"idProperty": "engagement_code", "properties": "engagement_code"},
    )
    assert response.body["id"] == deal_id(world.opportunities[2].sf_id)


# -- batch/read ------------------------------------------------------------------------------------


async def test_batch_read_with_missing_ids_is_207_with_their_ids(
    make_client: Factory, admin: Admin, world: World
) -> None:
    client = make_client()
    real = [company_id(c.sf_id) for c in world.clients[:3]]
    inputs = [{"id": i} for i in [*real, "1", "2"]]
    body: dict[str, Any] = {
        "inputs": inputs,
        "properties": ["name"],
        "propertiesWithHistory": [],
    }
    response = await wire(client, "POST", f"{COMPANIES}/batch/read", body=body)
    assert response.status == 207
    assert response.body["status"] == "COMPLETE"
    assert [r["id"] for r in response.body["results"]] == real
    assert response.body["numErrors"] == 1
    assert response.body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert response.body["errors"][0]["context"] == {"ids": ["1", "2"]}
    assert {"requestedAt", "startedAt", "completedAt"} <= set(response.body)
    complete = await wire(client, "POST", f"{COMPANIES}/batch/read", body={**body, "inputs": inputs[:3]})
    assert complete.status == 200 and "errors" not in complete.body


async def test_batch_read_by_id_property_and_its_limits(
    make_client: Factory, admin: Admin, world: World
) -> None:
    client = make_client()
    by_code = {
        "inputs": [{"id": "ENG-0001"}, {"id": "ENG-0002"}, {"id": "ENG-9999"}],
        "properties": list(DEAL_PROPERTIES),
        "idProperty": "engagement_code",
    }
    response = await wire(client, "POST", f"{DEALS}/batch/read", body=by_code)
    assert response.status == 207
    assert [r["properties"]["engagement_code"] for r in response.body["results"]] == ["ENG-0001", "ENG-0002"]
    assert response.body["errors"][0]["context"] == {"ids": ["ENG-9999"]}
    not_unique = await wire(client, "POST", f"{DEALS}/batch/read", body={**by_code, "idProperty": "practice"})
    assert not_unique.status == 400 and not_unique.body["category"] == "VALIDATION_ERROR"
    too_many = await wire(
        client, "POST", f"{DEALS}/batch/read", body={"inputs": [{"id": str(i)} for i in range(101)]}
    )
    assert too_many.status == 400 and "101" in too_many.body["message"]


# -- search ----------------------------------------------------------------------------------------


async def test_search_filters_sort_and_paging(make_client: Factory, admin: Admin, world: World) -> None:
    client = make_client()
    body = {
        "filterGroups": [{"filters": [{"propertyName": "hs_is_closed", "operator": "EQ", "value": "false"}]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["hs_lastmodifieddate", "hs_is_closed"],
        "limit": 10,
    }
    open_deals = [o for o in world.opportunities if not o.is_closed]
    first = await wire(client, "POST", f"{DEALS}/search", body=body)
    assert first.status == 200
    assert first.body["total"] == len(open_deals)
    assert first.body["paging"] == {"next": {"after": "10"}}
    stamps = [r["properties"]["hs_lastmodifieddate"] for r in first.body["results"]]
    assert stamps == sorted(stamps) and len(stamps) == 10
    either = {"filterGroups": [{"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": s}]}
                               for s in ("closedwon", "closedlost")], "limit": 200}  # fmt: skip
    ored = await wire(client, "POST", f"{DEALS}/search", body=either)
    assert ored.body["total"] == len(world.opportunities) - len(open_deals)


@pytest.mark.parametrize(
    ("groups", "sub_category"),
    [
        ([ids_filter(1)] * 6, "TOO_MANY_FILTER_GROUPS"),
        ([ids_filter(7)], "TOO_MANY_FILTERS_IN_GROUP"),
        ([ids_filter(6), ids_filter(6), ids_filter(6), ids_filter(1)], "TOO_MANY_FILTERS"),
    ],
)
async def test_search_filter_limits(
    make_client: Factory, admin: Admin, groups: list[list[dict[str, str]]], sub_category: str
) -> None:
    client = make_client()
    body = {"filterGroups": [{"filters": g} for g in groups]}
    response = await wire(client, "POST", f"{DEALS}/search", body=body)
    assert response.status == 400
    assert response.body["category"] == "VALIDATION_ERROR" and response.body["subCategory"] == sub_category
    at_limit = {"filterGroups": [{"filters": g} for g in ([ids_filter(6)] * 3)]}
    assert (await wire(client, "POST", f"{DEALS}/search", body=at_limit)).status == 200


async def test_search_stops_at_the_result_cap(make_client: Factory, admin: Admin, world: World) -> None:
    await admin("POST", "events", {"type": "set_search_cap", "cap": 50})
    client = make_client()
    first = await wire(client, "POST", f"{DEALS}/search", body={"limit": 100})
    assert first.body["total"] == len(world.opportunities) == 120
    assert len(first.body["results"]) == 50
    assert first.body["paging"] == {"next": {"after": "50"}}
    deeper = await wire(client, "POST", f"{DEALS}/search", body={"limit": 100, "after": "50"})
    assert deeper.status == 400 and deeper.body["subCategory"] == "PAGING_LIMIT"


# -- associations and owners -------------------------------------------------------------------------


async def test_associations_v4_both_ways(make_client: Factory, admin: Admin, world: World) -> None:
    client = make_client()
    opportunity = world.opportunities[0]
    deals = await wire(
        client, "POST", "/crm/v4/associations/deals/companies/batch/read",
        body={"inputs": [{"id": deal_id(opportunity.sf_id)}, {"id": "42"}]},
    )  # fmt: skip
    assert deals.status == 207
    (result,) = deals.body["results"]
    assert result["from"] == {"id": deal_id(opportunity.sf_id)}
    assert result["to"][0]["toObjectId"] == int(company_id(opportunity.account_id))
    assert {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"} in result["to"][0][
        "associationTypes"
    ]
    assert deals.body["errors"][0]["context"] == {"fromObjectId": ["42"]}
    client_sf = world.clients[0].sf_id
    companies = await wire(
        client, "POST", "/crm/v4/associations/companies/deals/batch/read",
        body={"inputs": [{"id": company_id(client_sf)}]},
    )  # fmt: skip
    targets = [t["toObjectId"] for t in companies.body["results"][0]["to"]]
    assert targets == [int(deal_id(o.sf_id)) for o in world.opportunities if o.account_id == client_sf]


async def test_owners_and_deal_owner_ids(make_client: Factory, admin: Admin) -> None:
    client = make_client()
    owners = (await wire(client, "GET", "/crm/v3/owners", params={"limit": "100"})).body["results"]
    assert owners and {"id", "email", "type", "firstName", "lastName", "userId", "teams"} <= set(owners[0])
    deals = await wire(client, "GET", DEALS, params={"limit": "100", "properties": "hubspot_owner_id"})
    assert {d["properties"]["hubspot_owner_id"] for d in deals.body["results"]} <= {o["id"] for o in owners}
    one = await wire(client, "GET", f"/crm/v3/owners/{owners[0]['id']}")
    assert one.body == owners[0]


# -- auth, rate limits -----------------------------------------------------------------------------


async def test_bad_token_is_401_invalid_authentication(make_client: Factory, admin: Admin) -> None:
    client = make_client()
    response = await client.raw_request("GET", COMPANIES, headers={"Authorization": "Bearer nope"})
    assert response.status == 401 and response.body["category"] == "INVALID_AUTHENTICATION"


async def test_rate_limit_headers_and_ten_secondly_429(make_client: Factory, admin: Admin) -> None:
    client = make_client()
    ok = await wire(client, "GET", COMPANIES, params={"limit": "1"})
    assert ok.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert ok.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert ok.headers["X-HubSpot-RateLimit-Daily"] == "650000"
    assert int(ok.headers["X-HubSpot-RateLimit-Daily-Remaining"]) == 650_000 - 1
    await admin("PUT", "faults", {"rate_limit": 1, "rate_window_s": 60})
    assert (await wire(client, "GET", COMPANIES)).status == 200
    limited = await wire(client, "GET", COMPANIES)
    assert limited.status == 429
    assert set(limited.body) == {"status", "message", "errorType", "correlationId", "policyName", "requestId"}
    assert limited.body["errorType"] == "RATE_LIMIT" and limited.body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert limited.headers["X-HubSpot-RateLimit-Max"] == "1"
    assert limited.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "60000"
    assert "Retry-After" not in limited.headers
    await admin("POST", "events", {"type": "retry_after_on_429"})
    assert (await wire(client, "GET", COMPANIES)).headers["Retry-After"] == "60"


async def test_search_secondly_limit_429(make_client: Factory, admin: Admin, hubspot: HubSpotSim) -> None:
    await admin("POST", "events", {"type": "set_search_rate", "per_second": 2})
    client = make_client()
    with shared_clock(hubspot, manual_clock()) as clock:
        statuses = [(await wire(client, "POST", f"{DEALS}/search", body={})).status for _ in range(2)]
        limited = await wire(client, "POST", f"{DEALS}/search", body={})
        listed = await wire(client, "GET", DEALS)  # other endpoints are not under the search limit
        clock.advance(1.0)
        later = await wire(client, "POST", f"{DEALS}/search", body={})
    assert statuses == [200, 200] and listed.status == 200 and later.status == 200
    assert limited.status == 429
    assert limited.body["policyName"] == "SECONDLY" and limited.body["errorType"] == "RATE_LIMIT"
    assert limited.headers["X-HubSpot-RateLimit-Secondly"] == "2"
    assert limited.headers["X-HubSpot-RateLimit-Secondly-Remaining"] == "0"


async def test_reset_lifts_a_search_rate(make_client: Factory, admin: Admin, hubspot: HubSpotSim) -> None:
    """A test that set a search rate leaves none behind once the simulator is reset."""
    await admin("POST", "events", {"type": "set_search_rate", "per_second": 1})
    client = make_client()
    with shared_clock(hubspot, manual_clock()):
        first = await wire(client, "POST", f"{DEALS}/search", body={})
        limited = await wire(client, "POST", f"{DEALS}/search", body={})
        await admin("POST", "reset")
        after_reset = [(await wire(client, "POST", f"{DEALS}/search", body={})).status for _ in range(3)]
    assert (first.status, limited.status, after_reset) == (200, 429, [200, 200, 200])


async def test_daily_limit_429(make_client: Factory, admin: Admin) -> None:
    await admin("POST", "events", {"type": "exhaust_daily_limit"})
    response = await wire(make_client(), "GET", COMPANIES)
    assert response.status == 429 and response.body["policyName"] == "DAILY"
    assert response.body["message"] == "You have reached your daily limit."
    assert response.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert (await counts(admin))["status 429"] == 1


# -- webhook signatures ----------------------------------------------------------------------------


def test_v3_signature_verifies_and_rejects() -> None:
    secret, uri, body, stamp = (
        "app-secret",
        "https://example.com/hooks?x=a%20b",
        b'[{"eventId":1}]',
        1_700_000_000_000,
    )
    headers = signed_headers(secret, "POST", uri, body, stamp)
    verify_v3(secret, "POST", uri, body, headers, now_ms=stamp + 299_000)  # fresh, intact: no error
    assert (
        sign_v3(secret, "POST", "https://example.com/hooks?x=a b", body, stamp) == headers[SIGNATURE_HEADER]
    )
    cases = [
        ("app-secret", body + b" ", stamp + 1, "signature does not match"),
        ("other", body, stamp + 1, "signature does not match"),
        ("app-secret", body, stamp + 300_001, "timestamp older than five minutes"),
    ]
    for key, raw, now, reason in cases:
        with pytest.raises(WebhookRejected) as caught:
            verify_v3(key, "POST", uri, raw, headers, now_ms=now)
        assert caught.value.reason == reason
    with pytest.raises(WebhookRejected):
        verify_v3(secret, "POST", uri, body, {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}, now_ms=stamp)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[str, bytes, dict[str, str]]]]]:
    got: list[tuple[str, bytes, dict[str, str]]] = []

    async def hook(request: web.Request) -> web.Response:
        got.append((str(request.url), await request.read(), dict(request.headers)))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/hooks", got
    await runner.cleanup()


async def test_simulator_delivers_signed_v3_webhooks(
    admin: Admin, world: World, receiver: tuple[str, list[tuple[str, bytes, dict[str, str]]]]
) -> None:
    url, got = receiver
    await admin("POST", "events", {"type": "subscribe_webhooks", "url": url, "client_secret": "s3cret"})
    target = deal_id(world.opportunities[-1].sf_id)
    answer = await admin("POST", "events", {"type": "set_deal_stage", "id": target, "stage": "closedwon"})
    assert answer["delivered"] == 204
    (uri, raw, headers) = got[0]
    stamp = int(headers[TIMESTAMP_HEADER])
    verify_v3("s3cret", "POST", uri, raw, headers, now_ms=stamp)
    with pytest.raises(WebhookRejected):
        verify_v3("wrong", "POST", uri, raw, headers, now_ms=stamp)
    (event,) = json.loads(raw)
    assert event["subscriptionType"] == "deal.propertyChange" and event["objectId"] == int(target)
    assert (event["propertyName"], event["propertyValue"]) == ("dealstage", "closedwon")
    assert {
        "eventId",
        "subscriptionId",
        "portalId",
        "appId",
        "occurredAt",
        "attemptNumber",
        "changeSource",
    } <= set(event)
