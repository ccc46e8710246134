"""The Sage Intacct simulator's objects, SQLite schema and its projection of the world.

One `Obj` per Intacct object lists its fields once (name and kind): queries, answers and writes all
derive from it. Storage: dates `YYYY-MM-DD`, datetimes in `normalise_datetime` form (UTC, millis),
so string order is time order; on the wire dates are `MM/DD/YYYY` and datetimes
`MM/DD/YYYY HH:MM:SS` (`wire`). Record numbers are the world's ERP numbers (customers, projects,
invoices, time and periods as the NetSuite simulator numbers them), so one world serves either ERP.

The world's clients, their projects (engagements with an ERP job), invoices with lines (`ARINVOICE`,
`ARINVOICEITEM`), posted time (`TIMESHEET` per employee and month, `TIMESHEETENTRY`), employees,
reporting periods and consolidation rates (`EXCHANGERATE`, from `simulators.netsuite.sim_rates`:
the firm's one set of consolidated rates). Custom fields: see opsgraph/connectors/intacct/resources.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from opsgraph.connectors.netsuite.mapping import BILLING_MODEL_LABELS
from simulators.netsuite.sim_rates import exchange_rate_rows
from simulators.netsuite.sim_state import CURRENCIES
from simulators.simkit.query import Table, normalise_datetime
from simulators.simkit.store import Row, Store
from simulators.world import World, crm_client_id, crm_opportunity_id, psa_invoice_id, psa_time_entry_id

Kind = Literal["key", "text", "amount", "number", "date", "datetime"]
BILLING_LABELS = {model.value: label for model, label in BILLING_MODEL_LABELS.items()}
SYMBOL = {cid: sym for cid, _, sym in CURRENCIES}


@dataclass(frozen=True)
class Obj:
    name: str
    table: str
    fields: Mapping[str, Kind]
    writable: frozenset[str] = frozenset()

    def query_table(self) -> Table:
        return Table(
            name=self.name,
            sql_table=self.table,
            columns={f: f.lower() for f in self.fields},
            date_columns=frozenset(f for f, k in self.fields.items() if k == "date"),
        )


_STAMPS: dict[str, Kind] = {"WHENCREATED": "datetime", "WHENMODIFIED": "datetime"}
OBJECTS: dict[str, Obj] = {
    o.name: o
    for o in (
        Obj(
            "CUSTOMER",
            "customer",
            {"RECORDNO": "key", "CUSTOMERID": "text", "NAME": "text", "LEGAL_ENTITY": "text",
             "CURRENCY": "text", "TOTALDUE": "amount", "STATUS": "text", **_STAMPS},
            frozenset({"NAME", "LEGAL_ENTITY", "STATUS"}),
        ),
        Obj(
            "PROJECT",
            "project",
            {"RECORDNO": "key", "PROJECTID": "text", "NAME": "text", "CUSTOMERKEY": "key",
             "CUSTOMERID": "text", "OPPORTUNITY_ID": "text", "STATUS": "text", "CONTRACT_VALUE": "amount",
             "BILLING_MODEL": "text", "PRACTICE": "text", "BEGINDATE": "date", "ENDDATE": "date",
             "CURRENCY": "text", **_STAMPS},
            frozenset({"NAME", "STATUS", "CONTRACT_VALUE", "CURRENCY", "PRACTICE", "BILLING_MODEL",
                       "BEGINDATE", "ENDDATE"}),
        ),
        Obj(
            "ARINVOICE",
            "arinvoice",
            {"RECORDNO": "key", "RECORDID": "text", "CUSTOMERKEY": "key", "CUSTOMERID": "text",
             "PROJECTKEY": "key", "PROJECTID": "text", "WHENCREATED": "date", "WHENDUE": "date",
             "STATE": "text", "TOTALENTERED": "amount", "TOTALPAID": "amount", "TOTALDUE": "amount",
             "CURRENCY": "text", "DOCNUMBER": "text", "DESCRIPTION": "text", "AUWHENCREATED": "datetime",
             "WHENMODIFIED": "datetime"},
        ),
        Obj(
            "ARINVOICEITEM",
            "arinvoiceitem",
            {"RECORDNO": "key", "RECORDKEY": "key", "LINE_NO": "key", "MEMO": "text", "QUANTITY": "number",
             "PRICE": "amount", "AMOUNT": "amount", "GLACCOUNTNO": "text", "PROJECTID": "text"},
        ),
        Obj(
            "TIMESHEET",
            "timesheet",
            {"RECORDNO": "key", "EMPLOYEEID": "text", "BEGINDATE": "date", "STATE": "text",
             "DESCRIPTION": "text", **_STAMPS},
        ),
        Obj(
            "TIMESHEETENTRY",
            "timesheetentry",
            {"RECORDNO": "key", "TIMESHEETKEY": "key", "ENTRYDATE": "date", "QTY": "number",
             "EMPLOYEEID": "text", "PROJECTKEY": "key", "PROJECTID": "text", "PSA_ENTRY_ID": "text",
             "BILLABLE": "text", "DESCRIPTION": "text", **_STAMPS},
            frozenset({"ENTRYDATE", "QTY", "PROJECTID", "DESCRIPTION"}),
        ),
        Obj(
            "EMPLOYEE",
            "employee",
            {"RECORDNO": "key", "EMPLOYEEID": "text", "EMAIL1": "text", "STATUS": "text", **_STAMPS},
        ),
        Obj(
            "REPORTINGPERIOD",
            "reportingperiod",
            {"RECORDNO": "key", "NAME": "text", "START_DATE": "date", "END_DATE": "date", "CLOSED": "text",
             "WHENMODIFIED": "datetime"},
        ),
        Obj(
            "EXCHANGERATE",
            "exchangerate",
            {"RECORDNO": "key", "PERIODKEY": "key", "FROM_CURRENCY": "text", "TO_CURRENCY": "text",
             "AVERAGE_RATE": "number", "CURRENT_RATE": "number", "HISTORICAL_RATE": "number"},
        ),
    )
}  # fmt: skip
TABLES = {name: o.query_table() for name, o in OBJECTS.items()}


def _ddl(o: Obj) -> str:
    types = {"key": "INTEGER", "amount": "REAL", "number": "REAL"}
    cols = [f"{f.lower()} {types.get(k, 'TEXT')}" + (" PRIMARY KEY" if f == "RECORDNO" else "")
            for f, k in o.fields.items()]  # fmt: skip
    return f"CREATE TABLE {o.table} ({', '.join(cols)});"


SCHEMA = "\n".join(
    [
        *(_ddl(o) for o in OBJECTS.values()),
        "CREATE UNIQUE INDEX customer_id ON customer(customerid);",
        "CREATE UNIQUE INDEX project_id ON project(projectid);",
        "CREATE INDEX invoice_customer ON arinvoice(customerkey);",
        "CREATE INDEX invoice_project ON arinvoice(projectkey);",
        "CREATE INDEX invoice_doc ON arinvoice(docnumber);",
        "CREATE INDEX item_invoice ON arinvoiceitem(recordkey);",
        "CREATE INDEX entry_date ON timesheetentry(entrydate);",
        "CREATE UNIQUE INDEX entry_psa ON timesheetentry(psa_entry_id);",
        "CREATE INDEX rate_period ON exchangerate(periodkey);",
    ]
)


# -- wire forms -----------------------------------------------------------------------------------


def stamp(moment: datetime) -> str:
    return normalise_datetime(moment)


def wire(kind: Kind, value: Any) -> str:
    """A stored value as the gateway writes it."""
    if value is None:
        return ""
    if kind == "date":
        return date.fromisoformat(str(value)[:10]).strftime("%m/%d/%Y")
    if kind == "datetime":
        return datetime.fromisoformat(str(value).replace("+0000", "+00:00")).strftime("%m/%d/%Y %H:%M:%S")
    if kind == "amount":
        return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"
    if kind == "number":
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def stored(kind: Kind, text: str) -> Any:
    """A wire value as stored; `ValueError` when it is not of its kind."""
    if text == "":
        return None
    if kind == "date":
        return datetime.strptime(text, "%m/%d/%Y").date().isoformat()
    if kind in ("amount", "number"):
        return float(Decimal(text))
    if kind == "key":
        return int(text)
    return text


# -- the world's projection ---------------------------------------------------------------------------


def _at(d: date, hour: int = 18) -> str:
    return stamp(datetime.combine(d, time(hour, 0), tzinfo=UTC))


def load(store: Store, world: World) -> None:
    """Project the world into Intacct's tables. Reads the world only; never mutates it."""
    origin = _at(world.as_of - timedelta(days=800), 9)
    due: dict[str, Decimal] = {}
    for inv in world.invoices:
        due[inv.client.ns_customer_id] = due.get(inv.client.ns_customer_id, Decimal(0)) + inv.amount_due
    store.insert_many(
        "customer",
        (
            {"recordno": int(c.ns_customer_id), "customerid": crm_client_id(world, c), "name": c.name,
             "legal_entity": c.legal_entity, "currency": c.currency,
             "totaldue": float(due.get(c.ns_customer_id, 0)), "status": "active", "whencreated": origin,
             "whenmodified": stamp(c.modified_at)}
            for c in world.clients
        ),
    )  # fmt: skip
    store.insert_many(
        "project",
        (
            {"recordno": int(e.ns_job_id), "projectid": e.code, "name": e.name,
             "customerkey": int(e.client.ns_customer_id), "customerid": crm_client_id(world, e.client),
             "opportunity_id": crm_opportunity_id(world, e),
             "status": "inactive" if e.erp_inactive else "active",
             "contract_value": float(e.contract_value), "billing_model": BILLING_LABELS[e.billing_model],
             "practice": e.practice, "begindate": e.start.isoformat(), "enddate": e.end.isoformat(),
             "currency": e.client.currency, "whencreated": _at(e.start, 9),
             "whenmodified": stamp(e.modified_at)}
            for e in world.engagements
            if e.ns_job_id is not None
        ),
    )  # fmt: skip
    store.insert_many(
        "employee",
        (
            {"recordno": int(p.ns_employee_id), "employeeid": f"E{p.ns_employee_id}", "email1": p.email,
             "status": "active" if p.status == "Active" else "inactive", "whencreated": _at(p.hire_date, 9),
             "whenmodified": stamp(p.modified_at)}
            for p in world.people
        ),
    )  # fmt: skip
    store.insert_many(
        "reportingperiod",
        (
            {"recordno": int(p.id), "name": p.name, "start_date": p.start.isoformat(),
             "end_date": p.end.isoformat(), "closed": "true" if p.closed else "false",
             "whenmodified": _at(min(p.end, world.as_of))}
            for p in world.periods
        ),
    )  # fmt: skip
    store.insert_many(
        "exchangerate",
        (
            {"recordno": r["id"], "periodkey": r["postingperiod"], "from_currency": SYMBOL[r["fromcurrency"]],
             "to_currency": SYMBOL[r["tocurrency"]], "average_rate": r["averagerate"],
             "current_rate": r["currentrate"], "historical_rate": r["historicalrate"]}
            for r in exchange_rate_rows(world)
        ),
    )  # fmt: skip
    _load_invoices(store, world)
    _load_time(store, world)


