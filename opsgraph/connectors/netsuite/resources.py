"""NetSuite SuiteQL tables, declared: table, id column, change column, paging and the columns read.

Reads go through SuiteQL (`POST query/v1/suiteql`, offset-paged by `limit`/`offset`, items under
`items`); a batch by ids is an `IN (...)` filter. The client builds every query from these specs, so
a table or column name is written once. Wire facts: VENDOR_APIS.md (NetSuite).
"""

from __future__ import annotations

from opsgraph.connectors.toolkit.resources import ResourceSpec

SUITEQL_PATH = "query/v1/suiteql"
PAGE_SIZE = 1000  # SuiteQL's maximum `limit`
IN_LIMIT = 1000  # entries per `IN (...)` list
CHANGE_FIELD = "lastmodifieddate"


def _suiteql(name: str, table: str, *columns: str, change: bool = True) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        path=table,
        id_field="id",
        paging="offset",
        batch="id_filter",
        records_path="items",
        change_field=CHANGE_FIELD if change else None,
        fields=columns,
    )


CUSTOMERS = _suiteql(
    "customer",
    "customer",
    "id",
    "companyname",
    "externalid",
    "custentity_legal_entity",
    "currency",
    "balance",
)
JOBS = _suiteql(
    "job",
    "job",
    "id",
    "entityid",
    "companyname",
    "parent",
    "externalid",
    "isinactive",
    "custentity_contract_value",
    "custentity_billing_model",
    "custentity_practice",
    "startdate",
    "projectedenddate",
    "currency",
)
INVOICES = _suiteql(
    "invoice",
    "transaction",  # filtered to `type = 'CustInvc'`
    "id",
    "tranid",
    "entity",
    "custbody_job",
    "trandate",
    "duedate",
    "status",
    "foreigntotal",
    "foreignamountremaining",
    "currency",
    "externalid",
)
INVOICE_TYPE = "CustInvc"
INVOICE_LINES = _suiteql(
    "invoice line",
    "transactionline",  # item lines only: `mainline = 'F' AND taxline = 'F'`
    "transaction",
    "linesequencenumber",
    "memo",
    "quantity",
    "rate",
    "foreignamount",
    change=False,
)
TIME_BILLS = _suiteql("timebill", "timebill", "id", "externalid", "customer", "trandate", "hours")
ACCOUNTING_PERIODS = _suiteql(
    "accountingperiod", "accountingperiod", "id", "periodname", "startdate", "enddate", "closed"
)
EXCHANGE_RATES = _suiteql(
    "consolidatedexchangerate",
    "consolidatedexchangerate",
    "id",
    "postingperiod",
    "fromcurrency",
    "tocurrency",
    "averagerate",
    "currentrate",
    "historicalrate",
    change=False,
)
CURRENCIES = _suiteql("currency", "currency", "id", "symbol")


def columns(spec: ResourceSpec) -> str:
    """The spec's columns as a SELECT list."""
    return ", ".join(spec.fields)
