"""Partial results: one system's failure spares what the other systems serve."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from opsgraph.connectors.errors import SourceError

T = TypeVar("T")


async def settled(work: Awaitable[T]) -> T | SourceError:
    """The result, or the source error that stopped it, for the caller to null only what needs it."""
    try:
        return await work
    except SourceError as exc:
        return exc


def incomplete(error: SourceError, what: str) -> dict[str, Any]:
    """An `extensions.warnings` entry for a result that arrived without one system's part; `source`
    (kept for clients of the previous release) and `system` both name the configured system."""
    return {"code": "INCOMPLETE_DATA", "source": error.system, "system": error.system, "message": what}
