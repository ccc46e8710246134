"""What every node type shares: the `Node` interface and the date-range check of range arguments."""

from __future__ import annotations

from datetime import date

import strawberry

from opsgraph.schema.errors import BadUserInput


def check_range(start: date, end: date, max_days: int = 731) -> None:
    if end < start:
        raise BadUserInput(f"`to` ({end}) is before `from` ({start})", argument="to")
    if (end - start).days + 1 > max_days:
        raise BadUserInput(f"date range longer than {max_days} days (both ends count)", argument="to")


@strawberry.interface(description="An object with a global id; `node(id:)` resolves any of them.")
class Node:
    id: strawberry.ID
