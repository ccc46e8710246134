"""Workday simulator contract: RaaS, token and REST wire details over a real socket, against the world."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from conformance.serving import SimServer
from workday_sim import serve_workday

from simulators.workday.simulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISU_PASSWORD,
    ISU_USER,
    REFRESH_TOKEN,
    REPORTS_PATH,
    REST_PATH,
    TOKEN_PATH,
)
from simulators.world import World


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


ISU = basic(ISU_USER, ISU_PASSWORD)
WORKERS = f"{REPORTS_PATH}/{ISU_USER}/OpsGraph_Workers"
TIME_OFF = f"{REPORTS_PATH}/{ISU_USER}/OpsGraph_Time_Off"


@pytest.fixture(scope="module")
def sim(world: World) -> Iterator[SimServer]:
    yield from serve_workday(world)


@pytest.fixture
async def http(sim: SimServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sim.url) as session:
        yield session


async def call(http: aiohttp.ClientSession, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.get(path, **kwargs) as resp:
        return resp.status, await resp.json()


async def bearer(http: aiohttp.ClientSession) -> dict[str, str]:
    form = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}
    async with http.post(TOKEN_PATH, data=form, headers=basic(CLIENT_ID, CLIENT_SECRET)) as resp:
        body = await resp.json()
        assert resp.status == 200 and body["token_type"] == "Bearer", body
        return {"Authorization": f"Bearer {body['access_token']}"}


async def test_workers_report_is_raas_json(http: aiohttp.ClientSession, world: World) -> None:
    status, body = await call(http, WORKERS, params={"format": "json"}, headers=ISU)
    assert status == 200 and list(body) == ["Report_Entry"]
    rows = {r["Employee_ID"]: r for r in body["Report_Entry"]}
    employees = [p for p in world.people if p.bamboo_id is not None]
    assert list(rows) == [p.bamboo_id for p in employees]
    partner = next(p for p in employees if p.supervisor is None)
    row = rows[str(partner.bamboo_id)]
    assert "Manager_Employee_ID" not in row  # an empty field is left out of the row
    assert row["Worker"] == partner.name and row["Email_-_Primary_Work"] == partner.email
    assert row["Hire_Date"] == f"{partner.hire_date.isoformat()}-08:00"
    assert row["Hourly_Cost_Rate"] == f"{partner.cost_rate:.2f}" and row["Active_Status"] == "1"
    assert row["Last_Updated"].endswith("-08:00") and "." in row["Last_Updated"]
    assert all(isinstance(v, str) for r in rows.values() for v in r.values())


async def test_prompts_filter_and_bad_ones_are_400s(http: aiohttp.ClientSession, world: World) -> None:
    person = next(t.person for t in world.time_off if t.person.bamboo_id is not None)
    prompts = {"Start_Date": "2025-01-01", "End_Date": "2027-12-31", "Worker!Employee_ID": person.bamboo_id}
    status, body = await call(http, TIME_OFF, params=prompts, headers=ISU)
    want = sorted(str(t.id) for t in world.time_off if t.person is person)
    assert status == 200 and sorted(r["Request_ID"] for r in body["Report_Entry"]) == want
    statuses = {r["Status"] for r in body["Report_Entry"]}
    assert statuses <= {"Approved", "Submitted"}
    for params, message in [
        ({"End_Date": "2026-01-01"}, "Missing required prompt 'Start_Date'"),
        ({**prompts, "Status": "approved"}, "Invalid value for prompt 'Status'"),
        ({**prompts, "Region": "EMEA"}, "no prompt 'Region'"),
        ({**prompts, "Start_Date": "yesterday"}, "Invalid date"),
        ({**prompts, "format": "csv"}, "format=json only"),
    ]:
        status, body = await call(http, TIME_OFF, params=params, headers=ISU)
        assert status == 400 and message in body["error"] and body["errors"][0]["error"] == body["error"]
    status, body = await call(http, WORKERS, params={"Updated_Since": "2999-12-31"}, headers=ISU)
    assert (status, body) == (200, {"Report_Entry": []})


async def test_auth_failures(http: aiohttp.ClientSession) -> None:
    status, body = await call(http, WORKERS, headers=basic(ISU_USER, "wrong"))
    assert status == 401 and body["error"]
    assert (await call(http, WORKERS, headers=basic(f"{ISU_USER}@opsgraph_firm", ISU_PASSWORD)))[0] == 200
    status, _ = await call(http, WORKERS, headers={"Authorization": "Bearer nope"})
    assert status == 401
    form = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}
    async with http.post(TOKEN_PATH, data=form, headers=basic(CLIENT_ID, "wrong")) as resp:
        assert (resp.status, await resp.json()) == (401, {"error": "invalid_client"})
    form = {"grant_type": "refresh_token", "refresh_token": "stale"}
    async with http.post(TOKEN_PATH, data=form, headers=basic(CLIENT_ID, CLIENT_SECRET)) as resp:
        assert (resp.status, await resp.json()) == (400, {"error": "invalid_grant"})
    status, _ = await call(http, f"{REPORTS_PATH}/{ISU_USER}/Payroll_Audit", headers=ISU)
    assert status == 404


async def test_rest_workers_page_by_limit_and_offset(http: aiohttp.ClientSession, world: World) -> None:
    assert (await call(http, f"{REST_PATH}/workers", headers=ISU))[0] == 401  # REST takes a bearer only
    headers = await bearer(http)
    status, first = await call(http, f"{REST_PATH}/workers", headers=headers)
    employees = [p for p in world.people if p.bamboo_id is not None]
    assert status == 200 and first["total"] == len(employees) and len(first["data"]) == 20
    seen: list[str] = []
    for offset in range(0, first["total"], 100):
        params = {"limit": "100", "offset": str(offset)}
        seen += [
            w["workerId"]
            for w in (await call(http, f"{REST_PATH}/workers", params=params, headers=headers))[1]["data"]
        ]
    assert seen == [p.bamboo_id for p in employees]
    assert (await call(http, f"{REST_PATH}/workers", params={"limit": "101"}, headers=headers))[0] == 400
    one = first["data"][0]
    assert len(one["id"]) == 32 and one["descriptor"] == employees[0].name
    status, worker = await call(http, f"{REST_PATH}/workers/{one['id']}", headers=headers)
    assert status == 200 and worker == one
    assert (await call(http, f"{REST_PATH}/workers/{'0' * 32}", headers=headers))[0] == 404
