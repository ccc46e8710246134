"""Kantata OX API v1 resources, declared: where each lives, its id and change field, and how it pages.

Every listing pages by `page`/`per_page` and tells its `meta.page_count`; pages 2..N are fetched at
once. The read by ids is the listing with `only=1,2,3`; associations come in the same answer with
`include=`, keyed by id under their own type. Wire facts: VENDOR_APIS_MORE.md section 3.
"""

from __future__ import annotations

from opsgraph.connectors.toolkit.resources import ResourceSpec

__all__ = [
    "BILLING_FIELD",
    "BILLING_MODELS",
    "CHANGE_PARAM",
    "CODE_FIELD",
    "INVOICES",
    "MAX_BATCH",
    "ONLY_CHUNK",
    "PARTICIPATIONS",
    "PER_PAGE",
    "STORIES",
    "TIME_ENTRIES",
    "USERS",
    "WORKSPACES",
]

PER_PAGE = 200  # the page size the public tap asks for (Kantata's maximum is not published)
ONLY_CHUNK = 200  # ids per `only=` (and `workspace_id=`) list: one page's worth, a short URL
MAX_BATCH = 100  # records per create call (the plural key's array)
CHANGE_PARAM = "updated_after"
CODE_FIELD = "Engagement Code"  # the workspace custom field holding the engagement code
BILLING_FIELD = "Billing Model"  # the workspace custom field holding the billing model
BILLING_MODELS = {"Time & Materials": "TIME_AND_MATERIALS", "Fixed Fee": "FIXED_FEE", "Capped": "CAPPED"}

WORKSPACES = ResourceSpec(
    name="workspaces",
    path="/workspaces.json",
    id_field="id",
    paging="page_number",
    batch="id_filter",  # only=
    records_path="workspaces",
    change_field="updated_at",
)
USERS = ResourceSpec(
    name="users",
    path="/users.json",
    id_field="id",
    paging="page_number",
    batch="id_filter",
    records_path="users",
    change_field="updated_at",
)
PARTICIPATIONS = ResourceSpec(
    name="participations",
    path="/participations.json",
    id_field="id",
    paging="page_number",
    batch="id_filter",
    records_path="participations",
    change_field="updated_at",
)
TIME_ENTRIES = ResourceSpec(
    name="time_entries",
    path="/time_entries.json",
    id_field="id",
    paging="page_number",
    batch="id_filter",
    records_path="time_entries",
    change_field="updated_at",
)
INVOICES = ResourceSpec(
    name="invoices",
    path="/invoices.json",  # written by `mark_time_entries_billed`
    id_field="id",
    paging="page_number",
    batch="id_filter",
    records_path="invoices",
    change_field="updated_at",
)
STORIES = ResourceSpec(
    name="stories",
    path="/stories.json",  # a workspace's tasks: read by `submit_time_entries` to name an entry's task
    id_field="id",
    paging="page_number",
    batch="id_filter",
    records_path="stories",
    change_field="updated_at",
)
