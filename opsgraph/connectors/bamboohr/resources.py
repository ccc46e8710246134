"""BambooHR v1 resources, declared: path, id field, change field, paging and records path of each.

The client reads these (never inline paths), so what it asks for and where it finds records sit in
one table. Wire facts: VENDOR_APIS.md (BambooHR).
"""

from __future__ import annotations

from opsgraph.connectors.toolkit.resources import ResourceSpec

IDS_PER_REQUEST = 250  # the documented default page size; also keeps the URL well under 8 KB
LIST_PAGE_LIMIT = 1000  # within the documented maximum of 2500

EMPLOYEE_FIELDS: tuple[str, ...] = (
    "firstName",
    "lastName",
    "preferredName",
    "displayName",
    "workEmail",
    "jobTitle",
    "department",
    "division",
    "location",
    "status",
    "supervisorEid",
    "hireDate",
    "payRate",
    "customCostRate",
)
"""What the client asks for on every employee read: enough for `mapping.employee_to_resource`."""

EMPLOYEES = ResourceSpec(
    name="employees",
    path="employees",
    id_field="employeeId",
    paging="cursor",
    batch="id_filter",  # `filter[ids]=1,2,3`
    records_path="data",
    fields=EMPLOYEE_FIELDS,
)
"""`GET /employees`: every employee, active and inactive, cursor-paged by `meta.page.nextCursor`."""

EMPLOYEE_CHANGES = ResourceSpec(
    name="employees/changed",
    path="employees/changed",
    id_field="id",
    paging="none",
    batch="listing",
    records_path="employees",  # an object keyed by employee id
    change_field="lastChanged",
)
"""`GET /employees/changed?since=`: who was inserted, updated or deleted after `since`."""

TIME_OFF_REQUESTS = ResourceSpec(
    name="time_off/requests",
    path="time_off/requests/",
    id_field="id",
    paging="none",
    batch="listing",
)
"""`GET /time_off/requests/?start=&end=&status=&employeeId=`: a bare JSON array."""
