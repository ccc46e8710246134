"""BambooHR simulator contract: the wire format over a real socket, checked against the world."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from simulators.bamboohr.simulator import sign_webhook
from simulators.simkit.serve import RunningSimulator, SimulatorGroup
from simulators.world import Person, World

ERROR = "X-BambooHR-Error-Message"
DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}


def _auth(key: str = "sim-bamboohr-key") -> dict[str, str]:
    token = base64.b64encode(f"{key}:x".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/json"}


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running["bamboohr"]


@pytest.fixture
def api(sim: RunningSimulator) -> str:
    return sim.url + sim.info.api_path


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def hr_people(world: World) -> list[Person]:
    return [p for p in world.people if p.bamboo_id is not None]


async def route_count(http: aiohttp.ClientSession, sim: RunningSimulator, route: str) -> int:
    async with http.get(f"{sim.url}/_sim/stats") as resp:
        stats = await resp.json()
    return int(stats["routes"].get(route, {}).get("count", 0))


async def get_json(http: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with http.get(url, params=params, headers=_auth()) as resp:
        assert resp.status == 200, resp.headers.get(ERROR)
        return await resp.json()


async def test_directory_lists_every_hr_person(http: aiohttp.ClientSession, api: str, world: World) -> None:
    body = await get_json(http, f"{api}/employees/directory")
    people = hr_people(world)
    assert len(body["employees"]) == len(people) == len(world.people) - 1
    assert [e["id"] for e in body["employees"]] == [p.bamboo_id for p in people]
    assert {f["id"] for f in body["fields"]} >= {"displayName", "workEmail", "jobTitle", "supervisor"}
    person = next(p for p in people if p.supervisor is not None)
    entry = next(e for e in body["employees"] if e["id"] == person.bamboo_id)
    assert person.supervisor is not None
    assert entry == {
        "id": person.bamboo_id,
        "displayName": person.name,
        "firstName": person.first,
        "lastName": person.last,
        "preferredName": None,
        "jobTitle": person.title,
        "workEmail": person.email,
        "department": person.department,
        "division": person.division,
        "location": person.location,
        "supervisor": person.supervisor.name,
        "photoUploaded": False,
        "photoUrl": None,
    }
    ghost = next(p for p in world.people if p.harvest_user_id == world.drift.person_missing_in_hr)
    assert ghost.email not in {e["workEmail"] for e in body["employees"]}


async def test_batch_by_ids_leaves_missing_ids_out(
    http: aiohttp.ClientSession, api: str, world: World
) -> None:
    people = hr_people(world)[:3]
    ids = ",".join([p.bamboo_id or "" for p in people] + ["99999"])
    body = await get_json(
        http, f"{api}/employees", **{"filter[ids]": ids, "fields": "workEmail,customCostRate"}
    )
    assert [r["employeeId"] for r in body["data"]] == [p.bamboo_id for p in people]
    assert body["data"][0] == {
        "employeeId": people[0].bamboo_id,
        "firstName": people[0].first,
        "lastName": people[0].last,
        "preferredName": None,
        "jobTitleName": people[0].title,
        "status": "Active",
        "workEmail": people[0].email,
        "customCostRate": f"{people[0].cost_rate:.2f}",
        "_restrictedFields": [],
    }
    assert body["meta"] == {"total": 3, "page": {"limit": 250, "nextCursor": None, "prevCursor": None}}


async def test_cursor_paging_to_the_end(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, world: World
) -> None:
    ids = [p.bamboo_id or "" for p in hr_people(world)]
    assert len(ids) == 149
    route = f"GET {sim.info.api_path}/employees"
    before = await route_count(http, sim, route)
    params = {"filter[ids]": ",".join(ids), "page[limit]": "50"}
    seen: list[str] = []
    sizes: list[int] = []
    while True:
        body = await get_json(http, f"{api}/employees", **params)
        sizes.append(len(body["data"]))
        seen.extend(r["employeeId"] for r in body["data"])
        assert body["meta"]["total"] == 149
        cursor = body["meta"]["page"]["nextCursor"]
        if cursor is None:
            assert "next" not in body["_links"]
            break
        assert body["_links"]["next"]["href"].endswith(f"page%5Bafter%5D={cursor}")
        params["page[after]"] = cursor
    assert sizes == [50, 50, 49]
    assert seen == sorted(ids, key=int)
    assert await route_count(http, sim, route) - before == 3


async def test_page_limit_over_the_maximum_is_rejected(http: aiohttp.ClientSession, api: str) -> None:
    async with http.get(f"{api}/employees", params={"page[limit]": "2501"}, headers=_auth()) as resp:
        assert resp.status == 400
        assert resp.headers[ERROR] == "page[limit] must be between 1 and 2500"
        assert await resp.read() == b""
    async with http.get(f"{api}/employees", params={"page[after]": "not-a-cursor"}, headers=_auth()) as resp:
        assert resp.status == 400


async def test_one_employee_with_fields(http: aiohttp.ClientSession, api: str, world: World) -> None:
    person = next(p for p in hr_people(world) if p.supervisor is not None)
    assert person.supervisor is not None
    fields = "firstName,lastName,jobTitle,supervisorEid,hireDate,payType,status,customCostRate,noSuchField"
    body = await get_json(http, f"{api}/employees/{person.bamboo_id}", fields=fields)
    assert body == {
        "id": person.bamboo_id,
        "firstName": person.first,
        "lastName": person.last,
        "jobTitle": person.title,
        "supervisorEid": person.supervisor.bamboo_id,
        "hireDate": person.hire_date.isoformat(),
        "payType": "Salary",
        "status": "Active",
        "customCostRate": f"{person.cost_rate:.2f}",
        "noSuchField": None,
    }
    async with http.get(f"{api}/employees/99999", params={"fields": "firstName"}, headers=_auth()) as resp:
        assert resp.status == 404
        assert resp.headers[ERROR] == "Employee not found."


async def test_auth_errors_come_in_the_header(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator
) -> None:
    async with http.get(f"{api}/employees/directory", headers=_auth("wrong-key")) as resp:
        assert resp.status == 401
        assert resp.headers[ERROR] == "Invalid API key."
        assert await resp.read() == b""
    async with http.get(f"{api}/employees/directory", headers={"Accept": "application/json"}) as resp:
        assert resp.status == 401
    other = f"{sim.url}/api/gateway.php/someoneelse/v1/employees/directory"
    async with http.get(other, headers=_auth()) as resp:
        assert resp.status == 404
        assert resp.headers[ERROR] == "Company not found."
    async with http.get(f"{api}/employees/directory", headers={**_auth(), "Accept": "*/*"}) as resp:
        assert resp.status == 406


async def test_rate_limit_modes(http: aiohttp.ClientSession, api: str, sim: RunningSimulator) -> None:
    try:
        async with http.put(f"{sim.url}/_sim/faults", json={"rate_limit": 0, "rate_window_s": 30}) as resp:
            assert resp.status == 200
        async with http.get(f"{api}/employees/directory", headers=_auth()) as resp:
            assert resp.status == 503
            assert 1 <= int(resp.headers["Retry-After"]) <= 30
            assert resp.headers[ERROR] == "API rate limit exceeded."
        async with http.post(
            f"{sim.url}/_sim/events", json={"type": "set_rate_limit_status", "status": 429}
        ) as resp:
            assert await resp.json() == {"rateLimitStatus": 429}
        async with http.get(f"{api}/employees/directory", headers=_auth()) as resp:
            assert resp.status == 429
            assert 1 <= int(resp.headers["Retry-After"]) <= 30
        async with http.post(
            f"{sim.url}/_sim/events", json={"type": "set_rate_limit_status", "status": 418}
        ) as resp:
            assert resp.status == 400
    finally:
        await http.put(f"{sim.url}/_sim/faults", json=DEFAULT_FAULTS)
        await http.post(f"{sim.url}/_sim/events", json={"type": "set_rate_limit_status", "status": 503})
    async with http.get(f"{api}/employees/directory", headers=_auth()) as resp:
        assert resp.status == 200


async def test_change_event_shows_in_changed_and_reads(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, world: World
) -> None:
    person = hr_people(world)[10]
    event = {
        "type": "change_employee",
        "id": person.bamboo_id,
        "fields": {"jobTitle": "Principal", "customCostRate": "95", "status": "Inactive"},
    }
    try:
        async with http.post(f"{sim.url}/_sim/events", json=event) as resp:
            assert resp.status == 200
            changed = await resp.json()
        assert changed["id"] == person.bamboo_id
        stamp = changed["lastChanged"]
        assert stamp > max(p.modified_at for p in hr_people(world)).isoformat()
        since = (datetime.fromisoformat(stamp) - timedelta(seconds=1)).isoformat()
        body = await get_json(http, f"{api}/employees/changed", since=since)
        assert body == {
            "latest": stamp,
            "employees": {
                person.bamboo_id: {"id": person.bamboo_id, "action": "Updated", "lastChanged": stamp}
            },
        }
        body = await get_json(http, f"{api}/employees/changed", since=stamp)
        assert body["employees"] == {}
        one = await get_json(
            http, f"{api}/employees/{person.bamboo_id}", fields="jobTitle,customCostRate,status"
        )
        assert one == {
            "id": person.bamboo_id,
            "jobTitle": "Principal",
            "customCostRate": "95.00",
            "status": "Inactive",
        }
        directory = await get_json(http, f"{api}/employees/directory")
        assert person.bamboo_id not in {e["id"] for e in directory["employees"]}
        bad = {"type": "change_employee", "id": person.bamboo_id, "fields": {"status": "Retired"}}
        async with http.post(f"{sim.url}/_sim/events", json=bad) as resp:
            assert resp.status == 400
        async with http.post(f"{sim.url}/_sim/events", json={"type": "fire_everyone"}) as resp:
            assert resp.status == 400
    finally:
        await http.post(f"{sim.url}/_sim/reset")


async def test_delete_event_shows_as_deleted_in_changed_and_leaves_the_reads(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, world: World
) -> None:
    managers = {p.supervisor.bamboo_id for p in hr_people(world) if p.supervisor is not None}
    person = next(p for p in hr_people(world) if p.bamboo_id not in managers)
    try:
        async with http.post(
            f"{sim.url}/_sim/events", json={"type": "delete_employee", "id": person.bamboo_id}
        ) as resp:
            assert resp.status == 200
            deleted = await resp.json()
        stamp = deleted["lastChanged"]
        assert (deleted["id"], deleted["action"]) == (person.bamboo_id, "Deleted")
        since = (datetime.fromisoformat(stamp) - timedelta(seconds=1)).isoformat()
        body = await get_json(http, f"{api}/employees/changed", since=since)
        assert body == {
            "latest": stamp,
            "employees": {
                person.bamboo_id: {"id": person.bamboo_id, "action": "Deleted", "lastChanged": stamp}
            },
        }
        async with http.get(f"{api}/employees/{person.bamboo_id}", headers=_auth()) as resp:
            assert resp.status == 404
        listed = await get_json(http, f"{api}/employees", **{"filter[ids]": person.bamboo_id or ""})
        assert listed["data"] == []
        async with http.post(
            f"{sim.url}/_sim/events", json={"type": "delete_employee", "id": person.bamboo_id}
        ) as resp:
            assert resp.status == 400
    finally:
        await http.post(f"{sim.url}/_sim/reset")


async def test_write_then_read(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, world: World
) -> None:
    person = hr_people(world)[20]
    try:
        url = f"{api}/employees/{person.bamboo_id}"
        async with http.post(
            url, json={"jobTitle": "Engagement Lead", "location": "Remote"}, headers=_auth()
        ) as resp:
            assert resp.status == 200
        assert await get_json(http, url, fields="jobTitle,location,firstName") == {
            "id": person.bamboo_id,
            "jobTitle": "Engagement Lead",
            "location": "Remote",
            "firstName": person.first,
        }
        async with http.post(url, json={"hireDate": "yesterday"}, headers=_auth()) as resp:
            assert resp.status == 400
            assert resp.headers[ERROR] == "Invalid date for hireDate: 'yesterday'"
        async with http.post(f"{api}/employees/99999", json={"jobTitle": "X"}, headers=_auth()) as resp:
            assert resp.status == 404
        new = {"firstName": "Noor", "lastName": "Haddad", "workEmail": "noor.haddad@opsgraph-firm.example"}
        async with http.post(f"{api}/employees", json=new, headers=_auth()) as resp:
            assert resp.status == 201
            location = resp.headers["Location"]
        new_id = location.rsplit("/", 1)[1]
        assert location == f"{api}/employees/{new_id}"
        assert int(new_id) == max(int(p.bamboo_id or 0) for p in hr_people(world)) + 1
        assert await get_json(http, location, fields="firstName,workEmail,status") == {
            "id": new_id,
            "firstName": "Noor",
            "workEmail": "noor.haddad@opsgraph-firm.example",
            "status": "Active",
        }
        changed = await get_json(http, f"{api}/employees/changed", since="2026-11-20T23:59:59Z")
        assert changed["employees"][new_id]["action"] == "Inserted"
        assert changed["employees"][person.bamboo_id]["action"] == "Updated"
        async with http.post(f"{api}/employees", json={"firstName": "Solo"}, headers=_auth()) as resp:
            assert resp.status == 400
            assert resp.headers[ERROR] == "Field 'lastName' is required"
    finally:
        await http.post(f"{sim.url}/_sim/reset")


async def test_time_off_range_matches_world(http: aiohttp.ClientSession, api: str, world: World) -> None:
    start, end = date(2026, 10, 1), date(2026, 10, 31)
    body = await get_json(
        http, f"{api}/time_off/requests/", start=start.isoformat(), end=end.isoformat(), status="approved"
    )
    expected = [
        t
        for t in world.time_off
        if t.status == "approved" and t.person.bamboo_id and t.start <= end and t.end >= start
    ]
    assert len(expected) > 5
    assert sorted(r["id"] for r in body) == sorted(str(t.id) for t in expected)
    t = next(t for t in expected if t.days > 1)
    record = next(r for r in body if r["id"] == str(t.id))
    assert record["employeeId"] == t.person.bamboo_id
    assert record["name"] == t.person.name
    assert (record["start"], record["end"]) == (t.start.isoformat(), t.end.isoformat())
    assert record["amount"] == {"unit": "days", "amount": str(int(t.days))}
    assert record["type"]["name"] == t.kind
    assert record["status"]["status"] == "approved"
    assert len(record["dates"]) == int(t.days)
    one = await get_json(
        http,
        f"{api}/time_off/requests",
        start="2026-10-01",
        end="2026-10-31",
        employeeId=t.person.bamboo_id or "",
    )
    assert {r["employeeId"] for r in one} == {t.person.bamboo_id}
    async with http.get(f"{api}/time_off/requests/", params={"start": "2026-10-01"}, headers=_auth()) as resp:
        assert resp.status == 400
        assert resp.headers[ERROR] == "Missing required parameter: end"


async def test_stats_count_each_route(http: aiohttp.ClientSession, api: str, sim: RunningSimulator) -> None:
    route = f"GET {sim.info.api_path}/employees/directory"
    before = await route_count(http, sim, route)
    for _ in range(2):
        await get_json(http, f"{api}/employees/directory")
    assert await route_count(http, sim, route) - before == 2
    async with http.get(f"{sim.url}/_sim/stats") as resp:
        stats = await resp.json()
    assert stats["routes"][route]["service_ms_total"] > 0


async def test_reset_restores_the_world(
    http: aiohttp.ClientSession, api: str, sim: RunningSimulator, world: World
) -> None:
    person = hr_people(world)[0]
    event = {"type": "change_employee", "id": person.bamboo_id, "fields": {"lastName": "Changed"}}
    async with http.post(f"{sim.url}/_sim/events", json=event) as resp:
        assert resp.status == 200
    assert (await get_json(http, f"{api}/employees/{person.bamboo_id}", fields="lastName"))[
        "lastName"
    ] == "Changed"
    async with http.post(f"{sim.url}/_sim/reset") as resp:
        assert await resp.json() == {"reset": True}
    assert (await get_json(http, f"{api}/employees/{person.bamboo_id}", fields="lastName"))[
        "lastName"
    ] == person.last
    async with http.get(f"{sim.url}/_sim/stats") as resp:
        assert (await resp.json())["total"] == 1


def test_webhook_signature_is_hmac_over_body_then_timestamp() -> None:
    body, stamp = b'{"type":"employee.updated"}', "1763600000"
    expected = hmac.new(b"secret", body + stamp.encode(), hashlib.sha256).hexdigest()
    assert sign_webhook(b"secret", stamp, body) == expected
    assert (
        sign_webhook(b"secret", stamp, body)
        != hmac.new(b"secret", stamp.encode() + body, "sha256").hexdigest()
    )
    assert len(expected) == 64