def invoice_state(total: Decimal, paid: Decimal) -> str:
    return "Paid" if paid >= total else ("Partially Paid" if paid > 0 else "Posted")


def _load_invoices(store: Store, world: World) -> None:
    store.insert_many(
        "arinvoice",
        (
            {"recordno": int(i.ns_id), "recordid": i.number, "customerkey": int(i.client.ns_customer_id),
             "customerid": crm_client_id(world, i.client),
             "projectkey": int(i.engagement.ns_job_id) if i.engagement.ns_job_id else None,
             "projectid": i.engagement.code if i.engagement.ns_job_id else None,
             "whencreated": i.issue_date.isoformat(), "whendue": i.due_date.isoformat(),
             "state": invoice_state(i.total, i.amount_paid), "totalentered": float(i.total),
             "totalpaid": float(i.amount_paid), "totaldue": float(i.amount_due),
             "currency": i.client.currency, "docnumber": psa_invoice_id(world, i),
             "description": f"{i.engagement.code} {i.period_start:%B %Y}",
             "auwhencreated": _at(i.issue_date, 9), "whenmodified": stamp(i.modified_at)}
            for i in world.invoices
        ),
    )  # fmt: skip
    lines: list[Row] = []
    for inv in world.invoices:
        for n, line in enumerate(inv.lines, start=1):
            lines.append(
                {"recordno": int(inv.ns_id) * 100 + n, "recordkey": int(inv.ns_id), "line_no": n,
                 "memo": line.description, "quantity": line.quantity, "price": float(line.rate),
                 "amount": float(line.amount), "glaccountno": "4000", "projectid": inv.engagement.code}
            )  # fmt: skip
    store.insert_many("arinvoiceitem", lines)


