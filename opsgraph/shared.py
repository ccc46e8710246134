"""Compact records: slotted frozen dataclasses (`CompactRecord`) whose equal immutable values are shared
between records -- one `"USD"`, one `Decimal("150.00")`, one day object for every record that holds it,
instead of a copy per record decoded from each vendor response -- and which pickle (to Redis) as a plain
tuple of their values.

The sharing table is bounded per type: past `LIMIT` values it starts again (what is shared stays shared;
values seen later are shared from then on), so a stream of unique values (notes) cannot grow it without end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal
from types import MemberDescriptorType
from typing import Any, ClassVar, TypeVar

LIMIT = 100_000

_tables: dict[type, dict[Any, Any]] = {}

C = TypeVar("C", bound="CompactRecord")


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


class CompactRecord:
    """Base of a hot record: `@compact(...)` over `@dataclass(frozen=True, slots=True, kw_only=True)`.
    Like `model.Record`: `system` is the configured system's name, `id` the record's id there."""

    __slots__ = ()
    _slots: ClassVar[tuple[MemberDescriptorType, ...]] = ()
    _shared: ClassVar[tuple[MemberDescriptorType, ...]] = ()

    system: str
    id: str

    def __post_init__(self) -> None:
        for slot in self._shared:
            value = slot.__get__(self)
            if value is not None:
                slot.__set__(self, shared(value))  # a member descriptor writes even to a frozen dataclass

    @property
    def key(self) -> str:
        """`system:id`, the record's canonical key."""
        return f"{self.system}:{self.id}"

    def __reduce__(self) -> tuple[Callable[..., CompactRecord], tuple[object, ...]]:
        return _restore, (type(self), *(slot.__get__(self) for slot in self._slots))


def compact(*, unshared: tuple[str, ...]) -> Callable[[type[C]], type[C]]:
    """Finish a `CompactRecord` dataclass: every field but `unshared` (values unique to each record) is
    shared."""

    def finish(cls: type[C]) -> type[C]:
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        cls._slots = tuple(cls.__dict__[n] for n in names)
        cls._shared = tuple(cls.__dict__[n] for n in names if n not in unshared)
        return cls

    return finish


def _restore(cls: type[C], *values: object) -> C:
    """A pickled record back, not through `__init__`: what one pickle holds once is shared already by
    every record it unpickles."""
    record = object.__new__(cls)
    for slot, value in zip(cls._slots, values, strict=True):
        slot.__set__(record, value)
    return record
