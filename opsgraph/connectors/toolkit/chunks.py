"""Id lists cut to a vendor's batch limit (ids per request, per `IN (...)`, per URL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

__all__ = ["chunks"]

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """Consecutive slices of at most `size` items, in order; none for an empty list."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]
