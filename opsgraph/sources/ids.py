"""Id checks shared by connectors and simulators."""

from __future__ import annotations


def is_digits(text: str) -> bool:
    """ASCII digits only. `str.isdigit()` is also true for "¹" or "١٢", which `int()` refuses or
    reads as another number: an id like that is no vendor's id."""
    return text.isascii() and text.isdigit()
