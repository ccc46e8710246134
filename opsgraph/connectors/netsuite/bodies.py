"""Canonical values -> NetSuite REST record bodies, for create / update / upsert. Pure functions.

The building blocks of the ERP port's writes (a later issue): each body is upserted on the
record's external id (`eid:`), so a retry never creates a twin.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from opsgraph.connectors.netsuite.mapping import BILLING_MODEL_LABELS
from opsgraph.model import BillingModel, InvoiceLine, Money


def _ref(internal_id: str) -> dict[str, str]:
    return {"id": internal_id}


def customer_record(*, name: str, legal_entity: str | None, currency_id: str) -> dict[str, Any]:
    """A customer body; upsert it on `eid:{CRM client id}` so a retry never creates a twin."""
    body: dict[str, Any] = {"companyName": name, "currency": _ref(currency_id)}
    if legal_entity:
        body["custentity_legal_entity"] = legal_entity
    return body


def job_record(
    *,
    code: str,
    name: str,
    customer_id: str,
    contract_value: Money | None = None,
    billing_model: BillingModel | None = None,
    practice: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """A job (project) body; the opportunity id goes in the URL of an upsert (`eid:`)."""
    body: dict[str, Any] = {"entityId": code, "companyName": name, "parent": _ref(customer_id)}
    if contract_value is not None:
        body["custentity_contract_value"] = float(contract_value.amount)
    if billing_model is not None:
        body["custentity_billing_model"] = BILLING_MODEL_LABELS[billing_model]
    if practice:
        body["custentity_practice"] = practice
    if start is not None:
        body["startDate"] = start.isoformat()
    if end is not None:
        body["projectedEndDate"] = end.isoformat()
    return body


def timebill_record(
    *, employee_id: str, job_id: str, day: date, hours: float, memo: str | None
) -> dict[str, Any]:
    """A time bill body; upsert it on `eid:{PSA time entry id}`."""
    body: dict[str, Any] = {
        "employee": _ref(employee_id),
        "customer": _ref(job_id),
        "tranDate": day.isoformat(),
        "hours": hours,
    }
    if memo:
        body["memo"] = memo
    return body


def invoice_record(
    *,
    customer_id: str,
    job_id: str | None,
    issue_date: date,
    due_date: date | None,
    lines: Sequence[InvoiceLine],
    memo: str | None = None,
) -> dict[str, Any]:
    """An invoice body with its item lines; upsert it on `eid:{PSA invoice id}`."""
    body: dict[str, Any] = {
        "entity": _ref(customer_id),
        "tranDate": issue_date.isoformat(),
        "item": {
            "items": [
                {
                    "description": ln.description,
                    "quantity": ln.quantity,
                    "rate": float(ln.rate.amount),
                    "amount": float(ln.amount.amount),
                }
                for ln in lines
            ]
        },
    }
    if job_id is not None:
        body["custbody_job"] = _ref(job_id)
    if due_date is not None:
        body["dueDate"] = due_date.isoformat()
    if memo:
        body["memo"] = memo
    return body
