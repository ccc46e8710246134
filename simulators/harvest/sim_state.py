"""The Harvest simulator's SQLite schema and its projection of the world.

Encoding of the firm's billing models in Harvest (the mapping reads it back the same way):

- FIXED_FEE: `is_fixed_fee` true, `fee` = contract value, `bill_by` "Project", `budget_by` "project"
  with `budget` = budget hours.
- TIME_AND_MATERIALS: `bill_by` "People" (each user assignment carries its rate), `budget_by` "project"
  with `budget` = budget hours.
- CAPPED: `bill_by` "People", `budget_by` "project_cost" with `budget` = the cap amount (money),
  `budget_is_monthly` false; budget hours are the cap over the project's `hourly_rate`.

Timestamps are stored as `2017-06-27T15:49:28Z` and dates as `2017-03-01`, so string order is time order.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from simulators.simkit.store import Row, Store
from simulators.world import (
    TASKS,
    Assignment,
    Client,
    Engagement,
    Invoice,
    InvoiceLine,
    Person,
    TimeEntry,
    World,
)

SCHEMA = """
CREATE TABLE clients (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, is_active INTEGER NOT NULL, address TEXT,
    currency TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE projects (
    id INTEGER PRIMARY KEY, client_id INTEGER NOT NULL, name TEXT NOT NULL, code TEXT,
    is_active INTEGER NOT NULL, is_billable INTEGER NOT NULL, is_fixed_fee INTEGER NOT NULL,
    bill_by TEXT NOT NULL, budget REAL, budget_by TEXT NOT NULL, budget_is_monthly INTEGER NOT NULL,
    hourly_rate REAL, fee REAL, cost_budget REAL, starts_on TEXT, ends_on TEXT, notes TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX projects_client ON projects(client_id);
CREATE TABLE users (
    id INTEGER PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL, email TEXT NOT NULL,
    timezone TEXT NOT NULL, is_contractor INTEGER NOT NULL, is_active INTEGER NOT NULL,
    weekly_capacity INTEGER NOT NULL, default_hourly_rate REAL, cost_rate REAL, roles TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, billable_by_default INTEGER NOT NULL,
    default_hourly_rate REAL, is_default INTEGER NOT NULL, is_active INTEGER NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE user_assignments (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, user_id INTEGER NOT NULL,
    is_active INTEGER NOT NULL, is_project_manager INTEGER NOT NULL, use_default_rates INTEGER NOT NULL,
    hourly_rate REAL, budget REAL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX ua_project ON user_assignments(project_id, id);
CREATE INDEX ua_user ON user_assignments(user_id, project_id);
CREATE TABLE task_assignments (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, task_id INTEGER NOT NULL,
    is_active INTEGER NOT NULL, billable INTEGER NOT NULL, hourly_rate REAL, budget REAL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX ta_project ON task_assignments(project_id, id);
CREATE TABLE time_entries (
    id INTEGER PRIMARY KEY, spent_date TEXT NOT NULL, user_id INTEGER NOT NULL,
    client_id INTEGER NOT NULL, project_id INTEGER NOT NULL, task_id INTEGER NOT NULL,
    hours REAL NOT NULL, notes TEXT, is_closed INTEGER NOT NULL, invoice_id INTEGER,
    billable INTEGER NOT NULL, billable_rate REAL, cost_rate REAL,
    ext_id TEXT, ext_group_id TEXT, ext_account_id TEXT, ext_permalink TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX te_date ON time_entries(spent_date, id);
CREATE INDEX te_project ON time_entries(project_id, spent_date);
CREATE INDEX te_user ON time_entries(user_id, spent_date);
CREATE INDEX te_client ON time_entries(client_id, spent_date);
CREATE INDEX te_updated ON time_entries(updated_at);
CREATE INDEX te_invoice ON time_entries(invoice_id);
CREATE INDEX te_ext ON time_entries(ext_id);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY, client_id INTEGER NOT NULL, number TEXT NOT NULL, state TEXT NOT NULL,
    amount REAL NOT NULL, due_amount REAL NOT NULL, subject TEXT, notes TEXT, currency TEXT NOT NULL,
    payment_term TEXT, issue_date TEXT NOT NULL, due_date TEXT NOT NULL, period_start TEXT,
    period_end TEXT, paid_date TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX inv_issue ON invoices(issue_date, id);
CREATE INDEX inv_client ON invoices(client_id);
CREATE TABLE invoice_line_items (
    id INTEGER PRIMARY KEY, invoice_id INTEGER NOT NULL, position INTEGER NOT NULL, kind TEXT NOT NULL,
    description TEXT NOT NULL, quantity REAL NOT NULL, unit_price REAL NOT NULL, amount REAL NOT NULL,
    project_id INTEGER);
CREATE INDEX li_invoice ON invoice_line_items(invoice_id, position);
"""

TASK_ASSIGNMENT_BASE = 9_100_000
LINE_ITEM_BASE = 70_000_000


def ts(moment: datetime) -> str:
    """Harvest's timestamp form: `2017-06-27T15:49:28Z` (UTC, whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(text: str) -> str:
    """An ISO 8601 datetime (or date) from a query string, normalised to the stored form."""
    text = text.strip().replace(" ", "+")  # an unescaped `+` in a query string arrives as a space
    if len(text) == 10:
        return date.fromisoformat(text).isoformat() + "T00:00:00Z"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ts(moment)


def money(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


# -- projection ------------------------------------------------------------------------------------


def load_world(store: Store, world: World) -> None:
    """Project the world into Harvest's tables. Reads the world only; never mutates it."""
    store.insert_many("clients", map(_client_row, world.clients))
    store.insert_many("projects", map(_project_row, world.engagements))
    store.insert_many("users", map(_user_row, world.people))
    epoch = ts(datetime.combine(min(e.start for e in world.engagements), datetime.min.time(), UTC))
    store.insert_many("tasks", (_task_row(tid, epoch) for tid in TASKS))
    store.insert_many(
        "task_assignments",
        (
            _task_assignment_row(TASK_ASSIGNMENT_BASE + i * len(TASKS) + k, e, tid)
            for i, e in enumerate(world.engagements)
            for k, tid in enumerate(TASKS)
        ),
    )
    store.insert_many("user_assignments", map(_user_assignment_row, world.assignments))
    store.insert_many("time_entries", map(_time_entry_row, world.time_entries))
    store.insert_many("invoices", map(_invoice_row, world.invoices))
    store.insert_many(
        "invoice_line_items",
        (
            _line_item_row(LINE_ITEM_BASE + n * 100 + position, invoice, position, line)
            for n, invoice in enumerate(world.invoices)
            for position, line in enumerate(invoice.lines)
        ),
    )


def _stamps(created: datetime, updated: datetime | None = None) -> Row:
    return {"created_at": ts(created), "updated_at": ts(updated or created)}


def _client_row(c: Client) -> Row:
    return {
        "id": c.harvest_client_id,
        "name": c.name,
        "is_active": 1,
        "address": c.country,
        "currency": c.currency,
        **_stamps(c.modified_at),
    }


def _project_row(e: Engagement) -> Row:
    fixed, capped = e.billing_model == "FIXED_FEE", e.billing_model == "CAPPED"
    notes = f"{e.practice} engagement"
    if capped:
        notes += f"; not to exceed {e.contract_value} {e.client.currency}"
    return {
        "id": e.harvest_project_id,
        "client_id": e.client.harvest_client_id,
        "name": e.name,
        "code": e.code,
        "is_active": int(e.is_active),
        "is_billable": 1,
        "is_fixed_fee": int(fixed),
        "bill_by": "Project" if fixed else "People",
        "budget": money(e.contract_value) if capped else e.budget_hours,
        "budget_by": "project_cost" if capped else "project",
        "budget_is_monthly": 0,
        "hourly_rate": money(e.hourly_rate),
        "fee": money(e.contract_value) if fixed else None,
        "cost_budget": None,
        "starts_on": e.start.isoformat(),
        "ends_on": e.end.isoformat(),
        "notes": notes,
        **_stamps(e.modified_at),
    }


def _user_row(p: Person) -> Row:
    return {
        "id": p.harvest_user_id,
        "first_name": p.first,
        "last_name": p.last,
        "email": p.email,
        "timezone": "Eastern Time (US & Canada)",
        "is_contractor": 0,
        "is_active": int(p.status == "Active"),
        "weekly_capacity": int(p.weekly_capacity_hours * 3600),
        "default_hourly_rate": money(p.bill_rate),
        "cost_rate": money(p.cost_rate),
        "roles": json.dumps([p.title]),
        **_stamps(p.modified_at),
    }


def _task_row(task_id: int, stamp: str) -> Row:
    name, billable = TASKS[task_id]
    return {
        "id": task_id,
        "name": name,
        "billable_by_default": int(billable),
        "default_hourly_rate": None,
        "is_default": 1,
        "is_active": 1,
        "created_at": stamp,
        "updated_at": stamp,
    }


def _task_assignment_row(row_id: int, e: Engagement, task_id: int) -> Row:
    return {
        "id": row_id,
        "project_id": e.harvest_project_id,
        "task_id": task_id,
        "is_active": 1,
        "billable": int(TASKS[task_id][1]),
        "hourly_rate": None,
        "budget": None,
        **_stamps(e.modified_at),
    }


def _user_assignment_row(a: Assignment) -> Row:
    return {
        "id": a.id,
        "project_id": a.engagement.harvest_project_id,
        "user_id": a.person.harvest_user_id,
        "is_active": int(a.is_active),
        "is_project_manager": 0,
        "use_default_rates": 0,
        "hourly_rate": money(a.hourly_rate),
        "budget": a.budget_hours,
        **_stamps(a.engagement.modified_at),
    }


def _time_entry_row(t: TimeEntry) -> Row:
    return {
        "id": t.id,
        "spent_date": t.spent_date.isoformat(),
        "user_id": t.person.harvest_user_id,
        "client_id": t.engagement.client.harvest_client_id,
        "project_id": t.engagement.harvest_project_id,
        "task_id": t.task_id,
        "hours": t.hours,
        "notes": t.notes,
        "is_closed": int(t.is_closed),
        "invoice_id": t.harvest_invoice_id,
        "billable": int(t.billable),
        "billable_rate": money(t.billable_rate),
        "cost_rate": money(t.cost_rate),
        "ext_id": None,
        "ext_group_id": None,
        "ext_account_id": None,
        "ext_permalink": None,
        **_stamps(t.created_at, t.updated_at),
    }


def _invoice_row(i: Invoice) -> Row:
    paid = i.amount_due == 0
    return {
        "id": i.harvest_invoice_id,
        "client_id": i.client.harvest_client_id,
        "number": i.number,
        "state": "paid" if paid else "open",
        "amount": money(i.total),
        "due_amount": money(i.amount_due),
        "subject": f"{i.engagement.code} {i.period_start:%B %Y}",
        "notes": None,
        "currency": i.client.currency,
        "payment_term": "net 30",
        "issue_date": i.issue_date.isoformat(),
        "due_date": i.due_date.isoformat(),
        "period_start": i.period_start.isoformat(),
        "period_end": i.period_end.isoformat(),
        "paid_date": i.modified_at.date().isoformat() if paid else None,
        **_stamps(i.modified_at),
    }


def _line_item_row(row_id: int, i: Invoice, position: int, line: InvoiceLine) -> Row:
    return {
        "id": row_id,
        "invoice_id": i.harvest_invoice_id,
        "position": position,
        "kind": "Service",
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": money(line.rate),
        "amount": money(line.amount),
        "project_id": i.engagement.harvest_project_id,
    }
