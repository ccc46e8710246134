"""Pure conversions between Harvest v2 records and the canonical models.

Billing models are encoded on a Harvest project as follows (the simulator projects the world this way):

- FIXED_FEE: `is_fixed_fee` true; `fee` is the contract value; `budget_by` "project", `budget` = hours.
- CAPPED: not fixed fee, `budget_by` "project_cost": `budget` is the cap (money), and the budget hours are
  the cap over the project's `hourly_rate`, rounded down.
- TIME_AND_MATERIALS: everything else; with `budget_by` "project" (or "person"/"task") `budget` is hours.

A missing or malformed required field raises `SourceDataError` naming the record and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.model import (
    Assignment,
    BillingModel,
    Engagement,
    ProjectTimeTotals,
    PsaUser,
    SourceName,
    TimeEntry,
    TimeEntryStatus,
)

SOURCE = SourceName.HARVEST
HOURS_BUDGETS = frozenset({"project", "person", "task"})

Record = Mapping[str, Any]


def _fail(record: Record, field: str, message: str) -> SourceDataError:
    return SourceDataError(SOURCE, message, record_id=record.get("id"), field=field)


def _get(record: Record, path: str, *, required: bool) -> Any:
    """A field by dotted path. Hot (a page of 2000 entries reads ~40,000 fields): plain dict checks,
    not `Mapping`'s slower ABC check; decoded JSON objects are dicts."""
    if "." not in path:
        value: Any = record.get(path)
    else:
        value = record
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    if value is None and required:
        raise _fail(record, path, f"Harvest record is missing required field {path!r}")
    return value


def _int(record: Record, path: str) -> int:
    value = _get(record, path, required=True)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(record, path, f"Harvest field {path!r} is not an integer: {value!r}")
    return value


def _opt_int(record: Record, path: str) -> int | None:
    return None if _get(record, path, required=False) is None else _int(record, path)


def _str(record: Record, path: str) -> str:
    value = _get(record, path, required=True)
    if not isinstance(value, str) or not value.strip():
        raise _fail(record, path, f"Harvest field {path!r} is not a non-empty string: {value!r}")
    return value


def _opt_str(record: Record, path: str) -> str | None:
    value = _get(record, path, required=False)
    return None if value is None else str(value)


def _bool(record: Record, path: str) -> bool:
    value = _get(record, path, required=True)
    if not isinstance(value, bool):
        raise _fail(record, path, f"Harvest field {path!r} is not a boolean: {value!r}")
    return value


