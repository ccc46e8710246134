"""The Harvest simulator's reports, aggregated in SQLite: Time Reports (`GET /v2/reports/time/projects`)
and the Uninvoiced Report (`GET /v2/reports/uninvoiced`).

Per the Harvest v2 docs (Reports API, "Time Reports"):

- `from` and `to` are both required, inclusive on `spent_date`; their documented type is `date`
  (`2017-12-31`) while the examples send `20170101`, so both forms are accepted.
- The timeframe "cannot exceed 1 year (365 days)". Harvest enforces it as `to - from <= 365` days (a
  366-day inclusive span passes, one more day fails) and answers 400
  `{"message": "Invalid timeframe: must not exceed 1 year"}`, as reported against the live API
  (airbytehq/airbyte issues 19808 and 27751).
- `include_fixed_fee=true` calculates billable amounts for fixed-fee projects too; otherwise a fixed-fee
  project still reports its hours but a `billable_amount` of 0.
- One result per project and currency, for projects with tracked time in the timeframe only; the
  project's name is shown as `[code] name` when it has a code. Results are ordered by that name.
- Page-based paging like other lists (`per_page` 1..2000, default 2000), with `results` as the array;
  a page past the end has an empty `results`. Links list the query keys in sorted order, without `ref`.

The Uninvoiced Report has the same timeframe rules and paging; one result per project and currency
with uninvoiced time in the timeframe: `client_id, client_name, project_id, project_name, currency,
total_hours, uninvoiced_hours, uninvoiced_expenses, uninvoiced_amount`. Uninvoiced time is billable
time not on an invoice; on an account with Approvals (which is how the firm uses Harvest: a closed entry
is an approved one) only approved time is counted. The simulator has no expenses (0). Its
`uninvoiced_amount` is the exact sum of `hours * billable_rate` (not rounded to cents), so that a sum
across projects is the sum of the entries.

Sums are exact: hours are added as integer millionths of an hour and amounts as integer ten-thousandths
(each entry's `hours * billable_rate`), then the amount is rounded to cents.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from opsgraph.connectors.ids import ascii_int
from simulators.harvest.sim_paging import MAX_PER_PAGE, Filters, HarvestReject, unprocessable
from simulators.simkit.store import Store

MAX_SPAN_DAYS = 365
TIMEFRAME_TOO_LONG = "Invalid timeframe: must not exceed 1 year"
HOUR_UNITS = 1_000_000
AMOUNT_UNITS = 10_000
CENTS = Decimal("0.01")
_DAY = re.compile(r"(\d{4})(\d{2})(\d{2})|(\d{4})-(\d{2})-(\d{2})")

_PROJECT_NAME = "CASE WHEN p.code IS NULL OR p.code = '' THEN p.name ELSE '[' || p.code || '] ' || p.name END"
_BY_PROJECT = f"""
SELECT p.id AS project_id, {_PROJECT_NAME} AS project_name, c.id AS client_id, c.name AS client_name,
       c.currency AS currency,
       SUM(CAST(ROUND(te.hours * {HOUR_UNITS}) AS INTEGER)) AS total_units,
       SUM(CASE WHEN te.billable THEN CAST(ROUND(te.hours * {HOUR_UNITS}) AS INTEGER) ELSE 0 END)
           AS billable_units,
       SUM(CASE WHEN te.billable AND te.billable_rate IS NOT NULL AND (:fixed_fee OR NOT p.is_fixed_fee)
                THEN CAST(ROUND(te.hours * te.billable_rate * {AMOUNT_UNITS}) AS INTEGER) ELSE 0 END)
           AS amount_units
FROM time_entries te
JOIN projects p ON p.id = te.project_id
JOIN clients c ON c.id = p.client_id
WHERE te.spent_date >= :start AND te.spent_date <= :end
GROUP BY p.id, c.currency
"""


_UNINVOICED = f"""
SELECT p.id AS project_id, {_PROJECT_NAME} AS project_name, c.id AS client_id, c.name AS client_name,
       c.currency AS currency,
       SUM(CAST(ROUND(te.hours * {HOUR_UNITS}) AS INTEGER)) AS total_units,
       SUM(CAST(ROUND(te.hours * {HOUR_UNITS}) AS INTEGER)) AS uninvoiced_units,
       SUM(CASE WHEN te.billable_rate IS NOT NULL AND (:fixed_fee OR NOT p.is_fixed_fee)
                THEN CAST(ROUND(te.hours * te.billable_rate * {AMOUNT_UNITS}) AS INTEGER) ELSE 0 END)
           AS amount_units
FROM time_entries te
JOIN projects p ON p.id = te.project_id
JOIN clients c ON c.id = p.client_id
WHERE te.spent_date >= :start AND te.spent_date <= :end
  AND te.billable AND te.is_closed AND te.invoice_id IS NULL
