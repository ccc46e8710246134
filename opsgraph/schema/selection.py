"""Which fields a document selects below a resolver's field, fragments flattened."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import SelectedField, Selection


def selected(selections: Iterable[Selection], *path: str) -> set[str]:
    """Names of the fields selected at `path` (field names, not aliases) below `selections`;
    `selected(info.selected_fields, "nodes")` on a connection's resolver gives its nodes' fields."""
    level = list(_fields(selections))
    for name in path:
        level = [f for field in level if field.name == name for f in _fields(field.selections)]
    return {f.name for f in level}


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for s in selections:
        if isinstance(s, SelectedField):
            yield s
        else:  # a fragment spread or an inline fragment
            yield from _fields(s.selections)
