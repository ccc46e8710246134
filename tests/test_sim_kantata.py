"""The Kantata simulator's wire format, spoken by a plain HTTP client: the response shape (results in
order, objects keyed by id, includes under their type's key), paging with its page count and its cap,
`only=`, the filters, its errors, 429 and writes (at most 100 a batch, all or nothing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from conformance.serving import Admin, SimServer
from kantata_sim import admin_fixture, intl_fixture, kantata_fixture  # noqa: F401

from simulators.kantata.simulator import ACCESS_TOKEN
from simulators.world import World
from simulators.world.psa_ids import kantata_time_entry_id, kantata_user_id, kantata_workspace_id

AUTH = {"Authorization": f"Bearer {ACCESS_TOKEN}"}


@pytest.fixture
async def http(kantata: SimServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=kantata.base_url, headers=AUTH) as client:
        yield client


async def get(http: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_listing_is_results_and_objects_by_id_with_includes(
    http: httpx.AsyncClient, intl: World
) -> None:
    body = await get(
        http,
        "/time_entries.json",
        per_page=5,
        include="user,story",
        date_performed_between="2026-10-01:2026-10-31",
    )
    ids = [r["id"] for r in body["results"]]
    assert {r["key"] for r in body["results"]} == {"time_entries"} and len(ids) == 5
    assert list(body["time_entries"]) == ids  # keyed by id, in results order
    dates = [body["time_entries"][i]["date_performed"] for i in ids]
    assert dates == sorted(dates, reverse=True)
    entry = body["time_entries"][ids[0]]
    assert isinstance(entry["time_in_minutes"], int) and entry["currency_base_unit"] == 100
    assert entry["user_id"] in body["users"] and entry["story_id"] in body["stories"]
    month = [t for t in intl.time_entries if t.spent_date.month == 10 and t.spent_date.year == 2026]
    assert body["meta"] == {
        "count": len(month),
        "page_count": -(-len(month) // 5),
        "page_number": 1,
        "page_size": 5,
    }


async def test_pages_are_cut_to_200_and_only_reads_by_ids(http: httpx.AsyncClient, intl: World) -> None:
    body = await get(http, "/users.json", per_page=1000)
    assert body["meta"]["page_size"] == 200 and len(body["results"]) == min(200, len(intl.people))
    wanted = [kantata_user_id(p) for p in intl.people[:3]]
    only = await get(http, "/users.json", only=",".join([*wanted, "x", "99"]))
    assert sorted(r["id"] for r in only["results"]) == sorted(wanted)


async def test_archived_workspaces_are_left_out_unless_asked(http: httpx.AsyncClient, intl: World) -> None:
    default = await get(http, "/workspaces.json", per_page=200)
    every = await get(http, "/workspaces.json", per_page=200, include_archived="true")
    archived = await get(http, "/workspaces.json", per_page=200, archived="true")
    active = {kantata_workspace_id(e) for e in intl.engagements if e.is_active}
    assert {r["id"] for r in default["results"]} == active
    assert every["count"] == len(intl.engagements) == len(active) + archived["count"]
    cfv = await get(http, "/workspaces.json", only=sorted(active)[0], include="custom_field_values")
    names = {v["custom_field_name"] for v in cfv["custom_field_values"].values()}
    assert names == {"Engagement Code", "Billing Model"}


async def test_errors_are_kantatas(http: httpx.AsyncClient, kantata: SimServer, admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=kantata.base_url) as anonymous:
        unauthorized = await anonymous.get("/users/me.json")
    assert unauthorized.status_code == 401 and unauthorized.json()["errors"][0]["type"] == "authentication"
    bad = await http.get("/time_entries.json", params={"page": "0"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "page"
    missing = await http.get("/time_entries/1.json")
    assert missing.status_code == 404 and "errors" in missing.json()
    await admin.faults(rate_limit=0, rate_window_s=30.0)
    limited = await http.get("/users/me.json")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["errors"][0]["type"] == "rate_limit"


async def test_a_batch_of_more_than_100_or_with_a_bad_item_writes_nothing(
    http: httpx.AsyncClient, intl: World, admin: Admin
) -> None:
    a = next(a for a in intl.assignments if a.is_active)
    item = {
        "workspace_id": kantata_workspace_id(a.engagement),
        "user_id": kantata_user_id(a.person),
        "date_performed": "2026-11-03",
        "time_in_minutes": 30,
    }
    before = (await get(http, "/time_entries.json", created_after="2026-11-25T00:00:00Z"))["count"]
    too_many = await http.post("/time_entries.json", json={"time_entries": [item] * 101})
    bad = await http.post("/time_entries.json", json={"time_entries": [item, {**item, "time_in_minutes": 0}]})
    assert too_many.status_code == bad.status_code == 422
    message = "time_in_minutes must be between 1 and 1440"
    assert bad.json()["errors"][0] == {"type": "validation", "message": message, "field": "time_in_minutes"}
    assert (await get(http, "/time_entries.json", created_after="2026-11-25T00:00:00Z"))["count"] == before
    made = await http.post("/time_entries.json", json={"time_entries": [item, item]})
    assert made.status_code == 200 and len(made.json()["results"]) == 2
    stats = (await admin.stats())["routes"]
    assert stats["POST /api/v1/time_entries.json"]["count"] == 3


async def test_invoicing_marks_time_invoiced_and_refuses_it_twice(
    http: httpx.AsyncClient, intl: World
) -> None:
    t = next(t for t in intl.time_entries if t.is_closed and t.harvest_invoice_id is None)
    body = {"invoices": [{"time_entry_ids": [kantata_time_entry_id(t)], "your_reference": "netsuite:1"}]}
    first = await http.post("/invoices.json", json=body)
    again = await http.post("/invoices.json", json=body)
    assert first.status_code == 200 and again.status_code == 422
    entry = (await get(http, f"/time_entries/{kantata_time_entry_id(t)}.json"))["time_entries"]
    assert entry[kantata_time_entry_id(t)]["is_invoiced"] is True