def _load_time(store: Store, world: World) -> None:
    sheets: dict[tuple[str, date], int] = {}
    entries: list[Row] = []
    for e in world.time_entries:
        if e.ns_timebill_id is None:
            continue
        month = e.spent_date.replace(day=1)
        sheet = sheets.setdefault((e.person.ns_employee_id, month), len(sheets) + 1)
        job = e.engagement.ns_job_id
        entries.append(
            {"recordno": int(e.ns_timebill_id), "timesheetkey": sheet, "entrydate": e.spent_date.isoformat(),
             "qty": e.hours, "employeeid": f"E{e.person.ns_employee_id}",
             "projectkey": int(job) if job else None,
             "projectid": e.engagement.code if job else None, "psa_entry_id": psa_time_entry_id(world, e),
             "billable": "true" if e.billable else "false", "description": e.notes,
             "whencreated": stamp(e.updated_at), "whenmodified": stamp(e.updated_at)}
        )  # fmt: skip
    store.insert_many(
        "timesheet",
        (
            {"recordno": n, "employeeid": f"E{emp}", "begindate": month.isoformat(), "state": "Approved",
             "description": None, "whencreated": _at(month), "whenmodified": _at(month)}
            for (emp, month), n in sheets.items()
        ),
    )  # fmt: skip
    store.insert_many("timesheetentry", entries)


def new_store(world: World) -> Store:
    store = Store(SCHEMA)
    load(store, world)
    return store
