"""Relay global ids: an opaque encoding of (type name, canonical key)."""

from __future__ import annotations

import base64
import binascii

from opsgraph.schema.errors import BadUserInput

NODE_TYPES = ("Client", "Opportunity", "Engagement", "Resource", "TimeEntry", "Invoice")


def to_global_id(type_name: str, key: str | int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def from_global_id(global_id: str, expect: str | None = None) -> tuple[str, str]:
    """Decode an id; a malformed id or one of another type is the caller's mistake (BAD_USER_INPUT)."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, key = raw.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput(f"Malformed id {global_id!r}", argument="id") from None
    if type_name not in NODE_TYPES or not key:
        raise BadUserInput(f"Malformed id {global_id!r}", argument="id")
    if expect is not None and type_name != expect:
        raise BadUserInput(f"Id {global_id!r} is a {type_name}, not a {expect}", argument="id")
    return type_name, key
