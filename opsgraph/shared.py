"""Equal immutable values shared between records: one `"USD"`, one `Decimal("150.00")`, one day object
for every record that holds it, instead of a copy per record decoded from each vendor response.

A bounded table per type: past `LIMIT` values it starts again (what is shared stays shared; values seen
later are shared from then on), so a stream of unique values (notes) cannot grow it without end.
"""

from __future__ import annotations

from decimal import Decimal
from types import MemberDescriptorType
from typing import Any

LIMIT = 100_000

_tables: dict[type, dict[Any, Any]] = {}


def shared(value: Any) -> Any:
    """The shared object equal to `value` and of its exact type (a Decimal also of its exact digits, so
    `150.00` and `150` stay apart), or `value` itself, now shared."""
    kind = type(value)
    table = _tables.get(kind)
    if table is None:
        table = _tables[kind] = {}
    key = value.as_tuple() if kind is Decimal else value
    found = table.get(key)
    if found is None:
        if len(table) >= LIMIT:
            table.clear()
        table[key] = found = value
    return found


def share_slots(record: object, slots: tuple[MemberDescriptorType, ...]) -> None:
    """Replace each of `record`'s `slots` (member descriptors of its class, which write even to a frozen
    dataclass) by its shared equal."""
    for slot in slots:
        value = slot.__get__(record)
        if value is not None:
            slot.__set__(record, shared(value))
