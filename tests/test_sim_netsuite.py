"""NetSuite simulator contract: SuiteTalk REST + SuiteQL over a real socket, checked against the world."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from simulators.simkit.serve import RunningSimulator, SimulatorGroup
from simulators.world import World

DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}
SUITEQL = "POST /services/rest/query/v1/suiteql"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running["netsuite"]


@pytest.fixture
def api(sim: RunningSimulator) -> str:
    return sim.url + sim.info.api_path


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assertion(sim: RunningSimulator, *, secret: str | None = None, aud: str | None = None) -> str:
    """A client-credentials JWT assertion signed HS256 with the client secret (the simulator's stand-in)."""
    c, now = sim.info.credentials, int(time.time())
    header = b64url(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "cert-1"}).encode())
    claims = {
        "iss": c["client_id"],
        "scope": ["restlets", "rest_webservices"],
        "aud": aud or f"{sim.url}/services/rest/auth/oauth2/v1/token",
        "iat": now,
        "exp": now + 300,
    }
    body = b64url(json.dumps(claims).encode())
    key = (secret or c["client_secret"]).encode()
    return f"{header}.{body}.{b64url(hmac.new(key, f'{header}.{body}'.encode(), hashlib.sha256).digest())}"


async def token_response(http: aiohttp.ClientSession, api: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{api}/auth/oauth2/v1/token", **kw) as resp:
        return resp.status, await resp.json(content_type=None)


@pytest.fixture
async def auth(http: aiohttp.ClientSession, api: str, sim: RunningSimulator) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion(sim),
    }
    status, body = await token_response(http, api, data=form)
    assert status == 200, body
    return {"Authorization": f"Bearer {body['access_token']}"}


async def call(
    http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], **kw: Any
) -> tuple[int, Any, Any]:
    async with http.request(method, url, headers=headers, **kw) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None, resp.headers


async def suiteql(
    http: aiohttp.ClientSession, api: str, auth: dict[str, str], q: str, limit: int = 1000, offset: int = 0
) -> tuple[int, Any]:
    status, body, _ = await call(
        http,
        "POST",
        f"{api}/query/v1/suiteql",
        {**auth, "Prefer": "transient"},
        params={"limit": str(limit), "offset": str(offset)},
        json={"q": q},
    )
    return status, body


async def stats(http: aiohttp.ClientSession, sim: RunningSimulator) -> dict[str, Any]:
    async with http.get(f"{sim.url}/_sim/stats") as resp:
        body: dict[str, Any] = await resp.json()
        return body


async def reset(http: aiohttp.ClientSession, sim: RunningSimulator) -> None:
    async with http.post(f"{sim.url}/_sim/reset") as resp:
        assert resp.status == 200


async def event(http: aiohttp.ClientSession, sim: RunningSimulator, body: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(f"{sim.url}/_sim/events", json=body) as resp:
        return resp.status, await resp.json()


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"type", "title", "status", "o:errorDetails"}, body
    assert body["type"].startswith("https://www.rfc-editor.org/rfc/")
    (detail,) = body["o:errorDetails"]
    return dict(detail)


# -- auth --------------------------------------------------------------------------------------------


async def test_token_by_jwt_assertion_and_basic(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator
) -> None:
    c = sim.info.credentials
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion(sim),
    }
    status, body = await token_response(http, api, data=form)
    assert status == 200
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["expires_in"] == "3600" and body["token_type"] == "bearer"

    basic = {"Authorization": aiohttp.encode_basic_auth(c["client_id"], c["client_secret"])}
    status, body = await token_response(http, api, data={"grant_type": "client_credentials"}, headers=basic)
    assert status == 200 and len(body["access_token"]) >= 32

    bad_jwt = {**form, "client_assertion": assertion(sim, secret="wrong")}
    assert await token_response(http, api, data=bad_jwt) == (
        400,
        {"error": "invalid_client", "error_description": "invalid client or signature"},
    )
    wrong_aud = {**form, "client_assertion": assertion(sim, aud="https://elsewhere.example/token")}
    assert (await token_response(http, api, data=wrong_aud))[0] == 400
    bad_basic = {"Authorization": aiohttp.encode_basic_auth(c["client_id"], "nope")}
    status, body = await token_response(
        http, api, data={"grant_type": "client_credentials"}, headers=bad_basic
    )
    assert (status, body["error"]) == (401, "invalid_client")
    status, body = await token_response(http, api, data={"grant_type": "password"}, headers=basic)
    assert (status, body["error"]) == (400, "unsupported_grant_type")


