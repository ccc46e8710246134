"""The shared connector toolkit: one Retry-After parser, authenticators, chunking.

Token caching is proven through the production clients against the simulators' token endpoints
(requests counted there); time is a `ManualClock`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest

from opsgraph.clock import ManualClock
from opsgraph.connectors.bamboohr.client import BambooHRClient
from opsgraph.connectors.base import SourceClient, SourceConfig, UpstreamResponse
from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.hubspot.client import HubSpotClient
from opsgraph.connectors.netsuite.client import NetSuiteClient
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.connectors.toolkit.auth import BearerToken, Token, TokenCache
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.connectors.toolkit.fields import FieldReader
from opsgraph.connectors.toolkit.paging import CursorPaginator, OffsetPaginator, PageNumberPaginator, dig
from opsgraph.connectors.toolkit.retry_after import parse_retry_after, retry_after_header
from simulators.simkit.serve import SimulatorGroup

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN_ROUTES = {
    "salesforce": "POST /services/oauth2/token",
    "netsuite": "POST /services/rest/auth/oauth2/v1/token",
}

# -- Retry-After ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-5", 0.0),
        (format_datetime(START + timedelta(seconds=30), usegmt=True), 30.0),
        ("Fri, 20 Nov 2026 12:01:15 GMT", 75.0),
        ("Fri, 20 Nov 2026 11:59:00 GMT", 0.0),  # a date in the past: retry now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, ManualClock(START)) == seconds


def test_an_http_date_is_counted_from_the_injected_clock_as_it_moves() -> None:
    clock = ManualClock(START)
    headers = {"Retry-After": "Fri, 20 Nov 2026 12:00:40 GMT"}
    assert retry_after_header(headers, clock) == 40.0
    clock.advance(15)
    assert retry_after_header(headers, clock) == 25.0
    assert retry_after_header({}, clock) is None


# -- chunks --------------------------------------------------------------------------------------


def test_chunks_cut_in_order_to_the_limit() -> None:
    ids = [str(i) for i in range(7)]
    assert chunks(ids, 3) == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert chunks(ids, 7) == [ids]
    assert chunks([], 3) == []
    with pytest.raises(ValueError, match="at least 1"):
        chunks(ids, 0)


# -- authenticators ------------------------------------------------------------------------------


async def test_a_bearer_token_gives_its_headers_and_cannot_be_refreshed() -> None:
    auth = BearerToken("pat-1", {"Accept": "application/json"})
    assert await auth.headers() == {"Authorization": "Bearer pat-1", "Accept": "application/json"}
    auth.invalidate()
    assert await auth.headers() == {"Authorization": "Bearer pat-1", "Accept": "application/json"}
    assert auth.refreshable is False
    live = {"token": "a"}
    dynamic = BearerToken(lambda: live["token"])
    live["token"] = "b"
    assert await dynamic.headers() == {"Authorization": "Bearer b"}


async def test_a_token_cache_fetches_once_for_concurrent_callers_and_again_after_expiry() -> None:
    clock = ManualClock(START)
    issued: list[str] = []

    async def fetch() -> Token:
        await asyncio.sleep(0)  # let every caller arrive while the fetch is in flight
        issued.append(f"t{len(issued) + 1}")
        return Token(issued[-1], clock.monotonic() + 100)

    cache = TokenCache(fetch, clock)
    tokens = await asyncio.gather(*(cache.get() for _ in range(10)))
    assert [t.access_token for t in tokens] == ["t1"] * 10 and cache.fetches == 1
    clock.advance(99)
    assert (await cache.get()).access_token == "t1"
    clock.advance(1)
    assert (await cache.get()).access_token == "t2" and cache.fetches == 2
    cache.invalidate()
    assert (await cache.get()).access_token == "t3" and cache.fetches == 3


async def _token_calls(session: aiohttp.ClientSession, source: str) -> int:
    async with session.get("/_sim/stats") as resp:
        body: dict[str, Any] = await resp.json()
    return int(body["routes"].get(TOKEN_ROUTES[source], {}).get("count", 0))


@pytest.mark.parametrize("source", ["salesforce", "netsuite"])
async def test_ten_concurrent_callers_share_one_token_request(
    simulators: SimulatorGroup, source: str
) -> None:
    sim = simulators.running[source]
    clock = ManualClock(START)
    cls = SalesforceClient if source == "salesforce" else NetSuiteClient
    client: SourceClient = cls(
        SourceConfig(base_url=sim.connector_base_url, credentials=dict(sim.info.credentials)), clock=clock
    )
    async with aiohttp.ClientSession(base_url=sim.url) as admin:
        before = await _token_calls(admin, source)
        try:
            headers = await asyncio.gather(*(client.auth_headers() for _ in range(10)))
            assert len({h["Authorization"] for h in headers}) == 1
            assert await _token_calls(admin, source) - before == 1
            if source == "netsuite":  # expires_in 3600, refreshed a minute early
                clock.advance(3539)
                await asyncio.gather(*(client.auth_headers() for _ in range(10)))
                assert await _token_calls(admin, source) - before == 1
                clock.advance(1)
                await asyncio.gather(*(client.auth_headers() for _ in range(10)))
                assert await _token_calls(admin, source) - before == 2
            else:  # no expiry: the token lives until a 401 invalidates it
                clock.advance(86_400)
                await client.auth_headers()
                assert await _token_calls(admin, source) - before == 1
                client.invalidate_auth()
                await asyncio.gather(*(client.auth_headers() for _ in range(10)))
                assert await _token_calls(admin, source) - before == 2
        finally:
            await client.close()


# -- field readers -------------------------------------------------------------------------------


def _fail(record: Mapping[str, Any], field: str, problem: str) -> SourceDataError:
    return SourceDataError("salesforce", f"record {problem}", record_id=record.get("id"), field=field)


JSON = FieldReader(_fail)
TEXTUAL = FieldReader(_fail, blank_is_none=True, strings_only=True, flag_words=("true", "false"))


def test_a_json_reader_reads_typed_values_exactly() -> None:
    record = {
        "id": "r1",
        "name": "Acme",
        "blank": "",
        "n": 12.5,
        "i": 3,
        "s": "7.25",
        "on": True,
        "day": "2026-02-28",
    }
    assert JSON.required_text(record, "name") == "Acme"
    assert JSON.text(record, "blank") == "" and JSON.text(record, "absent") is None
    assert (JSON.number(record, "n"), JSON.number(record, "i"), JSON.number(record, "s")) == (
        Decimal("12.5"),
        Decimal("3"),
        Decimal("7.25"),
    )
    assert JSON.flag(record, "on") is True and JSON.flag(record, "absent") is False
    assert JSON.date(record, "day") == date(2026, 2, 28)
    assert JSON.number(record, "absent") is None and JSON.date(record, "absent") is None


def test_a_textual_reader_parses_strings_and_treats_blank_as_unset() -> None:
    record = {"id": "r2", "amount": "1500.50", "closed": "false", "won": "true", "note": ""}
    assert TEXTUAL.number(record, "amount") == Decimal("1500.50")
    assert (TEXTUAL.flag(record, "closed"), TEXTUAL.flag(record, "won"), TEXTUAL.flag(record, "note")) == (
        False,
        True,
        False,
    )
    assert TEXTUAL.text(record, "note") is None


@pytest.mark.parametrize(
    ("reader", "record", "read", "message"),
    [
        (JSON, {"id": "x", "name": ""}, lambda r, rec: r.required_text(rec, "name"), "record has no name"),
        (JSON, {"id": "x", "name": 5}, lambda r, rec: r.text(rec, "name"), "record has a non-string name: 5"),
        (JSON, {"id": "x", "n": True}, lambda r, rec: r.number(rec, "n"), "record has a non-numeric n: True"),
        (
            JSON,
            {"id": "x", "n": "12,5"},
            lambda r, rec: r.number(rec, "n"),
            "record has a non-numeric n: '12,5'",
        ),
        (
            JSON,
            {"id": "x", "on": "yes"},
            lambda r, rec: r.flag(rec, "on"),
            "record has a non-boolean on: 'yes'",
        ),
        (
            JSON,
            {"id": "x", "d": "2026-13-01"},
            lambda r, rec: r.date(rec, "d"),
            "record has a malformed d: '2026-13-01'",
        ),
        (TEXTUAL, {"id": "x", "n": 5}, lambda r, rec: r.number(rec, "n"), "record has a non-string n: 5"),
        (
            TEXTUAL,
            {"id": "x", "n": "NaN"},
            lambda r, rec: r.number(rec, "n", finite=True),
            "record has a non-numeric n: 'NaN'",
        ),
        (
            TEXTUAL,
            {"id": "x", "f": "True"},
            lambda r, rec: r.flag(rec, "f"),
            "record has a non-boolean f: 'True'",
        ),
    ],
)
def test_a_bad_field_is_a_data_error_naming_record_and_field(
    reader: FieldReader,
    record: dict[str, Any],
    read: Callable[[FieldReader, dict[str, Any]], Any],
    message: str,
) -> None:
    with pytest.raises(SourceDataError) as caught:
        read(reader, record)
    field = next(k for k in record if k != "id")
    assert (caught.value.message, caught.value.record_id, caught.value.field) == (
        f"{message} (record x, field {field})",
        "x",
        field,
    )


# -- paginators (pages as plain dicts; the clients' paging runs against the simulators elsewhere) -


async def test_a_cursor_paginator_follows_to_the_end_and_refuses_a_loop() -> None:
    book: dict[str | None, dict[str, Any]] = {
        None: {"n": 1, "next": "b"},
        "b": {"n": 2, "next": "c"},
        "c": {"n": 3},
    }
    asked: list[str | None] = []

    async def fetch(cursor: str | None) -> dict[str, Any]:
        asked.append(cursor)
        return book[cursor]

    paginator = CursorPaginator(lambda p: p.get("next"), system="harvest", what="listing /x")
    assert [p["n"] for p in await paginator.pages(fetch)] == [1, 2, 3] and asked == [None, "b", "c"]
    book["c"] = {"n": 3, "next": "b"}
    with pytest.raises(SourceDataError, match="listing /x links back to a page it already gave"):
        await paginator.pages(fetch)


async def test_offset_and_page_number_paginators_fan_out_from_the_first_page() -> None:
    offsets: list[int] = []

    async def at(offset: int) -> dict[str, Any]:
        offsets.append(offset)
        return {"offset": offset, "total": 2500}

    pages = await OffsetPaginator(1000, lambda p: p["total"]).pages(at)
    assert [p["offset"] for p in pages] == [0, 1000, 2000] and offsets == [0, 1000, 2000]
    assert len(await OffsetPaginator(1000, lambda p: None).pages(at)) == 1

    async def numbered(n: int) -> dict[str, Any]:
        return {"page": n, "total_pages": 4}

    pages = await PageNumberPaginator(lambda p: p["total_pages"]).pages(numbered)
    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    assert dig({"paging": {"next": {"after": "42"}}}, "paging", "next", "after") == "42"
    assert dig({"paging": None}, "paging", "next", "after") is None


# -- every kit reads an HTTP-date Retry-After through the one parser -------------------------------

HTTP_DATE_40S = "Fri, 20 Nov 2026 12:00:40 GMT"  # START + 40 s


@pytest.mark.parametrize(
    ("cls", "credentials", "status"),
    [
        (HarvestClient, {"access_token": "t", "account_id": "1"}, 429),
        (NetSuiteClient, {"client_id": "c", "client_secret": "s"}, 429),
        (BambooHRClient, {"api_key": "k", "company_domain": "acme"}, 503),
        (SalesforceClient, {}, 429),
        (HubSpotClient, {"access_token": "pat"}, 429),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
async def test_each_kit_waits_exactly_until_an_http_date_retry_after(
    cls: type[SourceClient], credentials: dict[str, str], status: int
) -> None:
    """Before the toolkit each kit parsed only delta-seconds: an HTTP-date fell back to the kit's
    default (Harvest 15 s, NetSuite 1 s) or, on BambooHR's 503, was not seen as a rate limit at all."""
    clock = ManualClock(START)
    client = cls(SourceConfig(base_url="http://127.0.0.1:9", credentials=credentials), clock=clock)
    response = UpstreamResponse(status, {"Retry-After": HTTP_DATE_40S}, None, "http://127.0.0.1:9/x")
    assert client.retry_after(response) == 40.0
    clock.advance(30)
    assert client.retry_after(response) == 10.0
    await client.close()