def _number(record: Record, path: str, *, required: bool = False) -> Decimal | None:
    value = _get(record, path, required=required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(record, path, f"Harvest field {path!r} is not a number: {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise _fail(record, path, f"Harvest field {path!r} is not a number: {value!r}") from None


def _date(record: Record, path: str, *, required: bool = False) -> date | None:
    value = _get(record, path, required=required)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _fail(record, path, f"Harvest field {path!r} is not a date: {value!r}") from None


def _datetime(record: Record, path: str) -> datetime | None:
    value = _get(record, path, required=False)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise _fail(record, path, f"Harvest field {path!r} is not a timestamp: {value!r}") from None


# -- projects --------------------------------------------------------------------------------------


def billing_model(record: Record) -> BillingModel:
    if _get(record, "is_fixed_fee", required=False):
        return BillingModel.FIXED_FEE
    if record.get("budget_by") == "project_cost":
        return BillingModel.CAPPED
    return BillingModel.TIME_AND_MATERIALS


def _budget_hours(record: Record, model: BillingModel, rate: Decimal | None) -> float | None:
    budget = _number(record, "budget")
    if budget is None:
        return None
    if model is BillingModel.CAPPED:
        return float(int(budget / rate)) if rate else None
    return float(budget) if record.get("budget_by") in HOURS_BUDGETS else None


def project_to_engagement(record: Record) -> Engagement:
    model = billing_model(record)
    rate = _number(record, "hourly_rate")
    return Engagement(
        code=_str(record, "code"),
        name=_str(record, "name"),
        harvest_project_id=_int(record, "id"),
        harvest_client_id=_opt_int(record, "client.id"),
        is_active=_bool(record, "is_active"),
        billing_model=model,
        hourly_rate=rate,
        budget_hours=_budget_hours(record, model, rate),
        start_date=_date(record, "starts_on"),
        end_date=_date(record, "ends_on"),
        notes=_opt_str(record, "notes"),
    )


def engagement_to_project_payload(
    engagement: Engagement, *, contract_value: Decimal | None = None
) -> dict[str, Any]:
    """The `POST /v2/projects` body for an engagement; `contract_value` is the fee or the cap."""
    model = engagement.billing_model
    payload: dict[str, Any] = {
        "client_id": engagement.harvest_client_id,
        "name": engagement.name,
        "code": engagement.code,
        "is_active": engagement.is_active,
        "is_billable": True,
        "is_fixed_fee": model is BillingModel.FIXED_FEE,
        "bill_by": "Project" if model is BillingModel.FIXED_FEE else "People",
        "budget_by": "project",
        "budget": engagement.budget_hours,
        "budget_is_monthly": False,
        "hourly_rate": None if engagement.hourly_rate is None else float(engagement.hourly_rate),
        "starts_on": None if engagement.start_date is None else engagement.start_date.isoformat(),
        "ends_on": None if engagement.end_date is None else engagement.end_date.isoformat(),
        "notes": engagement.notes,
    }
    if model is not BillingModel.TIME_AND_MATERIALS and contract_value is None:
        raise ValueError(f"a {model.value} engagement needs its contract value")
    if model is BillingModel.FIXED_FEE:
        payload["fee"] = float(contract_value or 0)
    elif model is BillingModel.CAPPED:
        payload["budget_by"], payload["budget"] = "project_cost", float(contract_value or 0)
    return payload


# -- people and assignments ------------------------------------------------------------------------


def user_to_psa_user(record: Record) -> PsaUser:
    capacity = _number(record, "weekly_capacity", required=True)
    assert capacity is not None
    return PsaUser(
        id=_int(record, "id"),
        name=f"{_str(record, 'first_name')} {_str(record, 'last_name')}",
        email=_str(record, "email"),
        is_active=_bool(record, "is_active"),
        weekly_capacity_hours=float(capacity / 3600),
        default_hourly_rate=_number(record, "default_hourly_rate"),
        cost_rate=_number(record, "cost_rate"),
    )


def assignment_from_record(record: Record) -> Assignment:
    budget = _number(record, "budget")
    return Assignment(
        id=_int(record, "id"),
        engagement_code=_str(record, "project.code"),
        harvest_project_id=_int(record, "project.id"),
        harvest_user_id=_int(record, "user.id"),
        hourly_rate=_number(record, "hourly_rate"),
        budget_hours=None if budget is None else float(budget),
        is_active=_bool(record, "is_active"),
    )


# -- time entries ----------------------------------------------------------------------------------


def time_entry_status(record: Record) -> TimeEntryStatus:
    """Billed when on an invoice, approved when closed (Harvest has no approval endpoint)."""
    if _get(record, "invoice.id", required=False) is not None or record.get("is_billed") is True:
        return TimeEntryStatus.BILLED
    if _bool(record, "is_closed"):
        return TimeEntryStatus.APPROVED
    return TimeEntryStatus.UNAPPROVED


def time_entry_from_record(record: Record) -> TimeEntry:
    hours = _number(record, "hours", required=True)
    assert hours is not None
    return TimeEntry(
        id=_int(record, "id"),
        date=_date(record, "spent_date", required=True),
        hours=float(hours),
        billable=_bool(record, "billable"),
        status=time_entry_status(record),
        notes=_opt_str(record, "notes"),
        harvest_user_id=_int(record, "user.id"),
        user_name=_opt_str(record, "user.name"),
        harvest_project_id=_int(record, "project.id"),
        engagement_code=_opt_str(record, "project.code"),
        task=_opt_str(record, "task.name"),
        currency=_str(record, "client.currency"),
        bill_rate=_number(record, "billable_rate"),
        cost_rate=_number(record, "cost_rate"),
        harvest_invoice_id=_opt_int(record, "invoice.id"),
        updated_at=_datetime(record, "updated_at"),
    )


def time_entry_to_payload(
    *,
    project_id: int,
    task_id: int,
    spent_date: date,
    hours: float,
    notes: str | None = None,
    user_id: int | None = None,
    external_reference: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The `POST /v2/time_entries` body (duration tracking). `external_reference` needs an `id`."""
    payload: dict[str, Any] = {
        "project_id": project_id,
        "task_id": task_id,
        "spent_date": spent_date.isoformat(),
        "hours": hours,
    }
    if notes is not None:
        payload["notes"] = notes
    if user_id is not None:
        payload["user_id"] = user_id
    if external_reference is not None:
        if not external_reference.get("id"):
            raise ValueError("an external_reference needs an id")
        keys = ("id", "group_id", "account_id", "permalink")
        payload["external_reference"] = {k: external_reference[k] for k in keys if k in external_reference}
    return payload


# -- time reports ----------------------------------------------------------------------------------


def project_time_totals_from_result(record: Record) -> ProjectTimeTotals:
    """One result of `GET /v2/reports/time/projects`. A result has no `id`: errors name its `project_id`.

    `currency` and `billable_amount` are only shown to roles that may see billable amounts; without them
    the result cannot be mapped.
    """
    keyed = {**record, "id": record.get("project_id")}
    total = _number(keyed, "total_hours", required=True)
    billable = _number(keyed, "billable_hours", required=True)
    amount = _number(keyed, "billable_amount", required=True)
    assert total is not None and billable is not None and amount is not None
    return ProjectTimeTotals(
        harvest_project_id=_int(keyed, "project_id"),
        total_hours=float(total),
        billable_hours=float(billable),
        billable_amount=amount,
        currency=_str(keyed, "currency"),
    )