async def test_missing_or_revoked_token_is_401_invalid_login(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, auth: dict[str, str]
) -> None:
    url = f"{api}/record/v1/customer/2000"
    status, body, headers = await call(http, "GET", url, {"Authorization": "Bearer not-a-token"})
    assert status == 401
    assert error_of(body)["o:errorCode"] == "INVALID_LOGIN"
    assert body["title"] == "Unauthorized"
    assert 'error="invalid_token"' in headers["WWW-Authenticate"]
    assert (await call(http, "GET", url, auth))[0] == 200

    status, revoked = await event(http, sim, {"type": "revoke_tokens"})
    assert status == 200 and revoked["type"] == "revoke_tokens" and revoked["revoked"] >= 1
    assert (await call(http, "GET", url, auth))[0] == 401


# -- REST records ------------------------------------------------------------------------------------


async def test_record_list_pages_ids_to_the_end(
    http: aiohttp.ClientSession, api: str, auth: dict[str, str], world: World
) -> None:
    url, ids, pages = f"{api}/record/v1/customer?limit=15&offset=0", [], 0
    while url:
        status, body, _ = await call(http, "GET", url, auth)
        assert status == 200
        assert body["totalResults"] == len(world.clients) == 40
        assert body["count"] == len(body["items"])
        assert all(set(i) == {"links", "id"} for i in body["items"])
        assert body["items"][0]["links"][0]["href"].endswith(f"/record/v1/customer/{body['items'][0]['id']}")
        ids += [i["id"] for i in body["items"]]
        pages += 1
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        assert body["hasMore"] == bool(nxt)
        url = nxt[0] if nxt else ""
    assert pages == 3
    assert ids == sorted(c.ns_customer_id for c in world.clients)

    status, body, _ = await call(http, "GET", f"{api}/record/v1/job?limit=1000", auth)
    assert body["totalResults"] == sum(1 for e in world.engagements if e.ns_job_id) == 99
    status, body, _ = await call(http, "GET", f"{api}/record/v1/job?limit=1001", auth)
    assert status == 400 and error_of(body)["o:errorCode"] == "INVALID_PARAMETER"


async def test_get_record_by_id_and_by_external_id(
    http: aiohttp.ClientSession, api: str, auth: dict[str, str], world: World
) -> None:
    client = world.clients[3]
    status, body, _ = await call(http, "GET", f"{api}/record/v1/customer/{client.ns_customer_id}", auth)
    assert status == 200
    assert body["id"] == client.ns_customer_id and body["companyName"] == client.name
    assert body["externalId"] == client.sf_id and body["custentity_legal_entity"] == client.legal_entity
    assert body["currency"]["refName"] == client.currency and body["isInactive"] is False
    assert body["lastModifiedDate"] == client.modified_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    eng = world.engagements[0]
    status, job, _ = await call(http, "GET", f"{api}/record/v1/job/eid:{eng.opportunity_id}", auth)
    assert status == 200
    assert (job["id"], job["entityId"], job["companyName"]) == (eng.ns_job_id, eng.code, eng.name)
    assert job["parent"]["id"] == eng.client.ns_customer_id and job["parent"]["refName"] == eng.client.name
    assert job["startDate"] == eng.start.isoformat() and job["projectedEndDate"] == eng.end.isoformat()
    assert job["custentity_contract_value"] == float(eng.contract_value)

    status, some, _ = await call(
        http, "GET", f"{api}/record/v1/job/{eng.ns_job_id}?fields=entityId,parent", auth
    )
    assert set(some) == {"links", "id", "entityId", "parent"}

    inv = world.invoices[0]
    status, body, _ = await call(
        http, "GET", f"{api}/record/v1/invoice/{inv.ns_id}?expandSubResources=true", auth
    )
    assert body["tranId"] == inv.number and body["total"] == float(inv.total)
    assert [i["amount"] for i in body["item"]["items"]] == [float(ln.amount) for ln in inv.lines]

    status, body, _ = await call(http, "GET", f"{api}/record/v1/customer/999999", auth)
    assert status == 404
    assert body["title"] == "Not Found" and error_of(body)["o:errorCode"] == "NONEXISTENT_ID"


