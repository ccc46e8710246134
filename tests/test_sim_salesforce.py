"""Salesforce simulator contract: the REST wire format over a real socket, checked against the world."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import uvicorn
from multidict import CIMultiDict

from simulators.salesforce.simulator import create_app
from simulators.simkit.serve import RunningSimulator, SimulatorGroup, bind
from simulators.world import World, build_world, salesforce_id

API = "/services/data/v60.0"
DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}
CREDS = {
    "grant_type": "client_credentials",
    "client_id": "opsgraph-sim",
    "client_secret": "sim-salesforce-secret",
}
OPP_FIELDS = "Id, Name, AccountId, StageName, Amount, CloseDate, Probability, IsClosed, IsWon"


@dataclass
class Reply:
    status: int
    headers: CIMultiDict[str]
    body: Any


class Sf:
    """A bare REST caller: one token, raw replies (no client library logic)."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url, self.token = http, url, ""

    async def login(self) -> Sf:
        async with self.http.post(f"{self.url}/services/oauth2/token", data=CREDS) as resp:
            assert resp.status == 200
            self.token = (await resp.json())["access_token"]
        return self

    async def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Reply:
        url = (
            path
            if path.startswith("http")
            else self.url + (path if path.startswith("/") else f"{API}/{path}")
        )
        auth = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        async with self.http.request(method, url, headers=auth, **kwargs) as resp:
            body = await resp.json() if resp.content_length != 0 and resp.status != 204 else None
            return Reply(resp.status, CIMultiDict(resp.headers), body)

    async def soql(self, q: str, **kwargs: Any) -> Reply:
        return await self.call("GET", "query", params={"q": q}, **kwargs)

    async def admin(self, method: str, path: str, json: Any = None) -> Any:
        async with self.http.request(method, f"{self.url}/_sim/{path}", json=json) as resp:
            return await resp.json()

    async def route_count(self, route: str) -> int:
        stats = await self.admin("GET", "stats")
        return int(stats["routes"].get(route, {}).get("count", 0))


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running["salesforce"]


@pytest.fixture
async def sf(sim: RunningSimulator) -> AsyncIterator[Sf]:
    async with aiohttp.ClientSession() as http:
        yield await Sf(http, sim.url).login()


@pytest.fixture(scope="module")
def large_world() -> World:
    return build_world(seed=7, profile="large")


