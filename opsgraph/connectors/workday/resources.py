"""Workday resources, declared: the RaaS and token endpoints, and the report definitions we document.

A RaaS report's columns and prompts are whatever the tenant's report author named them, so each report
is declared as the canonical fields it feeds, with the column and prompt names of the definitions in
the README as defaults; a tenant's settings rename them (`settings.py`). Wire facts:
VENDOR_APIS_MORE.md section 8.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opsgraph.connectors.toolkit.resources import ResourceSpec

REPORT = ResourceSpec(
    name="customreport2",
    path="ccx/service/customreport2/{tenant}/{owner}/{report}",
    id_field="(the report's id column)",
    paging="none",  # a report answers in one body, whatever its size
    batch="listing",  # a prompt value that is no reference id fails the whole report, so ids are picked
    records_path="Report_Entry",
)
"""`GET .../customreport2/{tenant}/{owner}/{report}?format=json&<prompt>=<value>`: `{"Report_Entry": []}`."""

TOKEN_PATH = "ccx/oauth2/{tenant}/token"
"""`POST` `grant_type=refresh_token` with the API client's id and secret as HTTP Basic."""


@dataclass(frozen=True)
class ReportDefinition:
    """One report the connector reads: the canonical fields it feeds and the documented names."""

    key: str  # its table under `options` (`workers`)
    owner: str
    name: str
    columns: Mapping[str, str]  # canonical field -> the documented column
    required: frozenset[str]  # fields every row must carry; the others may be "" (not in the report)
    prompts: Mapping[str, str]  # what the connector asks -> the documented prompt
    sparse: frozenset[str] = frozenset()
    """Fields some rows leave empty (a partner has no manager): a filtered run may lack their column."""


WORKERS = ReportDefinition(
    key="workers",
    owner="ISU_OpsGraph",
    name="OpsGraph_Workers",
    columns={
        "id": "Employee_ID",
        "name": "Worker",
        "first_name": "First_Name",
        "last_name": "Last_Name",
        "email": "Email_-_Primary_Work",
        "title": "Business_Title",
        "department": "Supervisory_Organization",
        "division": "Division",
        "location": "Location",
        "active": "Active_Status",  # "1" / "0"
        "manager_id": "Manager_Employee_ID",
        "hire_date": "Hire_Date",
        "cost_rate": "Hourly_Cost_Rate",
        "cost_rate_currency": "Cost_Rate_Currency",
        "last_updated": "Last_Updated",
    },
    required=frozenset({"id", "name", "email", "active", "last_updated"}),
    sparse=frozenset(
        {"first_name", "last_name", "title", "department", "division", "location", "manager_id"}
        | {"hire_date", "cost_rate", "cost_rate_currency"}
    ),
    prompts={"updated_since": "Updated_Since"},
)
"""Every worker, active and terminated; `Updated_Since` (a date) keeps those changed on or after it."""

TIME_OFF = ReportDefinition(
    key="time_off",
    owner="ISU_OpsGraph",
    name="OpsGraph_Time_Off",
    columns={
        "id": "Request_ID",
        "resource_id": "Employee_ID",
        "start": "First_Day",
        "end": "Last_Day",
        "quantity": "Total_Units",
        "unit": "Unit_of_Time",  # "Days" / "Hours"; "" when the report counts days only
        "kind": "Time_Off_Type",
        "status": "Status",
    },
    required=frozenset({"id", "resource_id", "start", "end", "quantity", "kind", "status"}),
    prompts={
        "start": "Start_Date",
        "end": "End_Date",
        "status": "Status",
        "employee_id": "Worker!Employee_ID",
    },
)
"""Time off requests overlapping the `Start_Date`..`End_Date` prompt, of one status, of one worker."""

REPORTS: tuple[ReportDefinition, ...] = (WORKERS, TIME_OFF)

TIME_OFF_STATUSES: Mapping[str, str] = {
    "Approved": "approved",
    "Submitted": "requested",
    "Denied": "denied",
    "Canceled": "canceled",
}
"""Workday's request status -> the canonical one (the words of the port's `TimeOffFilter.status`)."""
