"""The Harvest simulator's `POST /v2/invoices` (a draft invoice, optionally importing approved time;
a number in use is refused, 422 "Number has already been taken") and `DELETE /v2/invoices/{id}`.

`line_items_import` takes the approved (`is_closed`), uninvoiced billable time of the given projects in
the `time.from`..`time.to` range, groups it by `summary_type` (and rate), and marks those entries billed.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from simulators.harvest.sim_paging import document, not_found, unprocessable
from simulators.harvest.sim_wire import INVOICES
from simulators.harvest.sim_writes import (
    choice_field,
    date_field,
    int_field,
    json_body,
    now,
    num_field,
    text_field,
)
from simulators.simkit.store import Row, Store

SUMMARY_TYPES = ("project", "task", "people", "detailed")
_CENT = Decimal("0.01")
ENTRY_DETAIL_SQL = (
    "SELECT te.*, u.first_name || ' ' || u.last_name AS user_name, p.name AS project_name, "
    "p.code AS project_code, t.name AS task_name FROM time_entries te JOIN users u ON u.id = te.user_id "
    "JOIN projects p ON p.id = te.project_id JOIN tasks t ON t.id = te.task_id"
)


def _cents(value: Decimal) -> float:
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _import_lines(
    store: Store, client_id: int, spec: dict[str, Any]
) -> tuple[list[Row], list[int], dict[str, str | None]]:
    """Line items from approved, uninvoiced billable time; returns (lines, entry ids, time spec)."""
    project_ids = spec.get("project_ids")
    if not isinstance(project_ids, list) or not project_ids:
        raise unprocessable("line_items_import.project_ids must be a non-empty list")
    ids = [int_field({"project_id": p}, "project_id", required=True) for p in project_ids]
    owned = {
        r["id"]
        for r in store.rows(
            f"SELECT id FROM projects WHERE client_id = ? AND id IN ({', '.join('?' for _ in ids)})",
            [client_id, *ids],
        )
    }
    if missing := [p for p in ids if p not in owned]:
        raise unprocessable(f"Projects {missing} do not belong to client {client_id}")
    time = spec.get("time") or {}
    if not isinstance(time, dict):
        raise unprocessable("line_items_import.time must be an object")
    summary = choice_field(time, "summary_type", SUMMARY_TYPES) or "project"
    start, end = date_field(time, "from"), date_field(time, "to")
    sql = (
        f"{ENTRY_DETAIL_SQL} WHERE te.project_id IN ({', '.join('?' for _ in ids)}) AND te.billable = 1 "
        "AND te.is_closed = 1 AND te.invoice_id IS NULL"
    )
    params: list[Any] = list(ids)
    if start:
        sql, params = sql + " AND te.spent_date >= ?", [*params, start]
    if end:
        sql, params = sql + " AND te.spent_date <= ?", [*params, end]
    entries = store.rows(sql + " ORDER BY te.project_id, te.spent_date, te.id", params)
    span = f" ({start or entries[0]['spent_date']} - {end or entries[-1]['spent_date']})" if entries else ""
    groups: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for e in entries:
        label = {
            "project": f"[{e['project_code']}] {e['project_name']}",
            "task": f"[{e['project_code']}] {e['project_name']}: {e['task_name']}",
            "people": f"[{e['project_code']}] {e['project_name']}: {e['user_name']}",
            "detailed": f"[{e['project_code']}] {e['project_name']}: {e['task_name']} - {e['user_name']}, "
            f"{e['spent_date']}",
        }[summary]
        key = (e["project_id"], label, e["billable_rate"] or 0.0) + (
            (e["id"],) if summary == "detailed" else ()
        )
        groups[key].append(e)
    lines = []
    for (project_id, label, rate, *_), batch in groups.items():
        hours = sum(Decimal(str(e["hours"])) for e in batch)
        amount = hours * Decimal(str(rate))
        lines.append(
            {
                "kind": "Service",
                "description": label + span,
                "quantity": float(hours),
                "unit_price": float(rate),
                "amount": _cents(amount),
                "project_id": project_id,
            }
        )
    return lines, [e["id"] for e in entries], {"from": start, "to": end}


def _manual_lines(items: Any) -> list[Row]:
    if not isinstance(items, list):
        raise unprocessable("line_items must be a list")
    lines = []
    for item in items:
        if not isinstance(item, dict) or not item.get("kind"):
            raise unprocessable("Each line item needs a kind")
        quantity, price = num_field(item, "quantity") or 1.0, num_field(item, "unit_price") or 0.0
        lines.append(
            {
                "kind": str(item["kind"]),
                "description": str(item.get("description") or ""),
                "quantity": quantity,
                "unit_price": price,
                "amount": _cents(Decimal(str(quantity)) * Decimal(str(price))),
                "project_id": int_field(item, "project_id"),
            }
        )
    return lines


def _next_number(store: Store) -> str:
    numbers = [r["number"] for r in store.rows("SELECT number FROM invoices")]
    digits = [int("".join(ch for ch in n if ch.isdigit()) or 0) for n in numbers]
    return f"INV-{max(digits, default=0) + 1:06d}"


async def create_invoice(store: Store, request: Request) -> Response:
    body = await json_body(request)
    client_id = int_field(body, "client_id", required=True)
    client = store.row("SELECT * FROM clients WHERE id = ?", [client_id])
    if client is None:
        raise unprocessable(f"Client {client_id} does not exist")
    assert client_id is not None
    number = text_field(body, "number")
    if number and store.row("SELECT id FROM invoices WHERE number = ?", [number]) is not None:
        raise unprocessable("Number has already been taken")
    lines: list[Row] = []
    entry_ids: list[int] = []
    period: dict[str, str | None] = {"from": None, "to": None}
    if "line_items_import" in body:
        spec = body["line_items_import"]
        if not isinstance(spec, dict):
            raise unprocessable("line_items_import must be an object")
        lines, entry_ids, period = _import_lines(store, client_id, spec)
        if not lines:
            raise unprocessable("There is no approved, uninvoiced billable time to import for these projects")
    if "line_items" in body:
        lines += _manual_lines(body["line_items"])
    stamp = now()
    issue = date_field(body, "issue_date") or stamp[:10]
    due = date_field(body, "due_date") or issue
    amount = _cents(sum((Decimal(str(li["amount"])) for li in lines), Decimal(0)))
    invoice = {
        "client_id": client_id,
        "number": number or _next_number(store),
        "state": "draft",
        "amount": amount,
        "due_amount": amount,
        "subject": text_field(body, "subject"),
        "notes": text_field(body, "notes"),
        "currency": text_field(body, "currency") or client["currency"],
        "payment_term": text_field(body, "payment_term") or ("custom" if due != issue else "upon receipt"),
        "issue_date": issue,
        "due_date": due,
        "period_start": period["from"],
        "period_end": period["to"],
        "paid_date": None,
        "created_at": stamp,
        "updated_at": stamp,
    }
    invoice_id = store.insert("invoices", invoice)
    store.insert_many(
        "invoice_line_items", ({**li, "invoice_id": invoice_id, "position": n} for n, li in enumerate(lines))
    )
    for chunk in range(0, len(entry_ids), 500):
        ids = entry_ids[chunk : chunk + 500]
        marks = ", ".join("?" for _ in ids)
        store.execute(
            f"UPDATE time_entries SET invoice_id = ?, updated_at = ? WHERE id IN ({marks})",
            [invoice_id, stamp, *ids],
        )
    return document(store, INVOICES, invoice_id, status=201)


async def delete_invoice(store: Store, request: Request) -> Response:
    """`DELETE /v2/invoices/{id}`: the invoice goes, and the time it imported is unbilled again (200)."""
    invoice_id = request.path_params["id"]
    if store.row("SELECT id FROM invoices WHERE id = ?", [invoice_id]) is None:
        raise not_found()
    stamp = now()
    store.execute(
        "UPDATE time_entries SET invoice_id = NULL, updated_at = ? WHERE invoice_id = ?", [stamp, invoice_id]
    )
    store.execute("DELETE FROM invoice_line_items WHERE invoice_id = ?", [invoice_id])
    store.execute("DELETE FROM invoices WHERE id = ?", [invoice_id])
    return Response(status_code=200)
