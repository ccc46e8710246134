"""Sage Intacct objects this kit reads, declared: object name, key and the fields read.

Every read is `readByQuery` over one object; a batch by keys is `RECORDNO IN (...)` (or another
key field `IN (...)`), chunked by the transport. Custom fields the firm's company defines (the
convention this kit relies on, as the NetSuite kit relies on its `custentity_*` fields):
customer `LEGAL_ENTITY`; project `CONTRACT_VALUE`, `BILLING_MODEL`, `PRACTICE` and `OPPORTUNITY_ID`
(the CRM opportunity); time sheet entry `PSA_ENTRY_ID` (the PSA time entry, its external id).
A customer's `CUSTOMERID` is the CRM client's id; a project's `PROJECTID` the engagement code; an
invoice's `DOCNUMBER` (its reference number) its external id (the PSA invoice it was raised from).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    fields: tuple[str, ...]
    key: str = "RECORDNO"
    change_field: str | None = "WHENMODIFIED"


CUSTOMERS = ObjectSpec(
    "CUSTOMER", ("RECORDNO", "CUSTOMERID", "NAME", "LEGAL_ENTITY", "CURRENCY", "TOTALDUE", "STATUS")
)
PROJECTS = ObjectSpec(
    "PROJECT",
    (
        "RECORDNO",
        "PROJECTID",
        "NAME",
        "CUSTOMERKEY",
        "OPPORTUNITY_ID",
        "STATUS",
        "CONTRACT_VALUE",
        "BILLING_MODEL",
        "PRACTICE",
        "BEGINDATE",
        "ENDDATE",
        "CURRENCY",
    ),
)
INVOICES = ObjectSpec(
    "ARINVOICE",
    (
        "RECORDNO",
        "RECORDID",
        "CUSTOMERKEY",
        "PROJECTKEY",
        "WHENCREATED",
        "WHENDUE",
        "STATE",
        "TOTALENTERED",
        "TOTALDUE",
        "CURRENCY",
        "DOCNUMBER",
    ),
)
INVOICE_LINES = ObjectSpec(
    "ARINVOICEITEM",
    ("RECORDNO", "RECORDKEY", "LINE_NO", "MEMO", "QUANTITY", "PRICE", "AMOUNT"),
    change_field=None,
)
TIME_ENTRIES = ObjectSpec(
    "TIMESHEETENTRY", ("RECORDNO", "PSA_ENTRY_ID", "PROJECTKEY", "ENTRYDATE", "QTY", "EMPLOYEEID")
)
EMPLOYEES = ObjectSpec("EMPLOYEE", ("RECORDNO", "EMPLOYEEID", "EMAIL1", "STATUS"))
PERIODS = ObjectSpec(
    "REPORTINGPERIOD", ("RECORDNO", "NAME", "START_DATE", "END_DATE", "CLOSED"), change_field=None
)
RATES = ObjectSpec(
    "EXCHANGERATE",
    (
        "RECORDNO",
        "PERIODKEY",
        "FROM_CURRENCY",
        "TO_CURRENCY",
        "AVERAGE_RATE",
        "CURRENT_RATE",
        "HISTORICAL_RATE",
    ),
    change_field=None,
)
OPEN_STATES = ("Posted", "Partially Paid")
"""`ARINVOICE.STATE` of an invoice with money still due (`Paid` is settled)."""
