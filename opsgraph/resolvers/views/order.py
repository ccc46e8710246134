"""Stable, human order for records of several systems: by system, then numeric ids by value."""

from __future__ import annotations

from opsgraph.model import AnyRecord


def record_order(record: AnyRecord) -> tuple[str, int, int, str]:
    """Sort key: `psa:9` before `psa:10` (ids are strings, but many vendors number them)."""
    numeric = record.id.isdigit()
    return (record.system, 0 if numeric else 1, int(record.id) if numeric else 0, record.id)
