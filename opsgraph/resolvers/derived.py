"""Structures derived from cached listings, built once per listing rather than once per request.

The memory cache returns the very object it stored (`cache/backend.py`), so a listing that has not
changed is the same object from one request to the next; a write or a change event that invalidates
it makes the next read a new object. An index, a grouping or a sorted, filtered view of a listing is
therefore keyed by its sources' identities: while they are the same objects it is reused, and when
any of them is replaced it is rebuilt. The least recently used slots beyond a bound go; a slot keeps
its last few versions (a listing kept per authorization scope is a separate object per scope), and
holds the sources it was built from, so an identity is never reused by a newer object while its
entry lives.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

V = TypeVar("V")

_Entry = tuple[tuple[object, ...], Any]


class Derived:
    """Derivations by slot (what is derived, from which listing, with which parameters) and by the
    identity of the objects they derive from."""

    def __init__(self, versions: int = 2, slots: int = 512) -> None:
        self._versions = versions
        self._max_slots = slots
        self._slots: OrderedDict[Hashable, list[_Entry]] = OrderedDict()
        self.builds = 0
        """How many derivations were built (not reused): tests count them."""

    def get(self, slot: Hashable, sources: Sequence[object], build: Callable[[], V]) -> V:
        """`build()`, or what it returned for these very `sources` in this slot."""
        entries = self._slots.get(slot)
        if entries is None:
            entries = self._slots[slot] = []
            if len(self._slots) > self._max_slots:  # slots named by arguments (a filter): the oldest go
                self._slots.popitem(last=False)
        else:
            self._slots.move_to_end(slot)
        for i, (seen, value) in enumerate(entries):
            if len(seen) == len(sources) and all(a is b for a, b in zip(seen, sources, strict=True)):
                if i:
                    entries.insert(0, entries.pop(i))
                result: V = value
                return result
        made = build()
        self.builds += 1
        entries.insert(0, (tuple(sources), made))
        del entries[self._versions :]
        return made

    def clear(self) -> None:
        self._slots.clear()


SHARED = Derived()
"""The process's derivations: keyed by object identity, so every app and request may share them."""
