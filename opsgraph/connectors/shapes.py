"""Shape checks for `SourceClient.request(expect=...)`: is a 2xx body what the API answers?

A body that fails one is a `SourceBadResponse` (the system failing), decided inside the request
machinery so it is retried, counted and moves the breaker like a 5xx. A single record that cannot
be mapped is something else: a `SourceDataError` raised by the mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsgraph.connectors.base import Shape

__all__ = ["json_list", "json_object", "object_with"]


def json_object(body: Any) -> str | None:
    return None if isinstance(body, Mapping) else f"expected a JSON object, got {_kind(body)}"


def json_list(body: Any) -> str | None:
    return None if isinstance(body, list) else f"expected a JSON array, got {_kind(body)}"


def object_with(key: str, kind: type = list, *, optional: bool = False) -> Shape:
    """A JSON object whose `key` holds a `kind` (a list unless told); `optional` lets it be absent or null."""

    def check(body: Any) -> str | None:
        if not isinstance(body, Mapping):
            return f"expected a JSON object, got {_kind(body)}"
        value = body.get(key)
        if (value is None and optional) or isinstance(value, kind):
            return None
        return (
            f"expected {key!r} to be a {'JSON array' if kind is list else 'JSON object'}, got {_kind(value)}"
        )

    return check


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