# -- SuiteQL -----------------------------------------------------------------------------------------


async def test_suiteql_in_list_returns_only_existing_rows_as_strings(
    http: aiohttp.ClientSession, api: str, auth: dict[str, str], world: World
) -> None:
    a, b = world.engagements[0], world.engagements[1]
    q = (
        "SELECT id, entityid, companyname, isinactive, custentity_contract_value, startdate FROM job "
        f"WHERE id IN ({a.ns_job_id}, {b.ns_job_id}, 123456)"
    )
    status, body = await suiteql(http, api, auth, q)
    assert status == 200
    assert (body["count"], body["totalResults"], body["hasMore"], body["offset"]) == (2, 2, False, 0)
    rows = {r["id"]: r for r in body["items"]}
    assert set(rows) == {a.ns_job_id, b.ns_job_id}
    row = rows[a.ns_job_id]
    assert row == {
        "links": [],
        "id": a.ns_job_id,
        "entityid": a.code,
        "companyname": a.name,
        "isinactive": "F",
        "custentity_contract_value": str(int(a.contract_value)),
        "startdate": a.start.isoformat(),
    }


async def test_suiteql_sums_per_group_as_strings_named_by_alias(
    http: aiohttp.ClientSession, api: str, auth: dict[str, str], world: World
) -> None:
    q = (
        "SELECT entity, SUM(foreigntotal) AS total, COUNT(id), MAX(trandate) AS latest FROM transaction "
        "WHERE type = 'CustInvc' GROUP BY entity ORDER BY entity"
    )
    status, body = await suiteql(http, api, auth, q)
    assert status == 200, body
    want: dict[str, tuple[Decimal, int, str]] = {}
    for i in world.invoices:
        total, count, latest = want.get(i.client.ns_customer_id, (Decimal(0), 0, ""))
        amount = Decimal(str(i.total)).quantize(Decimal("0.01"))
        want[i.client.ns_customer_id] = (total + amount, count + 1, max(latest, i.issue_date.isoformat()))
    assert body["totalResults"] == len(want)
    got = {r["entity"]: (Decimal(r["total"]), int(r["expr1"]), r["latest"]) for r in body["items"]}
    assert got == want
    assert all(isinstance(v, str) for r in body["items"] for k, v in r.items() if k != "links")
    status, body = await suiteql(http, api, auth, "SELECT SUM(tranid) FROM transaction")
    assert status == 400 and "ORA-01722" in error_of(body)["detail"]


async def test_suiteql_pages_with_has_more_and_offset(
    http: aiohttp.ClientSession, api: str, auth: dict[str, str], world: World
) -> None:
    seen: list[str] = []
    for offset, count, more in ((0, 15, True), (15, 15, True), (30, 10, False)):
        status, body = await suiteql(http, api, auth, "SELECT id FROM customer ORDER BY id", 15, offset)
        assert status == 200
        assert (body["offset"], body["count"], body["hasMore"], body["totalResults"]) == (
            offset,
            count,
            more,
            40,
        )
        assert any(link["rel"] == "next" for link in body["links"]) is more
        seen += [r["id"] for r in body["items"]]
    assert seen == sorted(c.ns_customer_id for c in world.clients)


