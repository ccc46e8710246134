"""Absurd ids and numbers get the vendor's answer (a 404, an empty list, a 4xx), never a 500.

A 30-digit Harvest time entry id made the simulator fail with SQLite's `OverflowError` (a 500), and
one such request could open the gateway's breaker. Also: ids beyond int64, Unicode digits such as
"¹" (`str.isdigit()` says yes, `int()` says no) and paging numbers past any table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from opsgraph.connectors.base import SourceClient
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.gateway.settings import demo_settings
from opsgraph.resolvers.sources import Sources
from simulators.simkit.serve import SimulatorGroup

ABSURD = ["9" * 30, str(2**63), "-" + "9" * 20, "¹", "١٢", "12¹"]
BIG = "9" * 30
TRANSIENT = {"Prefer": "transient"}


@pytest.fixture
async def clients(simulators: SimulatorGroup) -> AsyncIterator[dict[str, SourceClient]]:
    """Each simulator's production client, by system name (the classic stack: named after vendors)."""
    systems = {name: {**table, "max_retries": 0} for name, table in simulators.system_settings().items()}
    sources = Sources.from_specs(demo_settings(systems).system_specs())
    yield sources.clients()
    await sources.close()


async def call(client: SourceClient, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """One authenticated exchange, whatever the status (no retry, no breaker)."""
    headers = {**(await client.auth_headers()), **kwargs.pop("headers", {})}
    if isinstance(client, SalesforceClient):
        path = await client._api(path)
    response = await client.raw_request(method, path, headers=headers, **kwargs)
    return response.status, response.body


@pytest.mark.parametrize("bad", ABSURD)
async def test_harvest(clients: dict[str, SourceClient], bad: str) -> None:
    hv = clients["harvest"]
    for resource in ["clients", "projects", "users", "time_entries", "invoices"]:
        assert (await call(hv, "GET", f"/v2/{resource}/{bad}"))[0] == 404
    assert (await call(hv, "GET", f"/v2/projects/{bad}/user_assignments"))[0] == 404
    assert (await call(hv, "PATCH", f"/v2/time_entries/{bad}", json={"hours": 1}))[0] == 404
    assert (await call(hv, "DELETE", f"/v2/time_entries/{bad}"))[0] == 404
    for name in ["project_id", "user_id", "client_id", "page"]:
        status, body = await call(hv, "GET", "/v2/time_entries", params={name: bad})
        assert status in (200, 422), (name, status)
        if status == 200:
            assert body["time_entries"] == [], name


async def test_harvest_pages_past_the_end_are_empty(clients: dict[str, SourceClient]) -> None:
    status, body = await call(clients["harvest"], "GET", "/v2/projects", params={"page": BIG})
    assert (status, body["projects"]) == (200, [])
    params = {"from": "20260101", "to": "20260131", "page": BIG}
    status, body = await call(clients["harvest"], "GET", "/v2/reports/time/projects", params=params)
    assert (status, body["results"]) == (200, [])


@pytest.mark.parametrize("bad", ABSURD)
async def test_bamboohr(clients: dict[str, SourceClient], bad: str) -> None:
    hr = clients["bamboohr"]
    assert (await call(hr, "GET", f"employees/{bad}"))[0] in (400, 404)
    assert (await call(hr, "POST", f"employees/{bad}", json={"firstName": "x"}))[0] in (400, 404)
    status, body = await call(hr, "GET", "employees", params={"filter[ids]": bad})
    assert (status, body["data"]) == (200, [])
    assert (await call(hr, "GET", "employees", params={"page[after]": bad}))[0] == 400
    assert (await call(hr, "GET", "employees/changed", params={"since": bad}))[0] == 400
    period = {"start": "2026-01-01", "end": "2026-02-01", "employeeId": bad}
    assert (await call(hr, "GET", "time_off/requests/", params=period))[0] in (200, 400)


@pytest.mark.parametrize("bad", ["9" * 30, str(2**63)])
async def test_netsuite(clients: dict[str, SourceClient], bad: str) -> None:
    ns = clients["netsuite"]
    page = {"limit": "10", "offset": "0"}
    for q in [f"SELECT id FROM job WHERE id = {bad}", f"SELECT id FROM job WHERE id IN ({bad}, 1)"]:
        status, body = await call(
            ns, "POST", "query/v1/suiteql", json={"q": q}, params=page, headers=TRANSIENT
        )
        assert (status, body.get("items")) == (200, []), (q, body)
    status, _ = await call(
        ns, "POST", "query/v1/suiteql", json={"q": "SELECT id FROM job"}, params={"limit": bad}
    )
    assert status == 400
    for record_type in ["customer", "job", "invoice", "timebill"]:
        assert (await call(ns, "GET", f"record/v1/{record_type}/{bad}"))[0] == 404
        assert (await call(ns, "GET", f"record/v1/{record_type}/¹"))[0] == 404


@pytest.mark.parametrize("bad", ["9" * 30, "¹"])
async def test_salesforce(clients: dict[str, SourceClient], bad: str) -> None:
    sf = clients["salesforce"]
    assert (await call(sf, "GET", f"sobjects/Account/{bad}"))[0] == 404
    status, body = await call(sf, "GET", "query", params={"q": f"SELECT Id FROM Account WHERE Id = '{bad}'"})
    assert (status, body["records"]) == (200, [])
    status, body = await call(sf, "POST", "composite/sobjects/Account", json={"ids": [bad], "fields": ["Id"]})
    assert status in (200, 400)


async def test_salesforce_limit_and_offset_past_int64(clients: dict[str, SourceClient]) -> None:
    status, body = await call(
        clients["salesforce"], "GET", "query", params={"q": f"SELECT Id FROM Account LIMIT {BIG}"}
    )
    assert status == 200 and body["totalSize"] > 0
    status, _ = await call(
        clients["salesforce"], "GET", "query", params={"q": f"SELECT Id FROM Account OFFSET {BIG}"}
    )
    assert status == 400  # Salesforce's NUMBER_OUTSIDE_VALID_RANGE: OFFSET is at most 2000
