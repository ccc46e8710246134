"""The Harvest simulator's resources on the wire: each one's JSON document, rendered by SQLite.

SQLite's `json_object` builds every record in C, so a 2000-row page costs no Python object per field
(and leaves no garbage for the collector): pages of time entries and invoices stay fast at `large`.
Booleans go through `flag()` because SQLite stores them as integers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulators.simkit.store import Store

LOCKED_APPROVED = "Item Approved and Locked for this Time Period"
LOCKED_INVOICED = "Item Invoiced and Approved"


def obj(**fields: str) -> str:
    """A `json_object(...)` expression; each value is an SQL expression."""
    return "json_object(" + ", ".join(f"'{key}', {value}" for key, value in fields.items()) + ")"


def flag(expr: str) -> str:
    return f"json(CASE WHEN {expr} THEN 'true' ELSE 'false' END)"


def obj_or_null(key_col: str, **fields: str) -> str:
    return f"json(CASE WHEN {key_col} IS NULL THEN NULL ELSE {obj(**fields)} END)"


def text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Resource:
    """A listable resource: its table, paging order and the SELECT yielding `(id, doc)` rows."""

    key: str  # the list body's key, e.g. "time_entries"
    base: str  # "<table> <alias>"
    order: str
    cursor: bool  # cursor-paged (newest id first) rather than page-paged
    doc: str  # the document expression
    joins: str = ""

    @property
    def alias(self) -> str:
        return self.base.split()[1]

    @property
    def id_col(self) -> str:
        return f"{self.alias}.id"

    @property
    def select(self) -> str:
        return f"SELECT {self.id_col} AS id, {self.doc} AS doc FROM {self.base} {self.joins}"

    def docs(self, store: Store, ids: list[int]) -> list[str]:
        """The documents for `ids`, in that order (a page is chosen on the bare table, then rendered)."""
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        by_id = dict(store.execute(f"{self.select} WHERE {self.id_col} IN ({marks})", ids).fetchall())
        return [by_id[i] for i in ids if i in by_id]

    def one(self, store: Store, row_id: int) -> str | None:
        found = store.execute(f"{self.select} WHERE {self.id_col} = ?", [row_id]).fetchone()
        return None if found is None else str(found[1])


def _stamps(a: str) -> dict[str, str]:
    return {"created_at": f"{a}.created_at", "updated_at": f"{a}.updated_at"}


CLIENTS = Resource(
    "clients", "clients c", "c.id DESC", True,
    obj(id="c.id", name="c.name", is_active=flag("c.is_active"), address="c.address",
        statement_key="printf('%x', c.id)", currency="c.currency", **_stamps("c")),
)  # fmt: skip

PROJECTS = Resource(
    "projects", "projects p", "p.id DESC", True,
    obj(id="p.id", name="p.name", code="p.code", is_active=flag("p.is_active"),
        is_billable=flag("p.is_billable"), is_fixed_fee=flag("p.is_fixed_fee"), bill_by="p.bill_by",
        budget="p.budget", budget_by="p.budget_by", budget_is_monthly=flag("p.budget_is_monthly"),
        notify_when_over_budget="json('false')", over_budget_notification_percentage="80.0",
        show_budget_to_all="json('false')", cost_budget="p.cost_budget",
        cost_budget_include_expenses="json('false')", hourly_rate="p.hourly_rate", fee="p.fee",
        notes="p.notes", starts_on="p.starts_on", ends_on="p.ends_on",
        client=obj(id="p.client_id", name="c.name", currency="c.currency"), **_stamps("p")),
    "JOIN clients c ON c.id = p.client_id",
)  # fmt: skip

USERS = Resource(
    "users", "users u", "u.id DESC", True,
    obj(id="u.id", first_name="u.first_name", last_name="u.last_name", email="u.email", telephone="''",
        timezone="u.timezone", has_access_to_all_future_projects="json('false')",
        is_contractor=flag("u.is_contractor"), is_active=flag("u.is_active"),
        weekly_capacity="u.weekly_capacity", default_hourly_rate="u.default_hourly_rate",
        cost_rate="u.cost_rate", roles="json(u.roles)",
        access_roles="""json('["member"]')""",
        avatar_url=text("https://d3s3969qhosaug.cloudfront.net/v2/user.png"), **_stamps("u")),
)  # fmt: skip

TASKS = Resource(
    "tasks", "tasks t", "t.id DESC", False,
    obj(id="t.id", name="t.name", billable_by_default=flag("t.billable_by_default"),
        default_hourly_rate="t.default_hourly_rate", is_default=flag("t.is_default"),
        is_active=flag("t.is_active"), **_stamps("t")),
)  # fmt: skip

_PROJECT_REF = obj(id="p.id", name="p.name", code="p.code")

USER_ASSIGNMENTS = Resource(
    "user_assignments", "user_assignments ua", "ua.id DESC", True,
    obj(id="ua.id", is_project_manager=flag("ua.is_project_manager"), is_active=flag("ua.is_active"),
        use_default_rates=flag("ua.use_default_rates"), budget="ua.budget", **_stamps("ua"),
        hourly_rate="ua.hourly_rate", project=_PROJECT_REF,
        user=obj(id="u.id", name="u.first_name || ' ' || u.last_name")),
    "JOIN users u ON u.id = ua.user_id JOIN projects p ON p.id = ua.project_id",
)  # fmt: skip

TASK_ASSIGNMENTS = Resource(
    "task_assignments", "task_assignments ta", "ta.id DESC", False,
    obj(id="ta.id", billable=flag("ta.billable"), is_active=flag("ta.is_active"), **_stamps("ta"),
        hourly_rate="ta.hourly_rate", budget="ta.budget", project=_PROJECT_REF,
        task=obj(id="t.id", name="t.name")),
    "JOIN tasks t ON t.id = ta.task_id JOIN projects p ON p.id = ta.project_id",
)  # fmt: skip


def locked_reason(entry: Mapping[str, Any]) -> str | None:
    """Why a `time_entries` row cannot change (the Python twin of `LOCKED_REASON`)."""
    if entry["invoice_id"] is not None:
        return LOCKED_INVOICED
    return LOCKED_APPROVED if entry["is_closed"] else None


LOCKED_REASON = (
    f"CASE WHEN te.invoice_id IS NOT NULL THEN {text(LOCKED_INVOICED)} "
    f"WHEN te.is_closed THEN {text(LOCKED_APPROVED)} END"
)

TIME_ENTRIES = Resource(
    "time_entries", "time_entries te", "te.spent_date DESC, te.id DESC", False,
    obj(id="te.id", spent_date="te.spent_date", hours="te.hours", hours_without_timer="te.hours",
        rounded_hours="te.hours", notes="te.notes",
        is_locked=flag("te.invoice_id IS NOT NULL OR te.is_closed"), locked_reason=LOCKED_REASON,
        approval_status="CASE WHEN te.is_closed THEN 'approved' ELSE 'unsubmitted' END",
        is_closed=flag("te.is_closed"), is_billed=flag("te.invoice_id IS NOT NULL"), timer_started_at="NULL",
        started_time="NULL", ended_time="NULL", is_running="json('false')", billable=flag("te.billable"),
        budgeted="json('true')", billable_rate="te.billable_rate", cost_rate="te.cost_rate", **_stamps("te"),
        user=obj(id="u.id", name="u.first_name || ' ' || u.last_name"),
        client=obj(id="c.id", name="c.name", currency="c.currency"), project=_PROJECT_REF,
        task=obj(id="t.id", name="t.name"),
        external_reference=obj_or_null("te.ext_id", id="te.ext_id", group_id="te.ext_group_id",
                                        account_id="te.ext_account_id", permalink="te.ext_permalink",
                                        service="NULL", service_icon_url="NULL"),
        invoice=obj_or_null("te.invoice_id", id="te.invoice_id", number="i.number")),
    "JOIN users u ON u.id = te.user_id JOIN clients c ON c.id = te.client_id "
    "JOIN projects p ON p.id = te.project_id JOIN tasks t ON t.id = te.task_id "
    "LEFT JOIN invoices i ON i.id = te.invoice_id",
)  # fmt: skip

_LINE_ITEM = obj(
    id="li.id", kind="li.kind", description="li.description", quantity="li.quantity",
    unit_price="li.unit_price", amount="li.amount", taxed="json('false')", taxed2="json('false')",
    project=obj_or_null("li.project_id", id="lp.id", name="lp.name", code="lp.code"),
)  # fmt: skip
_LINE_ITEMS = (
    f"json((SELECT json_group_array(json(item)) FROM (SELECT {_LINE_ITEM} AS item "
    "FROM invoice_line_items li LEFT JOIN projects lp ON lp.id = li.project_id "
    "WHERE li.invoice_id = inv.id ORDER BY li.position)))"
)

INVOICES = Resource(
    "invoices", "invoices inv", "inv.issue_date DESC, inv.id DESC", False,
    obj(id="inv.id", client_key="printf('%x%x', inv.id, inv.client_id)", number="inv.number",
        purchase_order="''", amount="inv.amount", due_amount="inv.due_amount", tax="NULL", tax_amount="0.0",
        tax2="NULL", tax2_amount="0.0", discount="NULL", discount_amount="0.0", subject="inv.subject",
        notes="inv.notes", currency="inv.currency", state="inv.state", period_start="inv.period_start",
        period_end="inv.period_end", issue_date="inv.issue_date", due_date="inv.due_date",
        payment_term="inv.payment_term",
        sent_at="CASE WHEN inv.state = 'draft' THEN NULL ELSE inv.created_at END",
        paid_at="CASE WHEN inv.paid_date IS NULL THEN NULL ELSE inv.paid_date || 'T12:00:00Z' END",
        paid_date="inv.paid_date", closed_at="NULL", recurring_invoice_id="NULL", **_stamps("inv"),
        client=obj(id="c.id", name="c.name"), estimate="NULL", retainer="NULL", creator="NULL",
        line_items=_LINE_ITEMS),
    "JOIN clients c ON c.id = inv.client_id",
)  # fmt: skip
