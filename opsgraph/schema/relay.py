"""Relay global ids: an opaque encoding of (type name, key).

The key is the record's canonical key (`system:id`, `opsgraph.model.record_key`), except for an
Engagement, whose key is its engagement code (unique across systems: the cross-system join key).

A decoded key is checked against its type's shape before anything leaves the gateway: an id no
system could hold (not `system:id`, a bad system name, a local id with spaces or non-ASCII
characters) is the caller's mistake (BAD_USER_INPUT), never a vendor call that might fail, count
against the vendor's health or open its breaker. Which local ids a vendor accepts is the
connector's to know: one it could never hold is absent from its answer, without a call.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from opsgraph.model import SYSTEM_NAME
from opsgraph.schema.errors import BadUserInput

NODE_TYPES = ("Client", "Opportunity", "Engagement", "Resource", "TimeEntry", "Invoice", "Workflow")
MAX_ID_CHARS = 200
"""Longer ids are refused before decoding (no key comes near it)."""

_SYSTEM = re.compile(SYSTEM_NAME.removeprefix("^").removesuffix("$"))
_LOCAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,63}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def is_record_key(key: str) -> bool:
    """`system:id` with a valid system name and a local id of ASCII letters, digits and `._~-`."""
    system, sep, local_id = key.partition(":")
    return bool(sep and _SYSTEM.fullmatch(system) and _LOCAL_ID.fullmatch(local_id))


def _code(key: str) -> bool:
    return bool(_CODE.fullmatch(key))


_WORKFLOW = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}-[0-9a-f]{32}")  # `workflows.ids.workflow_id`

KEY_SHAPES: dict[str, Callable[[str], bool]] = {
    name: _code if name == "Engagement" else is_record_key for name in NODE_TYPES
}
KEY_SHAPES["Workflow"] = lambda key: bool(_WORKFLOW.fullmatch(key))


def to_global_id(type_name: str, key: str) -> str:
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
