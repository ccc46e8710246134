"""Harvest's list envelope: page or cursor paging, absolute `links`, and query-string filters.

Per the Harvest v2 docs: `per_page` is 1..2000 (default 2000, larger is a 422); `page` and `cursor` are
mutually exclusive and `cursor` wins; cursor-paged listings (newest first, keyed on id) return `page`,
`next_page` and `previous_page` as null on every page but the first and the last.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from opsgraph.connectors.ids import ascii_int
from simulators.harvest.sim_state import parse_ts
from simulators.harvest.sim_wire import Resource
from simulators.simkit.routing import Refused
from simulators.simkit.store import Store

MAX_PER_PAGE = 2000
_PAGING_PARAMS = frozenset({"page", "cursor", "per_page", "ref"})


class HarvestReject(Refused):
    """Ends a request with one of Harvest's error responses."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(str(body))
        self.status, self.body = status, dict(body)

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status)


def unprocessable(message: str) -> HarvestReject:
    return HarvestReject(422, {"message": message})


def not_found() -> HarvestReject:
    return HarvestReject(404, {"status": 404, "error": "Not Found"})


def encode_cursor(direction: str, row_id: int) -> str:
    raw = json.dumps({direction: {"id": row_id}}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    """('after' | 'before', id); raises ValueError on a malformed cursor."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ((direction, key),) = data.items()
        if direction not in ("after", "before"):
            raise ValueError(direction)
        return direction, int(key["id"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"invalid cursor: {cursor!r}") from exc


@dataclass
class Filters:
    """SQL conditions built from a request's query string; every value is a parameter."""

    query: Mapping[str, str]
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, sql: str, *values: Any) -> None:
        self.where.append(sql)
        self.params.extend(values)

    def flag(self, name: str) -> bool | None:
        raw = self.query.get(name)
        if raw is None:
            return None
        if raw.lower() not in ("true", "false"):
            raise unprocessable(f"Invalid {name} parameter: {raw!r} is not true or false")
        return raw.lower() == "true"

    def boolean(self, name: str, column: str) -> None:
        value = self.flag(name)
        if value is not None:
            self.add(f"{column} = ?", int(value))

    def integer(self, name: str, condition: str) -> None:
        """`condition` is a column (compared with `=`) or SQL with one `?`."""
        raw = self.query.get(name)
        if raw is None:
            return
        try:
            value = ascii_int(raw)
        except ValueError:
            raise unprocessable(f"Invalid {name} parameter: {raw!r} is not an integer") from None
        self.add(condition if "?" in condition else f"{condition} = ?", value)

    def day(self, name: str, column: str, op: str) -> None:
        raw = self.query.get(name)
        if raw is None:
            return
        try:
            self.add(f"{column} {op} ?", date.fromisoformat(raw).isoformat())
        except ValueError:
            raise unprocessable(f"Invalid {name} parameter: {raw!r} is not a date (YYYY-MM-DD)") from None

    def updated_since(self, column: str) -> None:
        raw = self.query.get("updated_since")
        if raw is None:
            return
        try:
            self.add(f"{column} >= ?", parse_ts(raw))
        except ValueError:
            raise unprocessable(
                f"Invalid updated_since parameter: {raw!r} is not an ISO 8601 datetime"
            ) from None

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.where) if self.where else ""


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


def list_page(request: Request, store: Store, listing: Resource, filters: Filters) -> Response:
    """One page of a listing in Harvest's envelope."""
    query = request.query_params
    per_page = _int_param(query, "per_page", MAX_PER_PAGE)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise unprocessable(f"per_page must be between 1 and {MAX_PER_PAGE}")
    where, params = filters.sql(), filters.params
    total = int(store.scalar(f"SELECT COUNT(*) FROM {listing.base}{where}", params))
    total_pages = max(1, math.ceil(total / per_page))
    cursor = query.get("cursor") if listing.cursor else None
    and_ = " AND " if where else " WHERE "
    ids_sql = f"SELECT {listing.id_col} FROM {listing.base}{where}"
    if cursor:
        try:
            direction, key = decode_cursor(cursor)
        except ValueError as exc:
            raise unprocessable(str(exc)) from None
        op = ">=" if direction == "after" else ">"
        ahead = int(
            store.scalar(
                f"SELECT COUNT(*) FROM {listing.base}{where}{and_}{listing.id_col} {op} ?", [*params, key]
            )
        )
        if direction == "after":
            sql = f"{ids_sql}{and_}{listing.id_col} < ? ORDER BY {listing.order} LIMIT ?"
            ids = [r[0] for r in store.execute(sql, [*params, key, per_page])]
            offset = ahead
        else:
            sql = f"{ids_sql}{and_}{listing.id_col} > ? ORDER BY {listing.id_col} LIMIT ?"
            ids = [r[0] for r in store.execute(sql, [*params, key, per_page])][::-1]
            offset = ahead - len(ids)
        page = offset // per_page + 1
    else:
        page = _int_param(query, "page", 1)
        if page < 1:
            raise unprocessable("page must be 1 or more")
        offset = (page - 1) * per_page
        sql = f"{ids_sql} ORDER BY {listing.order} LIMIT ? OFFSET ?"
        ids = [r[0] for r in store.execute(sql, [*params, per_page, offset])]
    docs = listing.docs(store, ids)
    more = offset + len(ids) < total
    first, last = offset == 0, not more
    known = not listing.cursor or first or last
    meta: dict[str, Any] = {
        "per_page": per_page,
        "total_pages": total_pages,
        "total_entries": total,
        "next_page": page + 1 if known and more else None,
        "previous_page": page - 1 if known and page > 1 else None,
        "page": page if known else None,
    }
    link = _linker(request, per_page)
    if listing.cursor:
        nxt = link(cursor=encode_cursor("after", ids[-1]), ref="next_cursor") if more and ids else None
        prev = link(cursor=encode_cursor("before", ids[0]), ref="previous_cursor") if offset and ids else None
    else:
        nxt = link(page=page + 1, ref="next") if more else None
        prev = link(page=page - 1, ref="previous") if page > 1 else None
    meta["links"] = {
        "first": link(page=1, ref="first"),
        "next": nxt,
        "previous": prev,
        "last": link(page=total_pages, ref="last"),
    }
    body = f'{{"{listing.key}":[{",".join(docs)}],{json.dumps(meta, separators=(",", ":"))[1:]}'
    return Response(body, media_type="application/json")


def document(store: Store, resource: Resource, row_id: int, status: int = 200) -> Response:
    """One record's JSON, or Harvest's 404."""
    doc = resource.one(store, row_id)
    if doc is None:
        raise not_found()
    return Response(doc, status_code=status, media_type="application/json")


def _linker(request: Request, per_page: int) -> Callable[..., str]:
    url = request.url
    base = f"{url.scheme}://{url.netloc}{url.path}"
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _PAGING_PARAMS]

    def link(*, ref: str, page: int | None = None, cursor: str | None = None) -> str:
        position = [("cursor", cursor)] if cursor is not None else [("page", str(page))]
        return f"{base}?{urlencode([*kept, *position, ('per_page', str(per_page)), ('ref', ref)])}"

    return link