GROUP BY p.id, c.currency
"""


def bad_request(message: str) -> HarvestReject:
    return HarvestReject(400, {"message": message})


def _day(query: Mapping[str, str], name: str) -> date:
    raw = query.get(name)
    if raw is None or not raw.strip():
        raise bad_request(f"The {name} parameter is required (a date: YYYYMMDD or YYYY-MM-DD)")
    found = _DAY.fullmatch(raw.strip())
    try:
        if found is None:
            raise ValueError(raw)
        return date(*(int(part) for part in found.groups() if part is not None))
    except ValueError:
        raise bad_request(
            f"Invalid {name} parameter: {raw!r} is not a date (YYYYMMDD or YYYY-MM-DD)"
        ) from None


def timeframe(query: Mapping[str, str]) -> tuple[date, date]:
    """The report's `(from, to)`, validated as Harvest does."""
    start, end = _day(query, "from"), _day(query, "to")
    if end < start:
        raise bad_request("Invalid timeframe: from must be on or before to")
    if (end - start).days > MAX_SPAN_DAYS:
        raise bad_request(TIMEFRAME_TOO_LONG)
    return start, end


PAGE_BOUND = 2**31


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = ascii_int(raw)
    except ValueError:
        raise unprocessable(f"Invalid {name} parameter: {raw!r} is not an integer") from None
    return max(-PAGE_BOUND, min(PAGE_BOUND, value))  # page 10**30 is an empty page, not an overflow


def _number(units: int, scale: int) -> float:
    return float(Decimal(units) / scale)


def _result(row: Mapping[str, Any]) -> dict[str, Any]:
    amount = (Decimal(row["amount_units"]) / AMOUNT_UNITS).quantize(CENTS, ROUND_HALF_UP)
    return {
        "project_id": row["project_id"],
        "project_name": row["project_name"],
        "client_id": row["client_id"],
        "client_name": row["client_name"],
        "total_hours": _number(row["total_units"], HOUR_UNITS),
        "billable_hours": _number(row["billable_units"], HOUR_UNITS),
        "currency": row["currency"],
        "billable_amount": float(amount),
    }


def _uninvoiced_result(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "client_id": row["client_id"],
        "client_name": row["client_name"],
        "project_id": row["project_id"],
        "project_name": row["project_name"],
        "currency": row["currency"],
        "total_hours": _number(row["total_units"], HOUR_UNITS),
        "uninvoiced_hours": _number(row["uninvoiced_units"], HOUR_UNITS),
        "uninvoiced_expenses": 0.0,
        "uninvoiced_amount": _number(row["amount_units"], AMOUNT_UNITS),
    }


def projects_time_report(store: Store, request: Request) -> Response:
    return _report(store, request, _BY_PROJECT, _result)


def uninvoiced_report(store: Store, request: Request) -> Response:
    return _report(store, request, _UNINVOICED, _uninvoiced_result)


def _report(
    store: Store, request: Request, by_project: str, result: Callable[[Mapping[str, Any]], dict[str, Any]]
) -> Response:
    query = request.query_params
    start, end = timeframe(query)
    fixed_fee = Filters(query).flag("include_fixed_fee") or False
    per_page = _int_param(query, "per_page", MAX_PER_PAGE)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise unprocessable(f"per_page must be between 1 and {MAX_PER_PAGE}")
    page = _int_param(query, "page", 1)
    if page < 1:
        raise unprocessable("page must be 1 or more")
    params = {"start": start.isoformat(), "end": end.isoformat(), "fixed_fee": int(fixed_fee)}
    total = int(store.scalar(f"SELECT COUNT(*) FROM ({by_project})", params))
    offset = (page - 1) * per_page
    rows = store.execute(
        f"{by_project} ORDER BY project_name, currency, project_id LIMIT :limit OFFSET :offset",
        {**params, "limit": per_page, "offset": offset},
    ).fetchall()
    total_pages = max(1, math.ceil(total / per_page))
    more = offset + len(rows) < total
    link = _linker(request, per_page)
    body = {
        "results": [result(r) for r in rows],
        "per_page": per_page,
        "total_pages": total_pages,
        "total_entries": total,
        "next_page": page + 1 if more else None,
        "previous_page": page - 1 if page > 1 else None,
        "page": page,
        "links": {
            "first": link(1),
            "next": link(page + 1) if more else None,
            "previous": link(page - 1) if page > 1 else None,
            "last": link(total_pages),
        },
    }
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


def _linker(request: Request, per_page: int) -> Callable[[int], str]:
    """Absolute page links with the query keys sorted, as Harvest's report examples show them."""
    url = request.url
    base = f"{url.scheme}://{url.netloc}{url.path}"
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "per_page", "ref")]

    def link(page: int) -> str:
        items = sorted([*kept, ("page", str(page)), ("per_page", str(per_page))], key=lambda kv: kv[0])
        return f"{base}?{urlencode(items)}"

    return link
