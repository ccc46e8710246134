"""Harvest API v2 resources, declared: where each lives, its id and change field, and how it pages.

Every listing takes `per_page` (up to 2000) and goes on through `links.next`: clients, projects, users
and user assignments by cursor, time entries and reports by page number (the client follows either).
Harvest has no read by ids: projects are picked from the listing (or fetched one by one when only a
few are asked for), time entries are fetched one by one. Change polling filters a listing with
`updated_since` and reads each record's `updated_at`. Wire facts: VENDOR_APIS.md, Harvest section.
"""

from __future__ import annotations

from opsgraph.connectors.toolkit.resources import ResourceSpec

__all__ = [
    "CHANGE_PARAM",
    "CLIENTS",
    "INVOICES",
    "MAX_ID",
    "PER_PAGE",
    "PROJECTS",
    "PROJECT_USER_ASSIGNMENTS",
    "REPORT_WINDOW_DAYS",
    "TASKS",
    "TASK_ASSIGNMENTS",
    "TIME_ENTRIES",
    "TIME_REPORT",
    "UNINVOICED_REPORT",
    "USERS",
    "USER_ASSIGNMENTS",
]

PER_PAGE = 2000  # Harvest's maximum (and default) page size
CHANGE_PARAM = "updated_since"  # the listings' change filter (inclusive, whole seconds)
REPORT_WINDOW_DAYS = 365  # the Time Reports timeframe "cannot exceed 1 year (365 days)"
MAX_ID = 2**63 - 1  # Harvest ids are positive 64-bit integers

PROJECTS = ResourceSpec(
    name="projects",
    path="/v2/projects",
    id_field="id",
    paging="cursor",
    batch="listing",  # one GET per id when only a few are asked for (see the client)
    records_path="projects",
    change_field="updated_at",
)
USERS = ResourceSpec(
    name="users",
    path="/v2/users",
    id_field="id",
    paging="cursor",
    batch="listing",
    records_path="users",
    change_field="updated_at",
)
USER_ASSIGNMENTS = ResourceSpec(
    name="user_assignments",
    path="/v2/user_assignments",
    id_field="id",
    paging="cursor",
    batch="listing",
    records_path="user_assignments",
    change_field="updated_at",
)
PROJECT_USER_ASSIGNMENTS = ResourceSpec(
    name="project_user_assignments",
    path="/v2/projects/{project_id}/user_assignments",  # one project's assignments; 404 for no project
    id_field="id",
    paging="cursor",
    batch="listing",
    records_path="user_assignments",
    change_field="updated_at",
)
TIME_ENTRIES = ResourceSpec(
    name="time_entries",
    path="/v2/time_entries",
    id_field="id",
    paging="page_number",
    batch="per_id",
    records_path="time_entries",
    change_field="updated_at",
)
TIME_REPORT = ResourceSpec(
    name="reports/time/projects",
    path="/v2/reports/time/projects",
    id_field="project_id",  # a result has no id of its own
    paging="page_number",
    batch="listing",
    records_path="results",
)
UNINVOICED_REPORT = ResourceSpec(
    name="reports/uninvoiced",
    path="/v2/reports/uninvoiced",
    id_field="project_id",  # a result has no id of its own
    paging="page_number",
    batch="listing",
    records_path="results",
)
INVOICES = ResourceSpec(
    name="invoices",
    path="/v2/invoices",  # written by `HarvestWriter.create_invoice_from_time`
    id_field="id",
    paging="page_number",
    batch="listing",
    records_path="invoices",
    change_field="updated_at",
)
TASKS = ResourceSpec(
    name="tasks",
    path="/v2/tasks",  # read only by `probe()`: one task, the cheapest authenticated read
    id_field="id",
    paging="page_number",
    batch="listing",
    records_path="tasks",
    change_field="updated_at",
)

CLIENTS = ResourceSpec(
    name="clients",
    path="/v2/clients",
    id_field="id",
    paging="cursor",
    batch="listing",
    records_path="clients",
    change_field="updated_at",
)

TASK_ASSIGNMENTS = ResourceSpec(
    name="project_task_assignments",
    path="/v2/projects/{project_id}/task_assignments",
    id_field="id",
    paging="cursor",
    batch="listing",
    records_path="task_assignments",
    change_field="updated_at",
)
