"""Declared resources: what a connector knows of each vendor resource, as data, not code.

Each kit's `resources.py` declares one `ResourceSpec` per resource it reads (as a Singer SDK tap
declares its streams); the client reads paths, id and change fields and record paths from there, so
the per-resource specifics of every vendor sit side by side in one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Batch", "Paging", "ResourceSpec"]

Paging = Literal["cursor", "offset", "page_number", "link", "none"]
"""How a listing goes on: a cursor in the body, an offset, a page number, a `next` link, or one page."""

Batch = Literal["batch_read", "id_filter", "per_id", "listing"]
"""How records are read by ids: a batch endpoint, an `IN (...)` style filter, one GET per id, or
picked from the full listing (a vendor with no read by ids)."""


@dataclass(frozen=True)
class ResourceSpec:
    name: str  # the vendor's name for it (`time_entries`, `Opportunity`, `customer`)
    path: str  # the list path (or the query's table) below the API root
    id_field: str  # the record's id in the vendor's body
    paging: Paging
    batch: Batch
    records_path: str | None = None  # the list's key in the page body; None: the body is the list
    change_field: str | None = None  # the vendor's last-modified field, for change polling
    fields: tuple[str, ...] = ()  # the fields or properties asked for, where the vendor takes a list
