"""One field-reader library: typed values out of a vendor's raw records.

A kit builds one `FieldReader` with its own `fail` (how a `SourceDataError` names the record) and,
where fields are not plain keys, its own `get` (a dotted path, a `properties` object). Every reader
raises a `SourceDataError` naming the field, never a `KeyError` or a silent wrong value.

`blank_is_none` makes "" mean unset (HubSpot, SuiteQL rows); `strings_only` makes every value a
string on the wire (HubSpot properties): a number or a flag then arrives as text and is parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from opsgraph.connectors.errors import SourceDataError

__all__ = ["FieldReader", "Record"]

Record = Mapping[str, Any]
T = TypeVar("T")


def _key(record: Record, field: str) -> Any:
    return record.get(field)


class FieldReader:
    def __init__(
        self,
        fail: Callable[[Record, str, str], SourceDataError],
        *,
        get: Callable[[Record, str], Any] = _key,
        blank_is_none: bool = False,
        strings_only: bool = False,
        flag_words: tuple[str, str] | None = None,
    ) -> None:
        self.fail = fail
        self.get = get
        self.blank_is_none = blank_is_none
        self.strings_only = strings_only
        self.flag_words = flag_words  # (true, false) when flags arrive as text

    def _raw(self, record: Record, field: str) -> Any:
        value = self.get(record, field)
        return None if self.blank_is_none and value == "" else value

    def text(self, record: Record, field: str) -> str | None:
        value = self._raw(record, field)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(record, field, f"has a non-string {field}: {value!r}")
        return value

    def required_text(self, record: Record, field: str) -> str:
        value = self.text(record, field)
        if value is None or value == "":
            raise self.fail(record, field, f"has no {field}")
        return value

    def number(self, record: Record, field: str, *, finite: bool = False) -> Decimal | None:
        value = self.text(record, field) if self.strings_only else self._raw(record, field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(record, field, f"has a non-numeric {field}: {value!r}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(record, field, f"has a non-numeric {field}: {value!r}") from None
        if finite and not number.is_finite():
            raise self.fail(record, field, f"has a non-numeric {field}: {value!r}")
        return number

    def flag(self, record: Record, field: str) -> bool:
        """A yes/no field; absent means False."""
        value = self.text(record, field) if self.strings_only else self._raw(record, field)
        if value is None:
            return False
        if self.flag_words is not None:
            if value not in self.flag_words:
                raise self.fail(record, field, f"has a non-boolean {field}: {value!r}")
            return bool(value == self.flag_words[0])
        if not isinstance(value, bool):
            raise self.fail(record, field, f"has a non-boolean {field}: {value!r}")
        return value

    def parsed(self, record: Record, field: str, parse: Callable[[str], T]) -> T | None:
        """A text field through `parse`; a `ValueError` from it is a malformed field."""
        value = self.text(record, field)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError:
            raise self.fail(record, field, f"has a malformed {field}: {value!r}") from None

    def date(self, record: Record, field: str) -> date | None:
        return self.parsed(record, field, date.fromisoformat)

    def datetime(self, record: Record, field: str, parse: Callable[[str], datetime]) -> datetime | None:
        return self.parsed(record, field, parse)