async def test_suiteql_errors(http: aiohttp.ClientSession, api: str, auth: dict[str, str]) -> None:
    status, body, _ = await call(
        http, "POST", f"{api}/query/v1/suiteql", auth, json={"q": "SELECT id FROM customer"}
    )
    assert status == 400
    assert error_of(body) == {
        "detail": "The request header Prefer must be set to 'transient'.",
        "o:errorCode": "INVALID_HEADER",
        "o:errorHeader": "Prefer",
    }
    for q, fragment in (
        ("SELECT nosuchcolumn FROM customer", "Field 'nosuchcolumn' for record 'customer' was not found"),
        ("SELECT id FROM nosuchtable", "Record 'nosuchtable' was not found"),
        ("SELECT id FROM customer WHERE id IN (SELECT id FROM job)", "subquery is not supported"),
        ("SELEC id FROM customer", "Invalid search query"),
    ):
        status, body = await suiteql(http, api, auth, q)
        assert status == 400, q
        detail = error_of(body)
        assert detail["o:errorCode"] == "INVALID_PARAMETER" and fragment in detail["detail"], detail
    status, body = await suiteql(http, api, auth, "SELECT id FROM customer", limit=1001)
    assert status == 400 and error_of(body)["o:errorCode"] == "INVALID_PARAMETER"
    in_list = ", ".join(str(n) for n in range(1, 1001))
    status, body = await suiteql(http, api, auth, f"SELECT id FROM customer WHERE id IN ({in_list})")
    assert (status, body["totalResults"]) == (200, 0)
    status, body = await suiteql(http, api, auth, f"SELECT id FROM customer WHERE id IN ({in_list}, 2000)")
    assert status == 400 and "maximum number of expressions in a list is 1000" in error_of(body)["detail"]


async def test_rate_limit_is_429_concurrency_limit_exceeded(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, auth: dict[str, str]
) -> None:
    try:
        async with http.put(f"{sim.url}/_sim/faults", json={"rate_limit": 1, "rate_window_s": 60}) as resp:
            assert resp.status == 200
        assert (await call(http, "GET", f"{api}/record/v1/customer/2000", auth))[0] == 200
        status, body, headers = await call(http, "GET", f"{api}/record/v1/customer/2000", auth)
        assert status == 429
        assert body["title"] == "Too Many Requests" and body["status"] == 429
        assert error_of(body) == {
            "detail": "Concurrent request limit exceeded. Request blocked.",
            "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED",
        }
        assert "Retry-After" not in headers
    finally:
        async with http.put(f"{sim.url}/_sim/faults", json={**DEFAULT_FAULTS, "rate_window_s": 15}) as resp:
            assert resp.status == 200


# -- writes ------------------------------------------------------------------------------------------


async def test_create_answers_204_location_then_read_and_change_poll(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, auth: dict[str, str], world: World
) -> None:
    try:
        body = {"entityId": "ENG-NS-T1", "companyName": "Contract test job", "parent": {"id": "2000"},
                "custentity_billing_model": "Fixed Fee", "startDate": "2026-12-01"}  # fmt: skip
        status, payload, headers = await call(http, "POST", f"{api}/record/v1/job", auth, json=body)
        assert (status, payload) == (204, None)
        new_id = headers["Location"].rsplit("/", 1)[1]
        assert headers["Location"] == f"{api}/record/v1/job/{new_id}"
        assert int(new_id) == max(int(e.ns_job_id) for e in world.engagements if e.ns_job_id) + 1

        status, job, _ = await call(http, "GET", headers["Location"], auth)
        assert (job["entityId"], job["parent"]["refName"], job["isInactive"]) == (
            "ENG-NS-T1",
            "Acme Holdings",
            False,
        )
        assert job["currency"]["refName"] == world.clients[0].currency  # defaulted from the customer
        created = job["lastModifiedDate"]

        today = created[:10]
        q = f"SELECT id, lastmodifieddate FROM job WHERE lastmodifieddate >= TO_DATE('{today}', 'YYYY-MM-DD')"
        status, res = await suiteql(http, api, auth, q)
        assert {"links": [], "id": new_id, "lastmodifieddate": created} in res["items"]

        status, _, _ = await call(http, "PATCH", headers["Location"], auth, json={"companyName": "Renamed"})
        assert status == 204
        _, job, _ = await call(http, "GET", headers["Location"], auth)
        assert job["companyName"] == "Renamed" and job["lastModifiedDate"] > created

        status, err, _ = await call(
            http, "POST", f"{api}/record/v1/job", auth, json={**body, "companyName": "Twin"}
        )
        assert status == 400 and error_of(err)["o:errorCode"] == "USER_ERROR"  # entityId must be unique
        status, err, _ = await call(http, "POST", f"{api}/record/v1/job", auth, json={"companyName": "x"})
        assert status == 400 and "Please enter value(s) for: entityId, parent" in error_of(err)["detail"]
    finally:
        await reset(http, sim)


