"""The Kantata simulator's SQLite schema and its projection of the world, under Kantata's own ids.

How the firm's delivery records sit in Kantata (choices where the public facts are thin, VENDOR_APIS_MORE
section 3; the mapping reads them back the same way):

- An engagement is a workspace: `title`, `description`, `start_date`, `due_date`, `archived` (a finished
  engagement), `price_in_cents` with `currency` (the contract value: the fee, the cap, or the T&M budget),
  `default_rate` (the hourly rate, a decimal string) and `budgeted`. Budget hours are not a Kantata field:
  they are the price over the default rate, rounded down (the world's rule).
- The engagement code and the billing model are workspace custom fields ("Engagement Code", "Billing
  Model"), read with the workspace through `include=custom_field_values`. A custom field, not the
  workspace's external reference: the code is the firm's business key that delivery staff see, search
  and report on in Kantata, while external references are hidden per-integration links (and one
  integration's link would not be another's key).
- The client is the workspace group the workspace belongs to (Kantata has no client record).
- A person is a user (`full_name`, `email_address`, `disabled`); their capacity and default rates are on
  the user record here (`weekly_capacity_in_minutes`, `bill_rate_in_cents`, `cost_rate_in_cents`).
- An assignment is a participation (user on workspace) with its `rate_in_cents` and `estimated_minutes`.
- A task is a story of the workspace; time entries name their story, minutes and cents.

Timestamps are stored as `2017-06-27T15:49:28Z` and dates as `2017-03-01`, so string order is time order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from simulators.simkit.store import Row, Store
from simulators.world import TASKS, Assignment, Engagement, Person, TimeEntry, World
from simulators.world.psa_ids import (
    kantata_group_id,
    kantata_invoice_id,
    kantata_participation_id,
    kantata_story_id,
    kantata_time_entry_id,
    kantata_user_id,
    kantata_workspace_id,
)

SCHEMA = """
CREATE TABLE workspace_groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL, company INTEGER NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE workspaces (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, description TEXT, archived INTEGER NOT NULL,
    start_date TEXT, due_date TEXT, budgeted INTEGER NOT NULL, price_in_cents INTEGER,
    currency TEXT NOT NULL, default_rate TEXT, group_id INTEGER, code TEXT, billing_model TEXT,
    external_ref TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX ws_updated ON workspaces(updated_at);
CREATE INDEX ws_ext ON workspaces(external_ref);
CREATE TABLE users (
    id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, email_address TEXT NOT NULL, headline TEXT,
    disabled INTEGER NOT NULL, weekly_capacity_in_minutes INTEGER NOT NULL, bill_rate_in_cents INTEGER,
    cost_rate_in_cents INTEGER, currency TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE stories (
    id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, title TEXT NOT NULL, story_type TEXT NOT NULL,
    billable INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX st_ws ON stories(workspace_id);
CREATE TABLE participations (
    id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, user_id INTEGER NOT NULL, role TEXT NOT NULL,
    active INTEGER NOT NULL, rate_in_cents INTEGER, currency TEXT NOT NULL, estimated_minutes INTEGER,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX pa_ws ON participations(workspace_id, id);
CREATE INDEX pa_updated ON participations(updated_at);
CREATE TABLE time_entries (
    id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, user_id INTEGER NOT NULL,
    story_id INTEGER, date_performed TEXT NOT NULL, time_in_minutes INTEGER NOT NULL,
    billable INTEGER NOT NULL, notes TEXT, rate_in_cents INTEGER, cost_rate_in_cents INTEGER,
    currency TEXT NOT NULL, approved INTEGER NOT NULL, is_invoiced INTEGER NOT NULL, invoice_id INTEGER,
    external_ref TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX te_date ON time_entries(date_performed, id);
CREATE INDEX te_ws ON time_entries(workspace_id, date_performed);
CREATE INDEX te_user ON time_entries(user_id, date_performed);
CREATE INDEX te_updated ON time_entries(updated_at);
CREATE INDEX te_ext ON time_entries(external_ref);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, invoice_date TEXT NOT NULL,
    your_reference TEXT, currency TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX inv_ref ON invoices(your_reference);
"""

BILLING_LABELS = {"TIME_AND_MATERIALS": "Time & Materials", "FIXED_FEE": "Fixed Fee", "CAPPED": "Capped"}
"""The "Billing Model" custom field's choices, by the world's billing model."""


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cents(value: Decimal | float | None) -> int | None:
    return None if value is None else int((Decimal(str(value)) * 100).to_integral_value())


def description(e: Engagement) -> str:
    """The workspace's description: the firm's free text on the engagement (as the world words it)."""
    text = f"{e.practice} engagement"
    if e.billing_model == "CAPPED":
        text += f"; not to exceed {e.contract_value} {e.client.currency}"
    return text


def load_world(store: Store, world: World) -> None:
    """Project the world into Kantata's tables. Reads the world only; never mutates it."""
    clients = {c.sf_id: c for c in (e.client for e in world.engagements)}
    store.insert_many(
        "workspace_groups",
        (
            {
                "id": int(kantata_group_id(c)),
                "name": c.name,
                "company": 1,
                "created_at": ts(c.modified_at),
                "updated_at": ts(c.modified_at),
            }
            for c in clients.values()
        ),
    )
    store.insert_many("workspaces", map(_workspace_row, world.engagements))
    store.insert_many("users", map(_user_row, world.people))
    store.insert_many(
        "stories",
        (
            {
                "id": int(kantata_story_id(e, task_id)),
                "workspace_id": int(kantata_workspace_id(e)),
                "title": title,
                "story_type": "task",
                "billable": int(billable),
                "created_at": ts(e.modified_at),
                "updated_at": ts(e.modified_at),
            }
            for e in world.engagements
            for task_id, (title, billable) in TASKS.items()
        ),
    )
    store.insert_many("participations", map(_participation_row, world.assignments))
    store.insert_many("time_entries", map(_time_entry_row, world.time_entries))
    store.insert_many(
        "invoices",
        (
            {
                "id": int(kantata_invoice_id(i.harvest_invoice_id)),
                "workspace_id": int(kantata_workspace_id(i.engagement)),
                "invoice_date": i.issue_date.isoformat(),
                "your_reference": i.number,
                "currency": i.client.currency,
                "created_at": ts(i.modified_at),
                "updated_at": ts(i.modified_at),
            }
            for i in world.invoices
        ),
    )


def _workspace_row(e: Engagement) -> Row:
    return {
        "id": int(kantata_workspace_id(e)),
        "title": e.name,
        "description": description(e),
        "archived": int(not e.is_active),
        "start_date": e.start.isoformat(),
        "due_date": e.end.isoformat(),
        "budgeted": 1,
        "price_in_cents": cents(e.contract_value),
        "currency": e.client.currency,
        "default_rate": f"{e.hourly_rate:.2f}",
        "group_id": int(kantata_group_id(e.client)),
        "code": e.code,
        "billing_model": BILLING_LABELS[e.billing_model],
        "external_ref": None,
        "created_at": ts(e.modified_at),
        "updated_at": ts(e.modified_at),
    }


def _user_row(p: Person) -> Row:
    return {
        "id": int(kantata_user_id(p)),
        "full_name": p.name,
        "email_address": p.email,
        "headline": p.title,
        "disabled": int(p.status != "Active"),
        "weekly_capacity_in_minutes": round(p.weekly_capacity_hours * 60),
        "bill_rate_in_cents": cents(p.bill_rate),
        "cost_rate_in_cents": cents(p.cost_rate),
        "currency": "USD",
        "created_at": ts(p.modified_at),
        "updated_at": ts(p.modified_at),
    }


def _participation_row(a: Assignment) -> Row:
    stamp = ts(a.engagement.modified_at)
    return {
        "id": int(kantata_participation_id(a)),
        "workspace_id": int(kantata_workspace_id(a.engagement)),
        "user_id": int(kantata_user_id(a.person)),
        "role": "maven",
        "active": int(a.is_active),
        "rate_in_cents": cents(a.hourly_rate),
        "currency": a.engagement.client.currency,
        "estimated_minutes": round(a.budget_hours * 60),
        "created_at": stamp,
        "updated_at": stamp,
    }


def _time_entry_row(t: TimeEntry) -> Row:
    invoice = None if t.harvest_invoice_id is None else int(kantata_invoice_id(t.harvest_invoice_id))
    return {
        "id": int(kantata_time_entry_id(t)),
        "workspace_id": int(kantata_workspace_id(t.engagement)),
        "user_id": int(kantata_user_id(t.person)),
        "story_id": int(kantata_story_id(t.engagement, t.task_id)),
        "date_performed": t.spent_date.isoformat(),
        "time_in_minutes": round(t.hours * 60),
        "billable": int(t.billable),
        "notes": t.notes,
        "rate_in_cents": cents(t.billable_rate),
        "cost_rate_in_cents": cents(t.cost_rate),
        "currency": t.engagement.client.currency,
        "approved": int(t.is_closed),
        "is_invoiced": int(invoice is not None),
        "invoice_id": invoice,
        "external_ref": None,
        "created_at": ts(t.created_at),
        "updated_at": ts(t.updated_at),
    }
