"""Id checks shared by connectors and simulators."""

from __future__ import annotations


def is_digits(text: str) -> bool:
    """ASCII digits only. `str.isdigit()` is also true for "¹" or "١٢", which `int()` refuses or
    reads as another number: an id like that is no vendor's id."""
    return text.isascii() and text.isdigit()


def ascii_int(text: str) -> int:
    """`int()` of an optionally signed run of ASCII digits; ValueError for anything else ("١٢", "1_0")."""
    body = text[1:] if text[:1] in "+-" else text
    if not is_digits(body):
        raise ValueError(f"not an integer: {text!r}")
    return int(text)