async def test_idempotency_key_replay_creates_nothing(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, auth: dict[str, str]
) -> None:
    try:
        headers = {**auth, "X-NetSuite-Idempotency-Key": "a7b1f0e2-0000-4000-8000-000000000001"}
        body = {"companyName": "Idempotent Co", "currency": {"id": "4"}}
        first = await call(http, "POST", f"{api}/record/v1/customer", headers, json=body)
        second = await call(http, "POST", f"{api}/record/v1/customer", headers, json=body)
        assert first[0] == second[0] == 204
        assert first[2]["Location"] == second[2]["Location"]
        _, listing, _ = await call(http, "GET", f"{api}/record/v1/customer", auth)
        assert listing["totalResults"] == 41
    finally:
        await reset(http, sim)


async def test_upsert_by_external_id_creates_then_updates(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, auth: dict[str, str]
) -> None:
    try:
        url = f"{api}/record/v1/customer/eid:001TESTUPSERT0001"
        s1, _, h1 = await call(http, "PUT", url, auth, json={"companyName": "Upsert Co"})
        s2, _, h2 = await call(http, "PUT", url, auth, json={"companyName": "Upsert Co 2"})
        assert s1 == s2 == 204 and h1["Location"] == h2["Location"]
        _, body, _ = await call(http, "GET", url, auth)
        assert (body["companyName"], body["externalId"]) == ("Upsert Co 2", "001TESTUPSERT0001")
    finally:
        await reset(http, sim)


async def test_postings_into_closed_periods_are_rejected(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, auth: dict[str, str], world: World
) -> None:
    closed = next(p for p in world.periods if p.closed)
    open_ = next(p for p in world.periods if not p.closed)
    person, eng = world.people[0], world.engagements[0]
    bill = {"employee": {"id": person.ns_employee_id}, "customer": {"id": eng.ns_job_id}, "hours": 7.5}
    try:
        status, body, _ = await call(
            http,
            "POST",
            f"{api}/record/v1/timeBill",
            auth,
            json={**bill, "tranDate": closed.start.isoformat()},
        )
        assert status == 400
        detail = error_of(body)
        assert detail["o:errorCode"] == "USER_ERROR" and detail["o:errorPath"] == "tranDate"
        assert f"accounting period {closed.name} is closed" in detail["detail"]
        invoice = {"entity": {"id": eng.client.ns_customer_id}, "tranDate": closed.end.isoformat(),
                   "item": {"items": [{"description": "x", "quantity": 1, "rate": 10}]}}  # fmt: skip
        status, body, _ = await call(http, "POST", f"{api}/record/v1/invoice", auth, json=invoice)
        assert status == 400 and closed.name in error_of(body)["detail"]

        status, _, headers = await call(
            http,
            "POST",
            f"{api}/record/v1/timeBill",
            auth,
            json={**bill, "tranDate": open_.start.isoformat()},
        )
        assert status == 204
        assert await event(http, sim, {"type": "close_period", "id": open_.id}) == (
            200,
            {"type": "close_period", "id": open_.id, "periodName": open_.name},
        )
        status, body, _ = await call(http, "PATCH", headers["Location"], auth, json={"hours": 8})
        assert status == 400 and open_.name in error_of(body)["detail"]
    finally:
        await reset(http, sim)