@pytest.fixture(scope="module")
def large_url(large_world: World) -> Iterator[str]:
    """A Salesforce simulator over the `large` world, on a real socket in a thread of its own."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(create_app(large_world), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
async def large(large_url: str) -> AsyncIterator[Sf]:
    async with aiohttp.ClientSession() as http:
        yield await Sf(http, large_url).login()


def error(reply: Reply) -> dict[str, Any]:
    """The single error of a Salesforce error array (the shape is asserted too)."""
    assert isinstance(reply.body, list) and len(reply.body) == 1, reply.body
    assert set(reply.body[0]) == {"message", "errorCode", "fields"}
    return dict(reply.body[0])


def sf_stamp(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


# -- auth ----------------------------------------------------------------------------------------


async def test_token_flow_and_bad_credentials(sf: Sf, sim: RunningSimulator) -> None:
    async with sf.http.post(f"{sim.url}/services/oauth2/token", data=CREDS) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert set(body) == {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}
    assert body["instance_url"] == sim.url
    assert body["token_type"] == "Bearer"
    assert body["id"].startswith(f"{sim.url}/id/00D")
    assert body["issued_at"].isdigit()
    assert body["access_token"] != sf.token

    async with sf.http.post(
        f"{sim.url}/services/oauth2/token", data={**CREDS, "client_secret": "wrong"}
    ) as resp:
        assert resp.status == 400
        assert await resp.json() == {
            "error": "invalid_client",
            "error_description": "invalid client credentials",
        }
    async with sf.http.post(
        f"{sim.url}/services/oauth2/token", data={**CREDS, "grant_type": "password"}
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "unsupported_grant_type"


async def test_missing_or_unknown_token_is_401_invalid_session(sf: Sf, sim: RunningSimulator) -> None:
    async with sf.http.get(f"{sim.url}{API}/query", params={"q": "SELECT Id FROM Account"}) as resp:
        assert resp.status == 401
        assert await resp.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
        ]
    sf.token = "00D000000000000!bogus"
    assert (await sf.soql("SELECT Id FROM Account")).status == 401


async def test_revoke_tokens_event_invalidates_every_token(sf: Sf) -> None:
    assert (await sf.soql("SELECT Id FROM Account LIMIT 1")).status == 200
    assert (await sf.admin("POST", "events", {"type": "revoke_tokens"}))["type"] == "revoke_tokens"
    assert error(await sf.soql("SELECT Id FROM Account LIMIT 1"))["errorCode"] == "INVALID_SESSION_ID"
    await sf.login()
    assert (await sf.soql("SELECT Id FROM Account LIMIT 1")).status == 200


# -- SOQL ----------------------------------------------------------------------------------------


async def test_soql_pages_to_the_end_with_batch_size(large: Sf, large_world: World) -> None:
    hint = {"Sforce-Query-Options": "batchSize=500"}
    reply = await large.soql(f"SELECT {OPP_FIELDS} FROM Opportunity", headers=hint)
    sizes, ids = [], []
    while True:
        assert reply.status == 200
        body = reply.body
        assert body["totalSize"] == 1200
        sizes.append(len(body["records"]))
        ids += [r["Id"] for r in body["records"]]
        if body["done"]:
            assert "nextRecordsUrl" not in body
            break
        assert re.fullmatch(rf"{API}/query/01g[A-Za-z0-9]{{15}}-{len(ids)}", body["nextRecordsUrl"])
        reply = await large.call("GET", body["nextRecordsUrl"], headers=hint)
    assert sizes == [500, 500, 200]
    assert len(ids) == len(set(ids)) == len(large_world.opportunities)
    assert set(ids) == {o.sf_id for o in large_world.opportunities}


async def test_batch_size_defaults_to_2000_and_is_clamped_to_200(large: Sf) -> None:
    body = (await large.soql("SELECT Id FROM Opportunity")).body
    assert (len(body["records"]), body["done"]) == (1200, True)
    small = (
        await large.soql("SELECT Id FROM Opportunity", headers={"Sforce-Query-Options": "batchSize=5"})
    ).body
    assert (len(small["records"]), small["done"]) == (200, False)


async def test_unknown_query_locator(sf: Sf) -> None:
    reply = await sf.call("GET", f"{API}/query/01g5g0000000zzzAAA-200")
    assert reply.status == 400
    assert error(reply)["errorCode"] == "INVALID_QUERY_LOCATOR"


async def test_record_shape_and_relationship_nesting(sf: Sf, world: World) -> None:
    opp = world.opportunities[0]
    client = next(c for c in world.clients if c.sf_id == opp.account_id)
    q = (
        "SELECT Id, Name, Amount, IsWon, CloseDate, Account.Name, Account.Region__c FROM Opportunity "
        f"WHERE Id = '{opp.sf_id}'"
    )
    body = (await sf.soql(q)).body
    assert body == {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {"type": "Opportunity", "url": f"{API}/sobjects/Opportunity/{opp.sf_id}"},
                "Id": opp.sf_id,
                "Name": opp.name,
                "Amount": float(opp.amount),
                "IsWon": opp.is_won,
                "CloseDate": opp.close_date.isoformat(),
                "Account": {
                    "attributes": {"type": "Account", "url": f"{API}/sobjects/Account/{client.sf_id}"},
                    "Name": client.name,
                    "Region__c": client.region,
                },
            }
        ],
    }
    assert isinstance(body["records"][0]["IsWon"], bool)


async def test_where_with_date_literal_matches_the_world(sf: Sf, world: World) -> None:
    q = "SELECT Id FROM Opportunity WHERE CloseDate >= 2026-11-20 AND CloseDate < 2030-01-01"
    ids = {r["Id"] for r in (await sf.soql(q)).body["records"]}
    expected = {o.sf_id for o in world.opportunities if date(2026, 11, 20) <= o.close_date < date(2030, 1, 1)}
    assert ids == expected and 0 < len(expected) < len(world.opportunities)


async def test_where_with_datetime_literal_and_order_limit_offset(sf: Sf, world: World) -> None:
    cut = datetime(2026, 1, 1, tzinfo=UTC)
    q = "SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp < 2026-01-01T00:00:00Z ORDER BY Id"
    records = (await sf.soql(q)).body["records"]
    assert [r["Id"] for r in records] == sorted(c.sf_id for c in world.clients if c.modified_at < cut)
    by_id = {c.sf_id: c for c in world.clients}
    assert all(r["SystemModstamp"] == sf_stamp(by_id[r["Id"]].modified_at) for r in records)
    page = (await sf.soql("SELECT Id FROM Account ORDER BY Id LIMIT 5 OFFSET 3")).body
    assert [r["Id"] for r in page["records"]] == sorted(c.sf_id for c in world.clients)[3:8]
    assert page["totalSize"] == 5


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Opportunity WHERE", "MALFORMED_QUERY"),
        ("SELECT Id, Bogus__c FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Contract", "INVALID_TYPE"),
        ("SELECT Id FROM Account WHERE Name = 'x' OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
    ],
)
async def test_bad_soql_gives_400_error_array(sf: Sf, soql: str, code: str) -> None:
    reply = await sf.soql(soql)
    assert reply.status == 400
    err = error(reply)
    assert err["errorCode"] == code and err["message"] and err["fields"] == []


# -- reads by id ---------------------------------------------------------------------------------


async def test_composite_read_in_request_order_with_nulls(sf: Sf, world: World) -> None:
    a, b = world.clients[3], world.clients[4]
    ids = [a.sf_id, salesforce_id("001", 99_999), b.sf_id[:15], "not-an-id", world.opportunities[0].sf_id]
    expected = [
        {
            "attributes": {"type": "Account", "url": f"{API}/sobjects/Account/{a.sf_id}"},
            "Id": a.sf_id,
            "Name": a.name,
            "CurrencyIsoCode": a.currency,
        },
        None,
        {
            "attributes": {"type": "Account", "url": f"{API}/sobjects/Account/{b.sf_id}"},
            "Id": b.sf_id,
            "Name": b.name,
            "CurrencyIsoCode": b.currency,
        },
        None,
        None,
    ]
    got = await sf.call(
        "GET",
        "composite/sobjects/Account",
        params={"ids": ",".join(ids), "fields": "Id,Name,CurrencyIsoCode"},
    )
    assert (got.status, got.body) == (200, expected)
    posted = await sf.call(
        "POST", "composite/sobjects/Account", json={"ids": ids, "fields": ["Id", "name", "CurrencyIsoCode"]}
    )
    assert (posted.status, posted.body) == (200, expected)


async def test_composite_read_rejects_bad_fields_and_too_many_ids(sf: Sf, world: World) -> None:
    bad = await sf.call(
        "POST", "composite/sobjects/Account", json={"ids": [world.clients[0].sf_id], "fields": ["Nope"]}
    )
    assert (bad.status, error(bad)["errorCode"]) == (400, "INVALID_FIELD")
    ids = [salesforce_id("001", n) for n in range(2001)]
    many = await sf.call("POST", "composite/sobjects/Account", json={"ids": ids, "fields": ["Id"]})
    assert (many.status, error(many)["errorCode"]) == (400, "EXCEEDED_ID_LIMIT")


async def test_get_one_record_and_not_found(sf: Sf, world: World) -> None:
    opp = world.opportunities[1]
    reply = await sf.call(
        "GET", f"sobjects/Opportunity/{opp.sf_id}", params={"fields": "StageName,Probability"}
    )
    assert reply.body == {
        "attributes": {"type": "Opportunity", "url": f"{API}/sobjects/Opportunity/{opp.sf_id}"},
        "StageName": opp.stage,
        "Probability": float(opp.probability),
    }
    full = (await sf.call("GET", f"sobjects/Opportunity/{opp.sf_id}")).body
    assert full["Billing_Model__c"] in ("Time and Materials", "Fixed Fee", "Capped")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", full["SystemModstamp"])
    missing = await sf.call("GET", f"sobjects/Opportunity/{salesforce_id('006', 99_999)}")
    assert missing.status == 404
    assert missing.body == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist", "fields": []}
    ]
    assert (await sf.call("GET", f"sobjects/Widget/{opp.sf_id}")).status == 404


# -- limits and stats ----------------------------------------------------------------------------


async def test_rate_limit_is_403_request_limit_exceeded(sf: Sf) -> None:
    assert re.fullmatch(
        r"api-usage=\d+/5000", (await sf.soql("SELECT Id FROM Account LIMIT 1")).headers["Sforce-Limit-Info"]
    )
    await sf.admin("PUT", "faults", {"rate_limit": 2, "rate_window_s": 60})
    try:
        replies = [await sf.soql("SELECT Id FROM Account LIMIT 1") for _ in range(3)]
        assert [r.status for r in replies] == [200, 200, 403]
        assert [r.headers["Sforce-Limit-Info"] for r in replies] == [
            "api-usage=1/2",
            "api-usage=2/2",
            "api-usage=3/2",
        ]
        assert error(replies[2]) == {
            "message": "TotalRequests Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
            "fields": [],
        }
    finally:
        await sf.admin("PUT", "faults", DEFAULT_FAULTS)


async def test_outage_uses_the_error_array(sf: Sf) -> None:
    await sf.admin("PUT", "faults", {"outage": True})
    try:
        reply = await sf.soql("SELECT Id FROM Account")
        assert reply.status == 503
        assert error(reply)["errorCode"] == "SERVICE_UNAVAILABLE"
    finally:
        await sf.admin("PUT", "faults", DEFAULT_FAULTS)


async def test_stats_count_each_route(sf: Sf, world: World) -> None:
    query_route, read_route = f"GET {API}/query", f"POST {API}/composite/sobjects/{{sobject}}"
    before = (await sf.route_count(query_route), await sf.route_count(read_route))
    for _ in range(3):
        await sf.soql("SELECT Id FROM Account LIMIT 1")
    await sf.call(
        "POST", "composite/sobjects/Account", json={"ids": [world.clients[0].sf_id], "fields": ["Id"]}
    )
    after = (await sf.route_count(query_route), await sf.route_count(read_route))
    assert (after[0] - before[0], after[1] - before[1]) == (3, 1)


# -- writes (each test resets the simulator when done) ---------------------------------------------


async def test_create_read_update_and_poll_by_systemmodstamp(sf: Sf, world: World) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    literal = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        created = await sf.call(
            "POST", "sobjects/Account", json={"Name": "Polling Test Ltd", "Region__c": "EMEA"}
        )
        assert created.status == 201
        new_id = created.body["id"]
        assert created.body == {"id": new_id, "success": True, "errors": []}
        assert re.fullmatch(r"0015g0[A-Za-z0-9]{12}", new_id)
        assert new_id not in {c.sf_id for c in world.clients}

        record = (await sf.call("GET", f"sobjects/Account/{new_id}")).body
        assert (record["Name"], record["Region__c"], record["CurrencyIsoCode"]) == (
            "Polling Test Ltd",
            "EMEA",
            "USD",
        )
        polled = (await sf.soql(f"SELECT Id, Name FROM Account WHERE SystemModstamp > {literal}")).body
        assert [r["Id"] for r in polled["records"]] == [new_id]

        target = world.clients[0]
        patched = await sf.call("PATCH", f"sobjects/Account/{target.sf_id}", json={"Industry": "Media"})
        assert (patched.status, patched.body) == (204, None)
        polled = (
            await sf.soql(f"SELECT Id, Industry FROM Account WHERE SystemModstamp > {literal} ORDER BY Id")
        ).body
        assert {r["Id"]: r["Industry"] for r in polled["records"]} == {new_id: None, target.sf_id: "Media"}

        orphan = await sf.call(
            "POST",
            "sobjects/Opportunity",
            json={"Name": "No account", "StageName": "Proposal", "CloseDate": "2031-01-31"},
        )
        orphan_id = orphan.body["id"]
        rel = await sf.soql(
            f"SELECT Id, IsClosed, Probability, Account.Name FROM Opportunity WHERE Id = '{orphan_id}'"
        )
        assert rel.body["records"][0]["Account"] is None
        assert (rel.body["records"][0]["IsClosed"], rel.body["records"][0]["Probability"]) == (False, 50.0)
    finally:
        await sf.admin("POST", "reset")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"Name": "x", "Bogus__c": 1}, 400, "INVALID_FIELD"),
        ({"Name": "x", "IsWon": True}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Name": "x", "Billing_Model__c": "Retainer"}, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"Name": "x", "Amount": "lots"}, 400, "JSON_PARSER_ERROR"),
        ({"Name": "x", "AccountId": "001000000000000AAA"}, 400, "INVALID_CROSS_REFERENCE_KEY"),
        ({"Name": "x", "CloseDate": "2031-01-31"}, 400, "REQUIRED_FIELD_MISSING"),
    ],
)
async def test_invalid_writes_are_rejected(sf: Sf, body: dict[str, Any], status: int, code: str) -> None:
    full = {"StageName": "Proposal", "CloseDate": "2031-01-31", **body}
    if code == "REQUIRED_FIELD_MISSING":
        full.pop("StageName")
    reply = await sf.call("POST", "sobjects/Opportunity", json=full)
    assert (reply.status, error(reply)["errorCode"]) == (status, code)


async def test_upsert_by_external_id_201_then_200_then_300(sf: Sf, world: World) -> None:
    account = world.clients[2].sf_id
    fields = {"Name": "Upserted", "AccountId": account, "StageName": "Closed Won", "CloseDate": "2031-02-01"}
    try:
        first = await sf.call("PATCH", "sobjects/Opportunity/Engagement_Code__c/ENG-T001", json=fields)
        assert first.status == 201
        new_id = first.body["id"]
        assert first.body == {"id": new_id, "success": True, "errors": [], "created": True}
        again = await sf.call(
            "PATCH", "sobjects/Opportunity/Engagement_Code__c/eng-t001", json={"Amount": 1234.5}
        )
        assert (again.status, again.body) == (
            200,
            {"id": new_id, "success": True, "errors": [], "created": False},
        )
        record = (await sf.call("GET", f"sobjects/Opportunity/{new_id}")).body
        assert (record["Engagement_Code__c"], record["Amount"], record["IsWon"], record["Probability"]) == (
            "ENG-T001",
            1234.5,
            True,
            100.0,
        )
        in_body = await sf.call(
            "PATCH", "sobjects/Opportunity/Engagement_Code__c/ENG-T001", json={"Engagement_Code__c": "X"}
        )
        assert in_body.status == 400
        bad_field = await sf.call("PATCH", "sobjects/Opportunity/Name/Upserted", json={})
        assert (bad_field.status, error(bad_field)["errorCode"]) == (404, "NOT_FOUND")

        twin = await sf.call(
            "POST", "sobjects/Opportunity", json={**fields, "Engagement_Code__c": "ENG-T001"}
        )
        clash = await sf.call("PATCH", "sobjects/Opportunity/Engagement_Code__c/ENG-T001", json={"Amount": 1})
        assert clash.status == 300
        assert clash.body == [
            f"{API}/sobjects/Opportunity/{new_id}",
            f"{API}/sobjects/Opportunity/{twin.body['id']}",
        ]
    finally:
        await sf.admin("POST", "reset")


async def test_collections_create_and_update_with_all_or_none(sf: Sf, world: World) -> None:
    count_q = "SELECT Id FROM Account"
    try:
        records = [
            {"attributes": {"type": "Account"}, "Name": "Coll One"},
            {"attributes": {"type": "Account"}, "Region__c": "APAC"},
        ]
        partial = await sf.call("POST", "composite/sobjects", json={"allOrNone": False, "records": records})
        assert partial.status == 200
        assert partial.body[0]["success"] is True
        assert partial.body[1] == {
            "success": False,
            "errors": [
                {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "Required fields are missing: [Name]",
                    "fields": ["Name"],
                }
            ],
        }
        assert (await sf.soql(count_q)).body["totalSize"] == len(world.clients) + 1

        atomic = await sf.call("POST", "composite/sobjects", json={"allOrNone": True, "records": records})
        assert [r["errors"][0]["statusCode"] for r in atomic.body] == [
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "REQUIRED_FIELD_MISSING",
        ]
        assert (await sf.soql(count_q)).body["totalSize"] == len(world.clients) + 1

        a, b = world.clients[5], world.clients[6]
        updates = [
            {"attributes": {"type": "Account"}, "id": a.sf_id, "Industry": "Retail"},
            {"attributes": {"type": "Account"}, "id": b.sf_id, "Industry": "Media"},
        ]
        patched = await sf.call("PATCH", "composite/sobjects", json={"allOrNone": True, "records": updates})
        assert patched.body == [
            {"id": a.sf_id, "success": True, "errors": []},
            {"id": b.sf_id, "success": True, "errors": []},
        ]
        read = await sf.call(
            "POST", "composite/sobjects/Account", json={"ids": [a.sf_id, b.sf_id], "fields": ["Industry"]}
        )
        assert [r["Industry"] for r in read.body] == ["Retail", "Media"]
        too_many = await sf.call("POST", "composite/sobjects", json={"records": [records[0]] * 201})
        assert (too_many.status, error(too_many)["errorCode"]) == (400, "EXCEEDED_ID_LIMIT")
    finally:
        await sf.admin("POST", "reset")


async def test_close_opportunity_won_event(sf: Sf, world: World) -> None:
    opp = next(o for o in world.opportunities if not o.is_closed)
    try:
        done = await sf.admin("POST", "events", {"type": "close_opportunity_won", "id": opp.sf_id})
        assert done == {"type": "close_opportunity_won", "id": opp.sf_id}
        fields = "StageName, IsClosed, IsWon, Probability, SystemModstamp"
        q = f"SELECT {fields} FROM Opportunity WHERE Id = '{opp.sf_id}'"
        record = (await sf.soql(q)).body["records"][0]
        assert (record["StageName"], record["IsClosed"], record["IsWon"], record["Probability"]) == (
            "Closed Won",
            True,
            True,
            100.0,
        )
        assert record["SystemModstamp"] > sf_stamp(datetime.now(UTC) - timedelta(minutes=1))
        async with sf.http.post(f"{sf.url}/_sim/events", json={"type": "merge_accounts"}) as resp:
            assert resp.status == 400
        async with sf.http.post(
            f"{sf.url}/_sim/events", json={"type": "close_opportunity_won", "id": "x"}
        ) as resp:
            assert resp.status == 400
    finally:
        await sf.admin("POST", "reset")


async def test_reset_restores_the_world(sf: Sf, world: World) -> None:
    target = world.clients[7]
    await sf.admin(
        "POST", "events", {"type": "update_account", "id": target.sf_id, "fields": {"Name": "Renamed"}}
    )
    created = (await sf.call("POST", "sobjects/Account", json={"Name": "Temporary"})).body["id"]
    assert (await sf.call("GET", f"sobjects/Account/{target.sf_id}")).body["Name"] == "Renamed"
    assert await sf.admin("POST", "reset") == {"reset": True}
    assert (await sf.call("GET", f"sobjects/Account/{target.sf_id}")).body["Name"] == target.name
    assert (await sf.call("GET", f"sobjects/Account/{created}")).status == 404
    assert (await sf.soql("SELECT Id FROM Account")).body["totalSize"] == len(world.clients)
