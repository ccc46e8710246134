"""Harvest v2 simulator contract: the wire format over a real socket, checked against the world."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import aiohttp
import pytest

from simulators.simkit.serve import RunningSimulator, SimulatorGroup
from simulators.world import TimeEntry, World

DEFAULT_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "outage": False, "rate_limit": None}
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running["harvest"]


@pytest.fixture
def api(sim: RunningSimulator) -> str:
    return sim.url + sim.info.api_path


@pytest.fixture
def headers(sim: RunningSimulator) -> dict[str, str]:
    c = sim.info.credentials
    return {
        "Authorization": f"Bearer {c['access_token']}",
        "Harvest-Account-Id": c["account_id"],
        "User-Agent": c["user_agent"],
    }


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get_json(http: aiohttp.ClientSession, url: str, headers: dict[str, str], **params: str) -> Any:
    async with http.get(url, params=params, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def walk(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], key: str, **params: str
) -> list[dict[str, Any]]:
    """Every page of a listing by following `links.next`; returns the page bodies."""
    pages = [await get_json(http, url, headers, **params)]
    while pages[-1]["links"]["next"]:
        pages.append(await get_json(http, pages[-1]["links"]["next"], headers))
    return pages


async def route_count(http: aiohttp.ClientSession, sim: RunningSimulator, route: str) -> int:
    async with http.get(f"{sim.url}/_sim/stats") as resp:
        stats = await resp.json()
    return int(stats["routes"].get(route, {}).get("count", 0))


async def reset(http: aiohttp.ClientSession, sim: RunningSimulator) -> None:
    async with http.post(f"{sim.url}/_sim/reset") as resp:
        assert resp.status == 200


def in_range(entries: list[TimeEntry], start: date, end: date) -> list[TimeEntry]:
    return [e for e in entries if start <= e.spent_date <= end]


# -- reads and paging ------------------------------------------------------------------------------


async def test_users_page_by_cursor_to_the_end(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str], world: World
) -> None:
    pages = await walk(http, f"{api}/users", headers, "users", per_page="40")
    assert len(pages) == math.ceil(len(world.people) / 40) == 4
    ids = [u["id"] for p in pages for u in p["users"]]
    assert len(ids) == len(set(ids)) == len(world.people)
    assert ids == sorted((p.harvest_user_id for p in world.people), reverse=True)  # newest first
    assert world.drift.person_missing_in_hr in ids  # the PSA user with no HR record
    first, middle, last = pages[0], pages[1], pages[-1]
    assert (first["page"], first["next_page"], first["previous_page"]) == (1, 2, None)
    assert (middle["page"], middle["next_page"], middle["previous_page"]) == (None, None, None)
    assert (last["page"], last["next_page"], last["previous_page"]) == (4, None, 3)
    assert all(p["total_entries"] == 150 and p["total_pages"] == 4 for p in pages)
    assert "cursor=" in first["links"]["next"] and "ref=next_cursor" in first["links"]["next"]
    assert first["links"]["first"] == f"{api}/users?page=1&per_page=40&ref=first"
    assert first["links"]["last"] == f"{api}/users?page=4&per_page=40&ref=last"
    back = await get_json(http, middle["links"]["previous"], headers)
    assert [u["id"] for u in back["users"]] == [u["id"] for u in first["users"]]
    person = world.people[7]
    user = next(u for p in pages for u in p["users"] if u["id"] == person.harvest_user_id)
    assert {k: user[k] for k in ("first_name", "last_name", "email", "weekly_capacity", "cost_rate")} == {
        "first_name": person.first,
        "last_name": person.last,
        "email": person.email,
        "weekly_capacity": int(person.weekly_capacity_hours * 3600),
        "cost_rate": float(person.cost_rate),
    }


async def test_projects_page_by_cursor_and_encode_billing_models(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str], world: World
) -> None:
    pages = await walk(http, f"{api}/projects", headers, "projects", per_page="30")
    projects = {p["id"]: p for page in pages for p in page["projects"]}
    assert len(pages) == 4
    assert set(projects) == {e.harvest_project_id for e in world.engagements}
    for e in world.engagements:
        p = projects[e.harvest_project_id]
        assert (p["code"], p["name"], p["is_active"]) == (e.code, e.name, e.is_active)
        assert p["client"] == {
            "id": e.client.harvest_client_id,
            "name": e.client.name,
            "currency": e.client.currency,
        }
        assert p["hourly_rate"] == float(e.hourly_rate)
        if e.billing_model == "FIXED_FEE":
            assert (p["is_fixed_fee"], p["fee"], p["bill_by"]) == (True, float(e.contract_value), "Project")
        elif e.billing_model == "CAPPED":
            assert (p["is_fixed_fee"], p["budget_by"], p["budget"]) == (
                False,
                "project_cost",
                float(e.contract_value),
            )
        else:
            assert (p["is_fixed_fee"], p["budget_by"], p["budget"]) == (False, "project", e.budget_hours)
    active = await walk(http, f"{api}/projects", headers, "projects", is_active="true")
    assert sum(len(p["projects"]) for p in active) == sum(e.is_active for e in world.engagements)
    one = world.engagements[3]
    assert (await get_json(http, f"{api}/projects/{one.harvest_project_id}", headers)) == projects[
        one.harvest_project_id
    ]


async def test_user_assignments_global_and_per_project(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str], world: World
) -> None:
    pages = await walk(http, f"{api}/user_assignments", headers, "user_assignments", per_page="250")
    got = [a for p in pages for a in p["user_assignments"]]
    assert len(pages) == math.ceil(len(world.assignments) / 250)
    assert sorted(a["id"] for a in got) == sorted(a.id for a in world.assignments)
    gap = next(a for a in got if a["id"] == world.drift.assignment_without_rate)
    assert gap["hourly_rate"] is None
    eng = world.engagements[0]
    mine = [a for a in world.assignments if a.engagement is eng]
    body = await get_json(http, f"{api}/projects/{eng.harvest_project_id}/user_assignments", headers)
    assert body["total_entries"] == len(mine)
    assert {(a["user"]["id"], a["project"]["code"], a["hourly_rate"]) for a in body["user_assignments"]} == {
        (a.person.harvest_user_id, eng.code, float(a.hourly_rate) if a.hourly_rate is not None else None)
        for a in mine
    }
    tasks = await get_json(http, f"{api}/projects/{eng.harvest_project_id}/task_assignments", headers)
    assert sorted(t["task"]["name"] for t in tasks["task_assignments"]) == [
        "Delivery",
        "Internal",
        "Project Management",
    ]


async def test_time_entries_page_through_a_month(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str], world: World
) -> None:
    start, end = OCTOBER
    expected = in_range(world.time_entries, start, end)
    pages = await walk(
        http,
        f"{api}/time_entries",
        headers,
        "time_entries",
        per_page="500",
        **{"from": "2026-10-01", "to": "2026-10-31"},
    )
    got = [e for p in pages for e in p["time_entries"]]
    assert len(pages) == pages[0]["total_pages"] == math.ceil(len(expected) / 500)
    assert [p["page"] for p in pages] == list(range(1, len(pages) + 1))
    assert len(got) == len({e["id"] for e in got}) == len(expected) == pages[0]["total_entries"]
    assert sum(e["hours"] for e in got) == pytest.approx(sum(e.hours for e in expected))
    assert [(e["spent_date"], e["id"]) for e in got] == sorted(
        ((e.spent_date.isoformat(), e.id) for e in expected), reverse=True
    )
    assert "from=2026-10-01" in pages[0]["links"]["next"] and "page=2" in pages[0]["links"]["next"]
    sample = next(e for e in expected if e.harvest_invoice_id is None and e.is_closed)
    wire = next(e for e in got if e["id"] == sample.id)
    assert wire["is_closed"] is True and wire["is_billed"] is False and wire["invoice"] is None
    assert wire["user"] == {"id": sample.person.harvest_user_id, "name": sample.person.name}
    assert wire["project"] == {
        "id": sample.engagement.harvest_project_id,
        "name": sample.engagement.name,
        "code": sample.engagement.code,
    }
    assert wire["billable_rate"] == (
        float(sample.billable_rate) if sample.billable_rate is not None else None
    )
    assert (await get_json(http, f"{api}/time_entries/{sample.id}", headers)) == wire


async def test_time_entry_filters_combine(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str], world: World
) -> None:
    eng = world.engagements[10]
    start, end = date(2026, 6, 1), date(2026, 8, 15)
    expected = {e.id for e in in_range(world.time_entries, start, end) if e.engagement is eng}
    body = await get_json(
        http,
        f"{api}/time_entries",
        headers,
        project_id=str(eng.harvest_project_id),
        **{"from": str(start), "to": str(end)},
    )
    assert {e["id"] for e in body["time_entries"]} == expected and expected
    window = {"from": "2026-09-16", "to": "2026-10-15"}
    billed = await get_json(http, f"{api}/time_entries", headers, is_billed="true", **window)
    unbilled = await get_json(http, f"{api}/time_entries", headers, is_billed="false", **window)
    both = in_range(world.time_entries, date(2026, 9, 16), date(2026, 10, 15))
    assert billed["total_entries"] == sum(e.is_billed for e in both) > 0
    assert unbilled["total_entries"] == sum(not e.is_billed for e in both) > 0
    assert all(e["invoice"] is not None for e in billed["time_entries"])
    person = world.people[20]
    by_user = await get_json(
        http, f"{api}/time_entries", headers, user_id=str(person.harvest_user_id), is_billed="false", **window
    )
    mine = {e.id for e in both if e.person is person and not e.is_billed}
    assert {e["id"] for e in by_user["time_entries"]} == mine and mine
    running = await get_json(http, f"{api}/time_entries", headers, is_running="true")
    assert running["total_entries"] == 0


async def test_invoices_list_with_state(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str], world: World
) -> None:
    pages = await walk(http, f"{api}/invoices", headers, "invoices")
    got = {i["id"]: i for p in pages for i in p["invoices"]}
    assert len(got) == len(world.invoices)
    for inv in world.invoices[:50]:
        wire = got[inv.harvest_invoice_id]
        assert wire["state"] == ("paid" if inv.amount_due == 0 else "open")
        assert (wire["number"], wire["amount"], wire["due_amount"]) == (
            inv.number, float(inv.total), float(inv.amount_due)
        )  # fmt: skip
        assert [li["amount"] for li in wire["line_items"]] == [float(li.amount) for li in inv.lines]


async def test_errors_use_harvest_shapes(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str]
) -> None:
    async with http.get(f"{api}/projects/1", headers=headers) as resp:
        assert (resp.status, await resp.json()) == (404, {"status": 404, "error": "Not Found"})
    async with http.get(f"{api}/time_entries", params={"per_page": "2001"}, headers=headers) as resp:
        assert resp.status == 422
        assert "per_page" in (await resp.json())["message"]
    async with http.get(f"{api}/time_entries", params={"from": "October"}, headers=headers) as resp:
        assert resp.status == 422


# -- auth and limits -------------------------------------------------------------------------------


async def test_auth_failures(http: aiohttp.ClientSession, api: str, headers: dict[str, str]) -> None:
    invalid = {
        "error": "invalid_token",
        "error_description": "The access token provided is expired, revoked, malformed or invalid for other "
        "reasons.",
    }
    for bad in ({"Authorization": "Bearer nope"}, {"Harvest-Account-Id": "999"}):
        async with http.get(f"{api}/users/me", headers={**headers, **bad}) as resp:
            assert (resp.status, await resp.json()) == (401, invalid)
    no_account = {k: v for k, v in headers.items() if k != "Harvest-Account-Id"}
    async with http.get(f"{api}/users/me", headers=no_account) as resp:
        assert resp.status == 401
    async with aiohttp.ClientSession(skip_auto_headers=["User-Agent"]) as bare:
        no_agent = {k: v for k, v in headers.items() if k != "User-Agent"}
        async with bare.get(f"{api}/users/me", headers=no_agent) as resp:
            assert resp.status == 400
            assert "User-Agent" in (await resp.json())["message"]


async def test_rate_limit_gives_429_with_retry_after(
    http: aiohttp.ClientSession, sim: RunningSimulator, api: str, headers: dict[str, str]
) -> None:
    try:
        async with http.put(f"{sim.url}/_sim/faults", json={"rate_limit": 2, "rate_window_s": 30}) as resp:
            assert resp.status == 200
        statuses = []
        for _ in range(3):
            async with http.get(f"{api}/tasks", headers=headers) as resp:
                statuses.append(resp.status)
                last_headers, body = resp.headers, await resp.json()
        assert statuses == [200, 200, 429]
        assert 1 <= int(last_headers["Retry-After"]) <= 30
        assert "rate limit" in body["message"]
    finally:
        async with http.put(f"{sim.url}/_sim/faults", json=DEFAULT_FAULTS) as resp:
            assert resp.status == 200


async def test_stats_count_routes(
    http: aiohttp.ClientSession, sim: RunningSimulator, api: str, headers: dict[str, str], world: World
) -> None:
    route = "GET /v2/projects/{id:int}/user_assignments"
    before = await route_count(http, sim, route)
    for e in world.engagements[:3]:
        await get_json(http, f"{api}/projects/{e.harvest_project_id}/user_assignments", headers)
    assert await route_count(http, sim, route) - before == 3


# -- writes and events (each resets the simulator when done) ---------------------------------------


def live_assignment(world: World) -> Any:
    """An active time-and-materials assignment with a rate."""
    return next(
        a
        for a in world.assignments
        if a.is_active and a.engagement.billing_model == "TIME_AND_MATERIALS" and a.hourly_rate is not None
    )


async def test_create_read_update_poll_delete_time_entry(
    http: aiohttp.ClientSession, sim: RunningSimulator, api: str, headers: dict[str, str], world: World
) -> None:
    a = live_assignment(world)
    since = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ref = {"id": "sim-test-1", "group_id": "g-1", "account_id": "acct", "permalink": "https://example.test/1"}
    payload = {
        "project_id": a.engagement.harvest_project_id, "task_id": 1, "spent_date": "2026-11-19", "hours": 3.5,
        "notes": "contract test", "user_id": a.person.harvest_user_id, "external_reference": ref,
    }  # fmt: skip
    try:
        async with http.post(f"{api}/time_entries", json=payload, headers=headers) as resp:
            assert resp.status == 201
            created = await resp.json()
        assert (created["hours"], created["notes"], created["spent_date"]) == (
            3.5,
            "contract test",
            "2026-11-19",
        )
        assert (created["billable"], created["billable_rate"], created["is_closed"], created["invoice"]) == (
            True, float(a.hourly_rate), False, None
        )  # fmt: skip
        assert created["external_reference"] == {**ref, "service": None, "service_icon_url": None}
        assert created["id"] > max(e.id for e in world.time_entries)
        assert await get_json(http, f"{api}/time_entries/{created['id']}", headers) == created
        polled = await get_json(http, f"{api}/time_entries", headers, updated_since=since)
        assert [e["id"] for e in polled["time_entries"]] == [created["id"]]
        by_ref = await get_json(http, f"{api}/time_entries", headers, external_reference_id="sim-test-1")
        assert [e["id"] for e in by_ref["time_entries"]] == [created["id"]]
        async with http.patch(
            f"{api}/time_entries/{created['id']}", json={"hours": 4.0}, headers=headers
        ) as resp:
            assert resp.status == 200
            assert (await resp.json())["hours"] == 4.0
        bad = [{**payload, "project_id": 1}, {**payload, "task_id": 99}, {**payload, "spent_date": None}]
        for body in bad:
            async with http.post(f"{api}/time_entries", json=body, headers=headers) as resp:
                assert resp.status == 422 and (await resp.json())["message"]
        approved = next(e for e in world.time_entries if e.is_closed)
        async with http.patch(
            f"{api}/time_entries/{approved.id}", json={"hours": 1}, headers=headers
        ) as resp:
            assert resp.status == 422
            assert "locked" in (await resp.json())["message"]
        async with http.delete(f"{api}/time_entries/{created['id']}", headers=headers) as resp:
            assert resp.status == 200
        async with http.get(f"{api}/time_entries/{created['id']}", headers=headers) as resp:
            assert resp.status == 404
    finally:
        await reset(http, sim)


async def test_invoice_import_marks_approved_time_billed(
    http: aiohttp.ClientSession, sim: RunningSimulator, api: str, headers: dict[str, str], world: World
) -> None:
    eng = live_assignment(world).engagement
    start, end = OCTOBER
    due = [
        e
        for e in in_range(world.time_entries, start, end)
        if e.engagement is eng and e.is_closed and not e.is_billed
    ]
    assert due
    amount = sum(((e.billable_rate or Decimal(0)) * Decimal(str(e.hours)) for e in due), Decimal(0))
    body = {
        "client_id": eng.client.harvest_client_id, "issue_date": "2026-11-20", "due_date": "2026-12-20",
        "line_items_import": {"project_ids": [eng.harvest_project_id],
                              "time": {"summary_type": "task", "from": str(start), "to": str(end)}},
    }  # fmt: skip
    try:
        async with http.post(f"{api}/invoices", json=body, headers=headers) as resp:
            assert resp.status == 201, await resp.text()
            invoice = await resp.json()
        assert (invoice["state"], invoice["client"]["id"], invoice["due_date"]) == (
            "draft", eng.client.harvest_client_id, "2026-12-20"
        )  # fmt: skip
        assert invoice["amount"] == invoice["due_amount"] == float(amount.quantize(Decimal("0.01")))
        assert sum(li["quantity"] for li in invoice["line_items"]) == pytest.approx(sum(e.hours for e in due))
        billed = await get_json(
            http, f"{api}/time_entries", headers, project_id=str(eng.harvest_project_id), is_billed="true",
            **{"from": str(start), "to": str(end)},
        )  # fmt: skip
        assert {e["id"] for e in billed["time_entries"]} == {e.id for e in due}
        assert {e["invoice"]["number"] for e in billed["time_entries"]} == {invoice["number"]}
        assert all(e["is_locked"] for e in billed["time_entries"])
        async with http.post(f"{api}/invoices", json=body, headers=headers) as resp:
            assert resp.status == 422  # nothing left to import
    finally:
        await reset(http, sim)


async def test_approve_event_closes_entries(
    http: aiohttp.ClientSession, sim: RunningSimulator, api: str, headers: dict[str, str], world: World
) -> None:
    eng = live_assignment(world).engagement
    pending = [e for e in world.time_entries if e.engagement is eng and not e.is_closed]
    assert len(pending) > 3
    events = f"{sim.url}/_sim/events"
    try:
        ids = [e.id for e in pending[:3]]
        async with http.post(events, json={"type": "approve_time_entries", "ids": ids}) as resp:
            assert (await resp.json())["approved"] == 3
        async with http.post(events, json={"type": "approve_time_entries", "ids": ids}) as resp:
            assert (await resp.json())["approved"] == 0
        last = max(e.spent_date for e in pending)
        event = {"type": "approve_time_entries", "project_id": eng.harvest_project_id, "to": str(last)}
        async with http.post(events, json=event) as resp:
            assert (await resp.json())["approved"] == len(pending) - 3
        one = await get_json(http, f"{api}/time_entries/{pending[0].id}", headers)
        assert one["is_closed"] is True and one["approval_status"] == "approved"
        assert one["updated_at"] > pending[0].updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        async with http.post(events, json={"type": "reject_everything"}) as resp:
            assert resp.status == 400
    finally:
        await reset(http, sim)


async def test_edit_events_stamp_updated_at_for_polling(
    http: aiohttp.ClientSession, sim: RunningSimulator, api: str, headers: dict[str, str], world: World
) -> None:
    """`update_project` and `update_user_assignment` act as someone editing in Harvest's UI: the change
    shows in reads and in `updated_since` listings, and nothing else moves."""
    eng, assignment = world.engagements[2], world.assignments[3]
    events = f"{sim.url}/_sim/events"
    since = max(e.modified_at for e in world.engagements).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        edit = {"type": "update_project", "id": eng.harvest_project_id,
                "fields": {"name": "Edited", "is_active": False}}  # fmt: skip
        async with http.post(events, json=edit) as resp:
            assert (resp.status, await resp.json()) == (200, {"type": "update_project", "updated": 1})
        project = await get_json(http, f"{api}/projects/{eng.harvest_project_id}", headers)
        assert (project["name"], project["is_active"], project["code"]) == ("Edited", False, eng.code)
        assert project["updated_at"] > since
        polled = await get_json(http, f"{api}/projects", headers, updated_since=since)
        newer = [p["id"] for p in polled["projects"] if p["updated_at"] > since]
        assert newer == [eng.harvest_project_id]
        edit = {
            "type": "update_user_assignment",
            "id": assignment.id,
            "fields": {"hourly_rate": 321, "budget": 9},
        }
        async with http.post(events, json=edit) as resp:
            assert (await resp.json())["updated"] == 1
        polled = await get_json(http, f"{api}/user_assignments", headers, updated_since=since)
        newer = [a for a in polled["user_assignments"] if a["updated_at"] > since]
        assert [(a["id"], a["hourly_rate"], a["budget"]) for a in newer] == [(assignment.id, 321.0, 9.0)]
        for bad in (
            {"type": "update_project", "id": 1, "fields": {"name": "x"}},
            {"type": "update_project", "id": str(eng.harvest_project_id), "fields": {"name": "x"}},
            {"type": "update_project", "id": eng.harvest_project_id, "fields": {}},
            {"type": "update_project", "id": eng.harvest_project_id, "fields": {"budget": "lots"}},
            {"type": "update_user_assignment", "id": assignment.id, "fields": {"user_id": 1}},
            {"type": "update_user_assignment", "id": assignment.id, "fields": {"is_active": None}},
        ):
            async with http.post(events, json=bad) as resp:
                assert resp.status == 400, bad
    finally:
        await reset(http, sim)
    project = await get_json(http, f"{api}/projects/{eng.harvest_project_id}", headers)
    assert (project["name"], project["is_active"]) == (eng.name, eng.is_active)


async def test_project_writes_and_reset(
    http: aiohttp.ClientSession, sim: RunningSimulator, api: str, headers: dict[str, str], world: World
) -> None:
    client = world.clients[0]
    new = {
        "client_id": client.harvest_client_id, "name": "Contract Test", "code": "ENG-9999",
        "is_billable": True, "bill_by": "People", "budget_by": "project", "budget": 120, "hourly_rate": 210,
    }  # fmt: skip
    try:
        async with http.post(f"{api}/projects", json=new, headers=headers) as resp:
            assert resp.status == 201
            project = await resp.json()
        assert (project["code"], project["budget"], project["client"]["id"]) == (
            "ENG-9999",
            120.0,
            client.harvest_client_id,
        )
        url = f"{api}/projects/{project['id']}"
        async with http.patch(url, json={"budget": 150, "is_active": False}, headers=headers) as resp:
            assert resp.status == 200
            patched = await resp.json()
        assert (patched["budget"], patched["is_active"]) == (150.0, False)
        person = world.people[5]
        async with http.post(
            f"{url}/user_assignments", json={"user_id": person.harvest_user_id}, headers=headers
        ) as resp:
            assert resp.status == 201
            assert (await resp.json())["hourly_rate"] == float(person.bill_rate)
        async with http.post(f"{api}/projects", json={**new, "client_id": 1}, headers=headers) as resp:
            assert resp.status == 422
    finally:
        await reset(http, sim)
    async with http.get(f"{api}/projects/{project['id']}", headers=headers) as resp:
        assert resp.status == 404
    async with http.get(f"{sim.url}/_sim/stats") as resp:
        stats = await resp.json()  # the reset cleared the counters: only the GET above is left
    assert (stats["total"], list(stats["routes"])) == (1, ["GET /v2/projects/{id:int}"])


# -- time reports: projects ------------------------------------------------------------------------

REPORT_KEYS = [
    "project_id", "project_name", "client_id", "client_name", "total_hours", "billable_hours", "currency",
    "billable_amount",
]  # fmt: skip


def expected_project_report(
    entries: list[TimeEntry], start: date, end: date, *, fixed_fee: bool
) -> dict[int, dict[str, Any]]:
    """The Projects time report computed from the world, in exact decimals."""
    out: dict[int, dict[str, Any]] = {}
    for e in in_range(entries, start, end):
        eng = e.engagement
        row = out.setdefault(
            eng.harvest_project_id,
            {
                "project_id": eng.harvest_project_id,
                "project_name": f"[{eng.code}] {eng.name}",
                "client_id": eng.client.harvest_client_id,
                "client_name": eng.client.name,
                "total_hours": Decimal(0),
                "billable_hours": Decimal(0),
                "currency": eng.client.currency,
                "billable_amount": Decimal(0),
            },
        )
        hours = Decimal(str(e.hours))
        row["total_hours"] += hours
        if e.billable:
            row["billable_hours"] += hours
            if e.billable_rate is not None and (fixed_fee or eng.billing_model != "FIXED_FEE"):
                row["billable_amount"] += e.billable_rate * hours
    return out


def fixed_fee_ids(world: World) -> set[int]:
    return {e.harvest_project_id for e in world.engagements if e.billing_model == "FIXED_FEE"}


def exact(result: dict[str, Any]) -> dict[str, Any]:
    """A wire result with its numbers as the decimals they spell."""
    numbers = ("total_hours", "billable_hours", "billable_amount")
    return {k: Decimal(str(v)) if k in numbers else v for k, v in result.items()}


async def project_report(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str], **params: str
) -> dict[str, Any]:
    body: dict[str, Any] = await get_json(http, f"{api}/reports/time/projects", headers, **params)
    return body


async def test_projects_time_report_totals_a_month_exactly(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str], world: World
) -> None:
    start, end = OCTOBER
    for fixed_fee, params in ((False, {}), (True, {"include_fixed_fee": "true"})):
        body = await project_report(http, api, headers, **{"from": "20261001", "to": "20261031"}, **params)
        expected = expected_project_report(world.time_entries, start, end, fixed_fee=fixed_fee)
        results = body["results"]
        assert len(results) == body["total_entries"] == len(expected) == 53
        assert (body["page"], body["total_pages"], body["per_page"], body["next_page"]) == (1, 1, 2000, None)
        assert all(list(r) == REPORT_KEYS for r in results)
        assert {r["project_id"]: exact(r) for r in results} == expected
        assert [r["project_name"] for r in results] == sorted(r["project_name"] for r in results)
        fixed = [r for r in results if r["project_id"] in fixed_fee_ids(world)]
        assert fixed and all((r["billable_amount"] > 0) is fixed_fee for r in fixed)
    # Projects with no time in the range are absent; the ISO date form gives the same report.
    quiet = {e.harvest_project_id for e in world.engagements} - set(expected)
    assert quiet
    iso = await project_report(http, api, headers, **{"from": "2026-10-01", "to": "2026-10-31"})
    assert [exact(r) for r in iso["results"]] == sorted(
        expected_project_report(world.time_entries, start, end, fixed_fee=False).values(),
        key=lambda r: r["project_name"],
    )


async def test_projects_time_report_pages_by_page_number(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str]
) -> None:
    window = {"from": "20261001", "to": "20261031"}
    whole = await project_report(http, api, headers, **window)
    pages = await walk(http, f"{api}/reports/time/projects", headers, "results", per_page="10", **window)
    assert len(pages) == math.ceil(53 / 10) == 6
    assert [p["page"] for p in pages] == [1, 2, 3, 4, 5, 6]
    assert [(p["next_page"], p["previous_page"]) for p in (pages[0], pages[-1])] == [(2, None), (None, 5)]
    assert all((p["total_entries"], p["total_pages"], p["per_page"]) == (53, 6, 10) for p in pages)
    assert [r for p in pages for r in p["results"]] == whole["results"]
    links = pages[1]["links"]
    base = f"{api}/reports/time/projects?from=20261001"
    assert links == {
        "first": f"{base}&page=1&per_page=10&to=20261031",
        "next": f"{base}&page=3&per_page=10&to=20261031",
        "previous": f"{base}&page=1&per_page=10&to=20261031",
        "last": f"{base}&page=6&per_page=10&to=20261031",
    }
    past = await project_report(http, api, headers, page="7", per_page="10", **window)
    assert (past["results"], past["page"], past["next_page"], past["links"]["next"]) == ([], 7, None, None)


async def test_projects_time_report_timeframe_rules(
    http: aiohttp.ClientSession, api: str, headers: dict[str, str]
) -> None:
    url = f"{api}/reports/time/projects"

    async def status(**params: str) -> tuple[int, Any]:
        async with http.get(url, params=params, headers=headers) as resp:
            return resp.status, await resp.json()

    too_long = {"message": "Invalid timeframe: must not exceed 1 year"}
    assert await status(**{"from": "20250101", "to": "20260102"}) == (400, too_long)  # to - from = 366 days
    assert await status(**{"from": "2024-01-01", "to": "2025-01-01"}) == (400, too_long)  # leap year
    ok, body = await status(**{"from": "20250101", "to": "20260101"})  # to - from = 365 days: accepted
    assert ok == 200 and body["results"]
    for params in ({"to": "20261031"}, {"from": "20261001"}, {}):
        code, err = await status(**params)
        assert code == 400 and "required" in err["message"]
    for params in (
        {"from": "October", "to": "20261031"},
        {"from": "20261301", "to": "20261231"},
        {"from": "2026-1001", "to": "20261031"},
        {"from": "20261031", "to": "20261001"},
    ):
        code, err = await status(**params)
        assert code == 400 and err["message"], params
    for params in ({"per_page": "2001"}, {"page": "0"}, {"include_fixed_fee": "maybe"}):
        code, err = await status(**{"from": "20261001", "to": "20261031", **params})
        assert code == 422 and err["message"], params


async def test_projects_time_report_reflects_time_entry_writes(
    http: aiohttp.ClientSession, sim: RunningSimulator, api: str, headers: dict[str, str], world: World
) -> None:
    a = live_assignment(world)
    pid, rate = a.engagement.harvest_project_id, a.hourly_rate
    october = {"from": "20261001", "to": "20261031"}
    after_world = {"from": "20261125", "to": "20261130"}  # the world's time ends on 2026-11-19

    async def totals(window: dict[str, str]) -> dict[int, dict[str, Any]]:
        return {
            r["project_id"]: exact(r) for r in (await project_report(http, api, headers, **window))["results"]
        }

    before = (await totals(october))[pid]
    payload = {
        "project_id": pid, "task_id": 1, "spent_date": "2026-10-15", "hours": 2.5,
        "user_id": a.person.harvest_user_id,
    }  # fmt: skip
    try:
        assert await totals(after_world) == {}
        async with http.post(f"{api}/time_entries", json=payload, headers=headers) as resp:
            assert resp.status == 201
            created = await resp.json()
        grown = (await totals(october))[pid]
        assert grown["total_hours"] - before["total_hours"] == Decimal("2.5")
        assert grown["billable_hours"] - before["billable_hours"] == Decimal("2.5")
        assert grown["billable_amount"] - before["billable_amount"] == rate * Decimal("2.5")
        async with http.patch(
            f"{api}/time_entries/{created['id']}", json={"hours": 4.25}, headers=headers
        ) as resp:
            assert resp.status == 200
        patched = (await totals(october))[pid]
        assert patched["total_hours"] - before["total_hours"] == Decimal("4.25")
        assert patched["billable_amount"] - before["billable_amount"] == rate * Decimal("4.25")
        async with http.patch(
            f"{api}/time_entries/{created['id']}", json={"spent_date": "2026-11-26"}, headers=headers
        ) as resp:
            assert resp.status == 200
        assert (await totals(october))[pid] == before
        late = await totals(after_world)
        assert list(late) == [pid] and late[pid]["total_hours"] == Decimal("4.25")
        async with http.delete(f"{api}/time_entries/{created['id']}", headers=headers) as resp:
            assert resp.status == 200
        assert await totals(after_world) == {}
        assert (await totals(october))[pid] == before
    finally:
        await reset(http, sim)


# -- stats ---------------------------------------------------------------------------------------------


async def test_stats_give_each_requests_interval_injected_latency_included(
    http: aiohttp.ClientSession, sim: RunningSimulator, api: str, headers: dict[str, str]
) -> None:
    """`?intervals=1`: one (arrival, end) pair per vendor request, in order, the injected latency
    inside it (benches union them across simulators: the upstream busy time of a query)."""
    async with http.delete(f"{sim.url}/_sim/stats"):
        pass
    async with http.put(f"{sim.url}/_sim/faults", json={"latency_ms": 30}) as resp:
        assert resp.status == 200
    try:
        for _ in range(3):
            await get_json(http, f"{api}/users", headers, per_page="1")
    finally:
        async with http.put(f"{sim.url}/_sim/faults", json=DEFAULT_FAULTS) as resp:
            assert resp.status == 200
    async with http.get(f"{sim.url}/_sim/stats", params={"intervals": "1"}) as resp:
        stats = await resp.json()
    intervals = stats["intervals"]
    assert stats["total"] == len(intervals) == 3
    assert all(end - arrived >= 0.030 for arrived, end in intervals)
    assert all(b[0] >= a[1] for a, b in pairwise(intervals))  # one after another
    async with http.get(f"{sim.url}/_sim/stats") as resp:
        assert "intervals" not in await resp.json()
