"""The simulator's REST record API without the HTTP: rendering records, and writes with NetSuite's rules.

Writes check what NetSuite checks: required fields, read-only fields, references that must exist,
unique external ids and entity ids, and postings (invoices, time bills) dated in a closed period.
Unknown body fields are ignored, as with NetSuite's default `X-NetSuite-PropertyNameValidation:
warning`, or rejected when the request asks for `error`.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import Any

from opsgraph.connectors.ids import is_digits
from simulators.netsuite.sim_state import (
    INVOICE_STATUS,
    RECORD_TYPES,
    Field,
    RecordType,
    bump,
    iso_z,
    line_row,
    period_for,
)
from simulators.simkit.store import Row, Store


class RecordError(Exception):
    """A request NetSuite would refuse: rendered as an RFC 7807 body by the simulator."""

    def __init__(self, status: int, code: str, detail: str, path: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.path = status, code, detail, path


def record_type(name: str) -> RecordType:
    rt = RECORD_TYPES.get(name.lower())
    if rt is None:
        raise RecordError(404, "INVALID_RCRD_TYPE", f"Record type '{name}' does not exist.")
    return rt


def _where(rt: RecordType) -> tuple[str, list[Any]]:
    """The filter that keeps a shared table to this record type (invoices in `transaction`)."""
    if not rt.fixed:
        return "1 = 1", []
    return " AND ".join(f"{c} = ?" for c in rt.fixed), list(rt.fixed.values())


def find(store: Store, rt: RecordType, rid: str) -> Row | None:
    """The row for an internal id or an `eid:<externalId>` key, or None."""
    where, params = _where(rt)
    if rid.startswith("eid:"):
        return store.row(f"SELECT * FROM {rt.sql_table} WHERE externalid = ? AND {where}", [rid[4:], *params])
    if not is_digits(rid):
        return None
    return store.row(f"SELECT * FROM {rt.sql_table} WHERE id = ? AND {where}", [int(rid), *params])


def list_ids(store: Store, rt: RecordType, limit: int, offset: int) -> tuple[list[int], int]:
    where, params = _where(rt)
    total = int(store.scalar(f"SELECT COUNT(*) FROM {rt.sql_table} WHERE {where}", params))
    rows = store.rows(
        f"SELECT id FROM {rt.sql_table} WHERE {where} ORDER BY id LIMIT ? OFFSET ?", [*params, limit, offset]
    )
    return [r["id"] for r in rows], total


def self_link(base: str, type_name: str, rid: int | str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"{base}/record/v1/{type_name}/{rid}"}]


def _ref(store: Store, base: str, target: str, rid: int) -> dict[str, Any]:
    rt = RECORD_TYPES[target.lower()]
    name = store.scalar(f"SELECT {rt.ref_name} FROM {rt.sql_table} WHERE id = ?", (rid,))
    ref: dict[str, Any] = {"links": self_link(base, rt.name, rid), "id": str(rid)}
    if name is not None:
        ref["refName"] = str(name)
    return ref


def _rest_value(store: Store, base: str, f: Field, value: Any) -> Any:
    if f.kind in ("id", "text"):
        return str(value)
    if f.kind == "ref":
        return _ref(store, base, f.ref or "", int(value))
    if f.kind == "bool":
        return value == "T"
    if f.kind == "datetime":
        return iso_z(value)
    if f.kind == "status":
        label = INVOICE_STATUS.get(value, value)
        return {"id": label, "refName": label}
    return value  # int, amount, number and date are already in their JSON form


def render(
    store: Store, rt: RecordType, row: Row, base: str, *, fields: set[str] | None, expand: bool
) -> Row:
    """A record as `GET record/v1/{type}/{id}` returns it: nulls omitted, like NetSuite."""
    out: Row = {"links": self_link(base, rt.name, row["id"])}
    for f in rt.fields:
        if f.rest is None or row.get(f.column) is None:
            continue
        if fields is not None and f.rest.lower() not in fields and f.rest != "id":
            continue
        out[f.rest] = _rest_value(store, base, f, row[f.column])
    if rt.name == "invoice" and (fields is None or "item" in fields):
        href = f"{base}/record/v1/invoice/{row['id']}/item"
        out["item"] = {"links": [{"rel": "self", "href": href}]}
        if expand:
            lines = store.rows(
                "SELECT * FROM txn_line WHERE txn_id = ? AND mainline = 'F' ORDER BY id", (row["id"],)
            )
            items = [
                {"links": [], "line": ln["id"], "description": ln["memo"], "quantity": ln["quantity"],
                 "rate": ln["rate"], "amount": ln["foreignamount"]}
                for ln in lines
            ]  # fmt: skip
            out["item"].update(
                {
                    "count": len(items),
                    "hasMore": False,
                    "items": items,
                    "offset": 0,
                    "totalResults": len(items),
                }
            )
    return out


# -- writes ---------------------------------------------------------------------------------------


def _decode(store: Store, rt: RecordType, body: Any, *, strict: bool) -> tuple[Row, list[Row] | None]:
    """REST body -> column values (and invoice item lines, when given)."""
    if not isinstance(body, dict):
        raise RecordError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
    known = rt.by_rest()
    values: Row = {}
    lines: list[Row] | None = None
    for key, raw in body.items():
        if rt.name == "invoice" and key == "item":
            lines = _decode_lines(raw)
            continue
        f = known.get(key.lower())
        if f is None:
            if strict:
                raise RecordError(400, "INVALID_CONTENT", f"Invalid field name: '{key}'.", key)
            continue
        if not f.writable:
            raise RecordError(400, "INVALID_CONTENT", f"The field '{f.rest}' is read-only.", key)
        values[f.column] = _decode_value(store, f, raw)
    return values, lines


def _decode_value(store: Store, f: Field, raw: Any) -> Any:
    def bad() -> RecordError:
        return RecordError(
            400, "INVALID_CONTENT", f"Invalid Field Value {raw!r} for the following field: {f.rest}", f.rest
        )

    if raw is None:
        return None
    if f.kind == "text":
        if not isinstance(raw, str):
            raise bad()
        return raw or None
    if f.kind in ("amount", "number", "int"):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise bad()
        return int(raw) if f.kind == "int" else float(raw)
    if f.kind == "bool":
        if not isinstance(raw, bool):
            raise bad()
        return "T" if raw else "F"
    if f.kind == "date":
        try:
            return date.fromisoformat(raw).isoformat()
        except (TypeError, ValueError):
            raise bad() from None
    if f.kind == "ref":
        target = RECORD_TYPES[(f.ref or "").lower()]
        key = raw.get("id") if isinstance(raw, dict) else None
        eid = raw.get("externalId") if isinstance(raw, dict) else None
        row = find(store, target, str(key)) if key is not None else None
        if row is None and eid is not None:
            row = find(store, target, f"eid:{eid}")
        if row is None:
            raise bad()
        return row["id"]
    raise bad()


def _decode_lines(raw: Any) -> list[Row]:
    items = raw.get("items") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise RecordError(400, "INVALID_CONTENT", "The sublist 'item' must carry an 'items' array.", "item")
    lines: list[Row] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise RecordError(400, "INVALID_CONTENT", "Each item line must be an object.", f"item.items[{n}]")
        qty: Any = item.get("quantity")
        rate: Any = item.get("rate")
        amount: Any = item.get("amount")
        if not _numeric(qty, rate) or not (amount is None or _numeric(amount)):
            raise RecordError(
                400,
                "INVALID_CONTENT",
                "Each item line needs a numeric quantity and rate.",
                f"item.items[{n}]",
            )
        amount = round(float(qty) * float(rate), 2) if amount is None else float(amount)
        lines.append(
            {"memo": item.get("description"), "quantity": float(qty), "rate": float(rate), "amount": amount}
        )
    return lines


def _numeric(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _check_period(store: Store, day: str | None) -> None:
    period = period_for(store, day) if day else None
    if period is not None and period["closed"] == "T":
        raise RecordError(
            400, "USER_ERROR",
            f"The accounting period {period['periodname']} is closed: a transaction dated {day} cannot be "
            "posted to it.",
            "tranDate",
        )  # fmt: skip


def _check(store: Store, rt: RecordType, row: Row, rid: int | None) -> None:
    for col in ("externalid", "entityid") if rt.name != "employee" else ("externalid",):
        value = row.get(col)
        if value is None or col not in rt.by_column():
            continue
        where, params = _where(rt)
        clash = store.scalar(
            f"SELECT id FROM {rt.sql_table} WHERE {col} = ? AND id IS NOT ? AND {where}",
            [value, rid, *params],
        )
        if clash is not None:
            raise RecordError(
                400, "USER_ERROR", f"A {rt.name} record with {col} '{value}' already exists.", col
            )
    if rt.dated:
        _check_period(store, row.get("trandate"))


def create(store: Store, rt: RecordType, body: Any, *, strict: bool, external_id: str | None = None) -> int:
    if not rt.writable:
        raise RecordError(405, "METHOD_NOT_ALLOWED", f"Records of type '{rt.name}' cannot be created.")
    values, lines = _decode(store, rt, body, strict=strict)
    if external_id is not None:
        values["externalid"] = external_id
    missing = [r for r in rt.required if values.get(rt.by_rest()[r.lower()].column) is None]
    if missing:
        raise RecordError(400, "USER_ERROR", f"Please enter value(s) for: {', '.join(missing)}", missing[0])
    rid = int(store.scalar(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {rt.sql_table}"))
    row = _defaults(store, rt, rid, values, lines or [])
    _check(store, rt, row, None)
    store.insert(rt.sql_table, row)
    if rt.name == "invoice":
        _write_lines(store, rid, row["foreigntotal"], lines or [])
        _add_balance(store, row["entity"], row["foreignamountremaining"])
    return rid


def _defaults(store: Store, rt: RecordType, rid: int, values: Row, lines: list[Row]) -> Row:
    now = bump(None)
    row: Row = {"id": rid, **rt.fixed, **values, "lastmodifieddate": now}
    row["createddate" if rt.name == "invoice" else "datecreated"] = now
    if "isinactive" in rt.by_column():
        row.setdefault("isinactive", "F")
    if rt.name == "customer":
        row.setdefault("entityid", f"CUST{rid}")
        row.update(balance=0.0, currency=row.get("currency") or 1)
    elif rt.name == "employee":
        row.setdefault("entityid", f"{row.get('firstname')} {row.get('lastname')}")
    elif rt.name == "job":
        parent_currency = store.scalar("SELECT currency FROM customer WHERE id = ?", (row["parent"],))
        row["currency"] = row.get("currency") or parent_currency
    elif rt.name == "timeBill":
        row.update(posted="T", isbillable=row.get("isbillable") or "T")
    elif rt.name == "invoice":
        total = round(sum(ln["amount"] for ln in lines), 2)
        due = row.get("duedate") or (date.fromisoformat(row["trandate"]) + timedelta(30)).isoformat()
        period = period_for(store, row["trandate"])
        customer_currency = store.scalar("SELECT currency FROM customer WHERE id = ?", (row["entity"],))
        row.update(
            tranid=row.get("tranid") or f"INV-{rid}", status="A" if total > 0 else "B", foreigntotal=total,
            foreignamountremaining=total, duedate=due,
            currency=row.get("currency") or customer_currency, postingperiod=period and period["id"],
        )  # fmt: skip
    return row


def _write_lines(store: Store, txn: int, total: float, lines: list[Row]) -> None:
    store.execute("DELETE FROM txn_line WHERE txn_id = ?", (txn,))
    rows = [line_row(txn, 0, None, None, None, total, mainline=True)]
    rows += [
        line_row(txn, n, ln["memo"], ln["quantity"], ln["rate"], ln["amount"])
        for n, ln in enumerate(lines, start=1)
    ]
    store.insert_many("txn_line", rows)


def _add_balance(store: Store, customer: int, delta: float) -> None:
    prev = store.row("SELECT balance, lastmodifieddate FROM customer WHERE id = ?", (customer,))
    if prev is not None and delta:
        balance = round(prev["balance"] + delta, 2)
        store.update(
            "customer",
            "id",
            customer,
            {"balance": balance, "lastmodifieddate": bump(prev["lastmodifieddate"])},
        )


def update(store: Store, rt: RecordType, rid: str, body: Any, *, strict: bool) -> int:
    if not rt.writable:
        raise RecordError(405, "METHOD_NOT_ALLOWED", f"Records of type '{rt.name}' cannot be updated.")
    current = find(store, rt, rid)
    if current is None:
        raise not_found()
    values, lines = _decode(store, rt, body, strict=strict)
    missing = [
        f.rest for f in rt.fields if f.rest in rt.required and f.column in values and values[f.column] is None
    ]
    if missing:
        raise RecordError(400, "USER_ERROR", f"Please enter value(s) for: {', '.join(missing)}", missing[0])
    if rt.dated:  # a posting in a closed period cannot be edited, nor moved out of it
        _check_period(store, current.get("trandate"))
    _check(store, rt, {**current, **values}, current["id"])
    values["lastmodifieddate"] = bump(current["lastmodifieddate"])
    if rt.name == "invoice" and lines is not None:
        total = round(sum(ln["amount"] for ln in lines), 2)
        paid = current["foreigntotal"] - current["foreignamountremaining"]
        remaining = round(max(0.0, total - paid), 2)
        values.update(foreigntotal=total, foreignamountremaining=remaining, status="A" if remaining else "B")
        _write_lines(store, current["id"], total, lines)
        _add_balance(store, current["entity"], remaining - current["foreignamountremaining"])
    store.update(rt.sql_table, "id", current["id"], values)
    return int(current["id"])


def upsert(store: Store, rt: RecordType, external_id: str, body: Any, *, strict: bool) -> tuple[int, bool]:
    """`PUT record/v1/{type}/eid:{externalId}`: update the record with that external id, or create it."""
    if isinstance(body, dict) and any(k.lower() == "externalid" for k in body):
        raise RecordError(
            400, "INVALID_CONTENT", "The external id is given by the URL, not the body.", "externalId"
        )
    if find(store, rt, f"eid:{external_id}") is not None:
        return update(store, rt, f"eid:{external_id}", body, strict=strict), False
    return create(store, rt, body, strict=strict, external_id=external_id), True


def delete(store: Store, rt: RecordType, rid: str) -> int:
    """`DELETE record/v1/{type}/{id}` (invoices only here): NetSuite refuses it in a closed period
    and once a payment is applied; the customer's balance drops by what was still due."""
    if rt.name != "invoice":
        raise RecordError(405, "METHOD_NOT_ALLOWED", f"Records of type '{rt.name}' cannot be deleted.")
    row = find(store, rt, rid)
    if row is None:
        raise not_found()
    _check_period(store, row.get("trandate"))
    if row["foreignamountremaining"] != row["foreigntotal"]:
        raise RecordError(
            400, "USER_ERROR", "This record cannot be deleted because it has dependent records."
        )
    store.execute("DELETE FROM txn_line WHERE txn_id = ?", (row["id"],))
    store.execute(f"DELETE FROM {rt.sql_table} WHERE id = ?", (row["id"],))
    _add_balance(store, row["entity"], -row["foreignamountremaining"])
    return int(row["id"])


