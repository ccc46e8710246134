"""The CRM search API of the simulator: filter groups with HubSpot's limits, one sort, offset paging
that stops at the result cap (a deeper page is a 400), and `total` counting every match."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from opsgraph.connectors.hubspot.mapping import parse_datetime
from opsgraph.connectors.hubspot.resources import (
    SEARCH_MAX_FILTERS,
    SEARCH_MAX_FILTERS_PER_GROUP,
    SEARCH_MAX_GROUPS,
)
from simulators.hubspot.sim_state import DEFAULT_PROPERTIES, HubObject, PortalState

MAX_PAGE = 200
OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
    }
)
_TEMPORAL = frozenset({"createdate", "hs_lastmodifieddate", "closedate"})
_NUMERIC = frozenset({"amount", "hs_deal_stage_probability", "hs_object_id"})


class SearchError(Exception):
    """A 400 VALIDATION_ERROR from the search endpoint."""

    def __init__(self, message: str, sub_category: str | None = None) -> None:
        super().__init__(message)
        self.message, self.sub_category = message, sub_category


def _key(prop: str, value: str) -> Any:
    """A comparable form of a property value (timestamps as epoch ms, numbers as Decimal)."""
    try:
        if prop in _TEMPORAL:
            return int(parse_datetime(value).timestamp() * 1000)
        if prop in _NUMERIC:
            return Decimal(value)
    except (ValueError, InvalidOperation):
        raise SearchError(f"{value!r} is not a valid value for property {prop}") from None
    return value.lower()


def _predicate(f: Mapping[str, Any]) -> Callable[[HubObject], bool]:
    prop, op = f.get("propertyName"), f.get("operator", "EQ")
    if not isinstance(prop, str) or op not in OPERATORS:
        raise SearchError(f"Invalid filter: propertyName {prop!r}, operator {op!r}")
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        want = op == "HAS_PROPERTY"
        return lambda o: (o.properties.get(prop) not in (None, "")) == want
    if op in ("IN", "NOT_IN"):
        values = f.get("values")
        if not isinstance(values, list) or not values:
            raise SearchError(f"Operator {op} needs a non-empty 'values' list")
        keys = {_key(prop, str(v)) for v in values}
        inside = op == "IN"
        return lambda o: _has(o, prop) and (_key(prop, str(o.properties[prop])) in keys) == inside
    value = f.get("value")
    if value is None:
        raise SearchError(f"Operator {op} needs a 'value'")
    low = _key(prop, str(value))
    if op == "BETWEEN":
        high = _key(prop, str(f.get("highValue", "")))
        return lambda o: _has(o, prop) and low <= _key(prop, str(o.properties[prop])) <= high
    if op == "CONTAINS_TOKEN":
        token = str(value).lower().strip("*")
        return lambda o: _has(o, prop) and token in str(o.properties[prop]).lower()
    compare: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda k: k == low,
        "NEQ": lambda k: k != low,
        "LT": lambda k: k < low,
        "LTE": lambda k: k <= low,
        "GT": lambda k: k > low,
        "GTE": lambda k: k >= low,
    }
    test = compare[op]
    if op == "NEQ":
        return lambda o: not _has(o, prop) or test(_key(prop, str(o.properties[prop])))
    return lambda o: _has(o, prop) and test(_key(prop, str(o.properties[prop])))


def _has(o: HubObject, prop: str) -> bool:
    return o.properties.get(prop) not in (None, "")


def check_limits(groups: Any) -> list[list[Mapping[str, Any]]]:
    """The filter groups, or a SearchError worded as HubSpot's when a limit is broken."""
    if groups is None:
        return []
    if not isinstance(groups, list) or not all(
        isinstance(g, dict) and isinstance(g.get("filters", []), list) for g in groups
    ):
        raise SearchError("filterGroups must be a list of objects with a 'filters' list")
    if len(groups) > SEARCH_MAX_GROUPS:
        raise SearchError(
            f"Too many filter groups ({len(groups)}). The maximum number of filter groups is "
            f"{SEARCH_MAX_GROUPS}.",
            "TOO_MANY_FILTER_GROUPS",
        )
    out = [list(g.get("filters", [])) for g in groups]
    for filters in out:
        if len(filters) > SEARCH_MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"Too many filters in a filter group ({len(filters)}). The maximum number of filters per "
                f"group is {SEARCH_MAX_FILTERS_PER_GROUP}.",
                "TOO_MANY_FILTERS_IN_GROUP",
            )
        if not all(isinstance(f, dict) for f in filters):
            raise SearchError("each filter must be an object")
    total = sum(len(f) for f in out)
    if total > SEARCH_MAX_FILTERS:
        raise SearchError(
            f"Too many filters ({total}). The maximum number of filters across all groups is "
            f"{SEARCH_MAX_FILTERS}.",
            "TOO_MANY_FILTERS",
        )
    return out


def search(state: PortalState, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """One page of a search, as `POST /crm/v3/objects/{kind}/search` answers."""
    groups = check_limits(body.get("filterGroups"))
    predicates = [[_predicate(f) for f in filters] for filters in groups]
    query = body.get("query")
    matches = [
        o
        for o in state.objects[kind].values()
        if (not predicates or any(all(p(o) for p in group) for group in predicates))
        and (
            not isinstance(query, str)
            or query.lower() in str(o.properties.get("name") or o.properties.get("dealname") or "").lower()
        )
    ]
    sorts = body.get("sorts") or []
    if not isinstance(sorts, list) or len(sorts) > 1:
        raise SearchError("Only one sort is allowed")
    matches.sort(key=lambda o: int(o.id))
    if sorts:
        sort = sorts[0] if isinstance(sorts[0], dict) else {"propertyName": str(sorts[0])}
        prop = str(sort.get("propertyName"))
        descending = sort.get("direction") == "DESCENDING"
        present = [o for o in matches if _has(o, prop)]
        absent = [o for o in matches if not _has(o, prop)]
        present.sort(key=lambda o: _key(prop, str(o.properties[prop])), reverse=descending)
        matches = present + absent
    limit, after = _paging(body)
    if after >= state.search_cap and matches:
        raise SearchError(
            f"Paging past {state.search_cap} results is not allowed: narrow the search", "PAGING_LIMIT"
        )
    end = min(after + limit, len(matches), state.search_cap)
    names = body.get("properties") or list(DEFAULT_PROPERTIES[kind])
    out: dict[str, Any] = {
        "total": len(matches),
        "results": [o.json(list(map(str, names))) for o in matches[after:end]],
    }
    if end < len(matches):
        out["paging"] = {"next": {"after": str(end)}}
    return out


def _paging(body: Mapping[str, Any]) -> tuple[int, int]:
    try:
        limit = int(body.get("limit", 10))
        after = int(body.get("after", 0) or 0)
    except (TypeError, ValueError):
        raise SearchError("limit and after must be integers") from None
    if not 1 <= limit <= MAX_PAGE or after < 0:
        raise SearchError(f"limit must be between 1 and {MAX_PAGE}")
    return limit, after
