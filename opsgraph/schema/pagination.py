"""Cursor connections with `first`/`after` and `totalCount`, sliced from a fully-known list."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from opsgraph.schema.errors import BadUserInput

T = TypeVar("T")
S = TypeVar("S")
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    nodes: list[T]
    page_info: PageInfo
    total_count: int


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    try:
        kind, value = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
        if kind != "offset" or int(value) < 0:
            raise ValueError(cursor)
        return int(value)
    except ValueError:
        raise BadUserInput(f"Invalid cursor {cursor!r}", argument="after") from None


def check_first(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE_SIZE}, got {first}", argument="first")
    return first


def window(total: int, first: int | None, after: str | None) -> tuple[int, int]:
    """Validate the arguments and return the [start, stop) slice they select."""
    size = check_first(first)
    start = _offset(after) + 1 if after else 0
    return start, min(total, start + size)


def connection(
    items: Sequence[S], first: int | None, after: str | None, node: Callable[[S], T]
) -> Connection[T]:
    """Slice first, then build the page's nodes: of 20,000 rows only `first` are converted."""
    start, stop = window(len(items), first, after)
    page = [node(item) for item in items[start:stop]]
    edges = [Edge(cursor=_cursor(start + i), node=n) for i, n in enumerate(page)]
    return Connection(
        edges=edges,
        nodes=page,
        page_info=PageInfo(
            has_next_page=stop < len(items),
            has_previous_page=start > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=len(items),
    )