def not_found() -> RecordError:
    return RecordError(
        404, "NONEXISTENT_ID", "The record instance does not exist. Provide a valid record instance ID."
    )


# -- events done in NetSuite's UI ---------------------------------------------------------------------


def pay_invoice(store: Store, rid: str) -> Row:
    row = find(store, RECORD_TYPES["invoice"], str(rid))
    if row is None:
        raise ValueError(f"no invoice with id {rid!r}")
    remaining = row["foreignamountremaining"]
    store.update(
        "txn", "id", row["id"],
        {"foreignamountremaining": 0.0, "status": "B", "lastmodifieddate": bump(row["lastmodifieddate"])},
    )  # fmt: skip
    _add_balance(store, row["entity"], -remaining)
    return {"type": "pay_invoice", "id": str(row["id"]), "paid": remaining}


def close_period(store: Store, rid: str) -> Row:
    row = find(store, RECORD_TYPES["accountingperiod"], str(rid))
    if row is None:
        raise ValueError(f"no accounting period with id {rid!r}")
    store.update(
        "accountingperiod",
        "id",
        row["id"],
        {"closed": "T", "lastmodifieddate": bump(row["lastmodifieddate"])},
    )
    return {"type": "close_period", "id": str(row["id"]), "periodName": row["periodname"]}


def integrity_error(exc: sqlite3.IntegrityError) -> RecordError:
    return RecordError(400, "USER_ERROR", f"The record could not be saved: {exc}")
