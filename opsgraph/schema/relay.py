"""Relay global ids: an opaque encoding of (type name, canonical key).

A decoded key is checked against its type's shape before anything leaves the gateway: an id
no system could hold is the caller's mistake (BAD_USER_INPUT), never a vendor call that
might fail, count against the vendor's health or open its breaker.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from opsgraph.schema.errors import BadUserInput

NODE_TYPES = ("Client", "Opportunity", "Engagement", "Resource", "TimeEntry", "Invoice")
INT64_MAX = 2**63 - 1
MAX_ID_CHARS = 200
"""Longer ids are refused before decoding (no canonical key comes near it)."""

_RECORD_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def is_int64(key: str) -> bool:
    """ASCII digits only (`"¹".isdigit()` is true in Python) that fit a signed 64-bit id."""
    return key.isascii() and key.isdigit() and len(key) <= 19 and int(key) <= INT64_MAX


def _resource_key(key: str) -> bool:
    """An HR employee id, or `psa-<id>` for a person only the PSA knows."""
    return is_int64(key[4:]) if key.startswith("psa-") else is_int64(key)


KEY_SHAPES: dict[str, Callable[[str], bool]] = {
    "Client": lambda k: bool(_RECORD_ID.fullmatch(k)),
    "Opportunity": lambda k: bool(_RECORD_ID.fullmatch(k)),
    "Engagement": lambda k: bool(_CODE.fullmatch(k)),
    "Resource": _resource_key,
    "TimeEntry": is_int64,
    "Invoice": is_int64,
}


def to_global_id(type_name: str, key: str | int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")


def _shown(global_id: str) -> str:
    return repr(global_id if len(global_id) <= 60 else global_id[:57] + "...")


def from_global_id(global_id: str, expect: str | None = None) -> tuple[str, str]:
    """Decode an id; a malformed id, or one of another type, is the caller's mistake (BAD_USER_INPUT)."""
    malformed = BadUserInput(f"Malformed id {_shown(global_id)}", argument="id")
    if len(global_id) > MAX_ID_CHARS:
        raise malformed
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, key = raw.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise malformed from None
    if type_name not in NODE_TYPES or not KEY_SHAPES[type_name](key):
        raise malformed
    if expect is not None and type_name != expect:
        raise BadUserInput(f"Id {_shown(global_id)} is a {type_name}, not a {expect}", argument="id")
    return type_name, key
