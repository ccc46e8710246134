"""Paginators: how a listing goes on, as small objects the clients drive.

A client supplies `fetch` (one page, through `SourceClient.request`, so every page is retried,
counted and seen by the breaker) and says where the next page is; the paginator returns the pages
in order. Offsets and page numbers known from the first page are fetched concurrently (the client's
bulkhead caps it); cursors are followed one by one and a cursor seen twice is a `SourceDataError`,
never an endless loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from opsgraph.connectors.errors import SourceDataError

__all__ = ["CursorPaginator", "OffsetPaginator", "PageNumberPaginator", "dig"]

Page = Mapping[str, Any]


def dig(body: Any, *path: str) -> Any:
    """`body[a][b]...`, or None where any step is missing or not an object."""
    for key in path:
        body = body.get(key) if isinstance(body, Mapping) else None
    return body


class CursorPaginator:
    """Follow the cursor each page names (`next_cursor`) until it names none."""

    def __init__(self, next_cursor: Callable[[Page], Any], *, system: str, what: str) -> None:
        self.next_cursor = next_cursor
        self.system = system
        self.what = what

    async def pages(
        self, fetch: Callable[[str | None], Awaitable[Page]], first: Page | None = None
    ) -> list[Page]:
        """`fetch(None)` is the first page (unless given), `fetch(cursor)` each next one."""
        page = first if first is not None else await fetch(None)
        pages = [page]
        seen: set[str] = set()
        while cursor := self.next_cursor(page):
            cursor = str(cursor)
            if cursor in seen:
                raise SourceDataError(self.system, f"{self.what} links back to a page it already gave")
            seen.add(cursor)
            page = await fetch(cursor)
            pages.append(page)
        return pages


class OffsetPaginator:
    """`limit`/`offset` pages: once the first page tells the total, the rest are fetched at once."""

    def __init__(self, page_size: int, total: Callable[[Page], int | None]) -> None:
        self.page_size = page_size
        self.total = total

    async def pages(self, fetch: Callable[[int], Awaitable[Page]]) -> list[Page]:
        first = await fetch(0)
        total = self.total(first)
        if total is None:
            return [first]
        rest = await asyncio.gather(*(fetch(at) for at in range(self.page_size, total, self.page_size)))
        return [first, *rest]


class PageNumberPaginator:
    """Numbered pages from 1: once the first page tells how many, pages 2..N are fetched at once."""

    def __init__(self, total_pages: Callable[[Page], int | None]) -> None:
        self.total_pages = total_pages

    async def pages(self, fetch: Callable[[int], Awaitable[Page]], first: Page | None = None) -> list[Page]:
        page = first if first is not None else await fetch(1)
        count = self.total_pages(page)
        if count is None:
            return [page]
        rest = await asyncio.gather(*(fetch(n) for n in range(2, count + 1)))
        return [page, *rest]