# -- drift, events, stats, reset ---------------------------------------------------------------------


async def test_drift_missing_and_inactive_jobs(
    http: aiohttp.ClientSession, api: str, auth: dict[str, str], world: World
) -> None:
    missing = next(e for e in world.engagements if e.code == world.drift.engagement_missing_in_erp)
    inactive = next(e for e in world.engagements if e.code == world.drift.engagement_inactive_in_erp)
    _, body = await suiteql(
        http,
        api,
        auth,
        f"SELECT entityid, isinactive FROM job WHERE entityid IN ('{missing.code}', '{inactive.code}')",
    )
    assert body["items"] == [{"links": [], "entityid": inactive.code, "isinactive": "T"}]
    assert (await call(http, "GET", f"{api}/record/v1/job/eid:{missing.opportunity_id}", auth))[0] == 404
    _, job, _ = await call(http, "GET", f"{api}/record/v1/job/{inactive.ns_job_id}", auth)
    assert job["isInactive"] is True
    bare = next(c for c in world.clients if c.sf_id == world.drift.client_without_legal_entity)
    _, rows = await suiteql(
        http, api, auth, f"SELECT id, custentity_legal_entity FROM customer WHERE externalid = '{bare.sf_id}'"
    )
    assert rows["items"] == [{"links": [], "id": bare.ns_customer_id}]  # empty columns are left out


async def test_pay_invoice_event_and_unknown_event(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, auth: dict[str, str], world: World
) -> None:
    inv = next(i for i in world.invoices if i.amount_due > 0)
    balance_q = f"SELECT balance FROM customer WHERE id = {inv.client.ns_customer_id}"
    try:
        _, before = await suiteql(http, api, auth, balance_q)
        status, body = await event(http, sim, {"type": "pay_invoice", "id": inv.ns_id})
        assert status == 200 and body["paid"] == float(inv.amount_due)
        _, rows = await suiteql(
            http, api, auth, f"SELECT status, foreignamountremaining FROM transaction WHERE id = {inv.ns_id}"
        )
        assert rows["items"] == [{"links": [], "status": "B", "foreignamountremaining": "0"}]
        _, after = await suiteql(http, api, auth, balance_q)
        paid = float(before["items"][0]["balance"]) - float(after["items"][0]["balance"])
        assert round(paid, 2) == float(inv.amount_due)
        assert (await event(http, sim, {"type": "nope"}))[0] == 400
        assert (await event(http, sim, {"type": "pay_invoice", "id": "1"}))[0] == 400
    finally:
        await reset(http, sim)


async def test_stats_count_each_route(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, auth: dict[str, str]
) -> None:
    before = (await stats(http, sim))["routes"]
    for _ in range(3):
        assert (await suiteql(http, api, auth, "SELECT id FROM accountingperiod"))[0] == 200
    await call(http, "GET", f"{api}/record/v1/employee/7000", auth)
    after = (await stats(http, sim))["routes"]
    assert after[SUITEQL]["count"] - before.get(SUITEQL, {}).get("count", 0) == 3
    item_route = "GET /services/rest/record/v1/{rtype}/{rid}"
    assert after[item_route]["count"] - before.get(item_route, {}).get("count", 0) == 1
    assert after[SUITEQL]["service_ms_max"] > 0


async def test_reset_rebuilds_from_the_world(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, auth: dict[str, str], world: World
) -> None:
    status, _, headers = await call(
        http, "POST", f"{api}/record/v1/customer", auth, json={"companyName": "Gone"}
    )
    assert status == 204
    assert (await call(http, "GET", headers["Location"], auth))[0] == 200
    await reset(http, sim)
    assert (await call(http, "GET", headers["Location"], auth))[0] == 404
    _, body = await suiteql(http, api, auth, "SELECT id FROM customer")
    assert body["totalResults"] == len(world.clients)
