"""Equal immutable values shared between records: one `"USD"`, one `Decimal("150.00")`, one day object
for every record that holds it, instead of a copy per record decoded from each vendor response.

A bounded table per process: past `LIMIT` values it starts again (what is shared stays shared; values
seen later are shared from then on), so a stream of unique values (notes) cannot grow it without end.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

LIMIT = 200_000

_table: dict[tuple[type, object], Any] = {}


def shared(value: Any) -> Any:
    """The shared object equal to `value` (of its exact type; a Decimal also of its exact digits, so
    `150.00` and `150` stay apart), or `value` itself, now shared."""
    kind = type(value)
    key = (kind, value.as_tuple() if kind is Decimal else value)
    found = _table.get(key)
    if found is not None:
        return found
    if len(_table) >= LIMIT:
        _table.clear()
    _table[key] = value
    return value


def share_fields(record: object, names: tuple[str, ...]) -> None:
    """Replace each of `record`'s fields `names` (a frozen dataclass's) by its shared equal."""
    for name in names:
        value = getattr(record, name)
        if value is not None:
            object.__setattr__(record, name, shared(value))
