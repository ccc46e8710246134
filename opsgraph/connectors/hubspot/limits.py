"""HubSpot's request limits, checked before any request: search filter groups and object ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opsgraph.connectors.hubspot.resources import (
    SEARCH_MAX_FILTERS,
    SEARCH_MAX_FILTERS_PER_GROUP,
    SEARCH_MAX_GROUPS,
)

__all__ = ["MAX_OBJECT_ID", "Filter", "check_filter_groups", "is_object_id"]

Filter = dict[str, Any]
MAX_OBJECT_ID = 2**63 - 1  # object ids are 64-bit integers


def check_filter_groups(groups: Sequence[Sequence[Filter]]) -> None:
    """Raise ValueError when a search would break HubSpot's filter-group limits."""
    total = sum(len(g) for g in groups)
    if len(groups) > SEARCH_MAX_GROUPS:
        raise ValueError(f"{len(groups)} filter groups; HubSpot allows {SEARCH_MAX_GROUPS}")
    if any(len(g) > SEARCH_MAX_FILTERS_PER_GROUP for g in groups):
        raise ValueError(f"more than {SEARCH_MAX_FILTERS_PER_GROUP} filters in one group")
    if total > SEARCH_MAX_FILTERS:
        raise ValueError(f"{total} filters; HubSpot allows {SEARCH_MAX_FILTERS} in total")


def is_object_id(value: str) -> bool:
    """A HubSpot object id as HubSpot writes it: the ASCII digits ("¹".isdigit() is True) of a
    64-bit integer, without leading zeros (HubSpot would answer "0012" as "12")."""
    return (
        value.isascii()
        and value.isdigit()
        and len(value) <= 19
        and (value == "0" or value[0] != "0")
        and int(value) <= MAX_OBJECT_ID
    )
