"""Pure conversions between Harvest v2 records and the canonical models. No I/O.

Harvest's integer ids become strings; every mapper takes the configured system's name and sets it on
the record. A missing or malformed required field raises `SourceDataError` naming the record and the
Harvest field.

Billing models are encoded on a Harvest project as follows (the simulator projects the world this way):

- FIXED_FEE: `is_fixed_fee` true; `fee` is the contract value; `budget_by` "project", `budget` = hours.
- CAPPED: not fixed fee, `budget_by` "project_cost": `budget` is the cap (money), and the budget hours are
  the cap over the project's `hourly_rate`, rounded down.
- TIME_AND_MATERIALS: everything else; with `budget_by` "project" (or "person"/"task") `budget` is hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.harvest.resources import MAX_ID
from opsgraph.connectors.ids import is_digits
from opsgraph.connectors.toolkit.fields import FieldReader, Record
from opsgraph.model import (
    Assignment,
    BillingModel,
    Engagement,
    EngagementTimeTotals,
    PsaUser,
    TimeEntry,
    TimeEntryStatus,
    UnbilledTime,
)

HOURS_BUDGETS = frozenset({"project", "person", "task"})


def harvest_id(text: str) -> int | None:
    """The Harvest id a string names (`"42"` -> 42), or None when it is not shaped like one: not plain
    ASCII digits, a leading zero, zero, or beyond 64 bits. Such an id needs no request to be unknown."""
    if not is_digits(text) or text[0] == "0" or len(text) > 19:
        return None
    value = int(text)
    return value if value <= MAX_ID else None


# -- field readers ---------------------------------------------------------------------------------


def _path(record: Record, field: str) -> Any:
    """A field by dotted path (`project.id`). Hot: plain dict checks; decoded JSON objects are dicts."""
    if "." not in field:
        return record.get(field)
    value: Any = record
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@cache
def _reader(system: str) -> FieldReader:
    """One reader per configured system, so its errors name that system."""

    def fail(record: Record, field: str, problem: str) -> SourceDataError:
        return SourceDataError(system, f"Harvest record {problem}", record_id=record.get("id"), field=field)

    return FieldReader(fail, get=_path)


def _missing(read: FieldReader, record: Record, field: str) -> SourceDataError:
    return read.fail(record, field, f"has no {field}")


def _id(read: FieldReader, record: Record, field: str) -> str:
    value = read.get(record, field)
    if type(value) is not int:  # a bool is no id
        raise (
            _missing(read, record, field)
            if value is None
            else read.fail(record, field, f"has a non-integer {field}: {value!r}")
        )
    return str(value)


def _optional_id(read: FieldReader, record: Record, field: str) -> str | None:
    return None if read.get(record, field) is None else _id(read, record, field)


def _required_number(read: FieldReader, record: Record, field: str) -> Decimal:
    value = read.number(record, field)
    if value is None:
        raise _missing(read, record, field)
    return value


def _required_flag(read: FieldReader, record: Record, field: str) -> bool:
    if read.get(record, field) is None:
        raise _missing(read, record, field)
    return read.flag(record, field)


def _required_date(read: FieldReader, record: Record, field: str) -> date:
    value = read.date(record, field)
    if value is None:
        raise _missing(read, record, field)
    return value


def parse_timestamp(text: str) -> datetime:
    """Harvest's `2017-06-27T15:49:28Z`; a timestamp without a zone is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_timestamp(moment: datetime) -> str:
    """The `updated_since` form, `2017-06-27T15:49:28Z`: UTC, whole seconds (cut down, so nothing at
    `moment` is missed); a naive `moment` is taken as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- projects --------------------------------------------------------------------------------------


def billing_model(record: Record) -> BillingModel:
    if record.get("is_fixed_fee") is True:
        return BillingModel.FIXED_FEE
    if record.get("budget_by") == "project_cost":
        return BillingModel.CAPPED
    return BillingModel.TIME_AND_MATERIALS


def _budget_hours(
    read: FieldReader, record: Record, model: BillingModel, rate: Decimal | None
) -> float | None:
    budget = read.number(record, "budget")
    if budget is None:
        return None
    if model is BillingModel.CAPPED:
        return float(int(budget / rate)) if rate else None
    return float(budget) if record.get("budget_by") in HOURS_BUDGETS else None


def project_to_engagement(record: Record, system: str) -> Engagement:
    read = _reader(system)
    model = billing_model(record)
    rate = read.number(record, "hourly_rate")
    return Engagement(
        system=system,
        id=_id(read, record, "id"),
        code=read.required_text(record, "code"),
        name=read.required_text(record, "name"),
        psa_client_id=_optional_id(read, record, "client.id"),
        is_active=_required_flag(read, record, "is_active"),
        billing_model=model,
        hourly_rate=rate,
        budget_hours=_budget_hours(read, record, model, rate),
        start_date=read.date(record, "starts_on"),
        end_date=read.date(record, "ends_on"),
        notes=read.text(record, "notes"),
    )


def engagement_to_project_payload(
    engagement: Engagement, *, contract_value: Decimal | None = None
) -> dict[str, Any]:
    """The `POST /v2/projects` body for an engagement; `contract_value` is the fee or the cap."""
    model = engagement.billing_model
    client_id = None if engagement.psa_client_id is None else harvest_id(engagement.psa_client_id)
    if engagement.psa_client_id is not None and client_id is None:
        raise ValueError(f"not a Harvest client id: {engagement.psa_client_id!r}")
    payload: dict[str, Any] = {
        "client_id": client_id,
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


def user_to_psa_user(record: Record, system: str) -> PsaUser:
    read = _reader(system)
    capacity = _required_number(read, record, "weekly_capacity")
    return PsaUser(
        system=system,
        id=_id(read, record, "id"),
        name=f"{read.required_text(record, 'first_name')} {read.required_text(record, 'last_name')}",
        email=read.required_text(record, "email"),
        is_active=_required_flag(read, record, "is_active"),
        weekly_capacity_hours=float(capacity / 3600),
        default_hourly_rate=read.number(record, "default_hourly_rate"),
        cost_rate=read.number(record, "cost_rate"),
    )


def assignment_from_record(record: Record, system: str) -> Assignment:
    read = _reader(system)
    budget = read.number(record, "budget")
    return Assignment(
        system=system,
        id=_id(read, record, "id"),
        engagement_code=read.required_text(record, "project.code"),
        engagement_id=_id(read, record, "project.id"),
        user_id=_id(read, record, "user.id"),
        hourly_rate=read.number(record, "hourly_rate"),
        budget_hours=None if budget is None else float(budget),
        is_active=_required_flag(read, record, "is_active"),
    )


# -- time entries ----------------------------------------------------------------------------------


def time_entry_status(read: FieldReader, record: Record) -> TimeEntryStatus:
    """Billed when on an invoice, approved when closed (Harvest has no approval endpoint)."""
    if read.get(record, "invoice.id") is not None or record.get("is_billed") is True:
        return TimeEntryStatus.BILLED
    if _required_flag(read, record, "is_closed"):
        return TimeEntryStatus.APPROVED
    return TimeEntryStatus.UNAPPROVED


def time_entry_from_record(record: Record, system: str) -> TimeEntry:
    read = _reader(system)
    return TimeEntry(
        system=system,
        id=_id(read, record, "id"),
        date=_required_date(read, record, "spent_date"),
        hours=float(_required_number(read, record, "hours")),
        billable=_required_flag(read, record, "billable"),
        status=time_entry_status(read, record),
        notes=read.text(record, "notes"),
        user_id=_id(read, record, "user.id"),
        user_name=read.text(record, "user.name"),
        engagement_id=_id(read, record, "project.id"),
        engagement_code=read.text(record, "project.code"),
        task=read.text(record, "task.name"),
        currency=read.required_text(record, "client.currency"),
        bill_rate=read.number(record, "billable_rate"),
        cost_rate=read.number(record, "cost_rate"),
        invoice_id=_optional_id(read, record, "invoice.id"),
        updated_at=read.datetime(record, "updated_at", parse_timestamp),
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


# -- time reports and changes ----------------------------------------------------------------------


def engagement_totals_from_result(record: Record, system: str) -> EngagementTimeTotals:
    """One result of `GET /v2/reports/time/projects`. A result has no `id`: errors name its `project_id`.

    `currency` and `billable_amount` are only shown to roles that may see billable amounts; without them
    the result cannot be mapped.
    """
    read = _reader(system)
    keyed = {**record, "id": record.get("project_id")}
    return EngagementTimeTotals(
        engagement_id=_id(read, keyed, "project_id"),
        total_hours=float(_required_number(read, keyed, "total_hours")),
        billable_hours=float(_required_number(read, keyed, "billable_hours")),
        billable_amount=_required_number(read, keyed, "billable_amount"),
        currency=read.required_text(keyed, "currency"),
    )


def unbilled_from_result(record: Record, system: str) -> UnbilledTime:
    """One result of `GET /v2/reports/uninvoiced` (its uninvoiced time; expenses are not time)."""
    read = _reader(system)
    keyed = {**record, "id": record.get("project_id")}
    return UnbilledTime(
        engagement_id=_id(read, keyed, "project_id"),
        hours=float(_required_number(read, keyed, "uninvoiced_hours")),
        amount=_required_number(read, keyed, "uninvoiced_amount"),
        currency=read.required_text(keyed, "currency"),
    )


def record_change(record: Record, system: str, *, id_field: str, change_field: str) -> tuple[str, datetime]:
    """A listed record's id and when it last changed (its `updated_at`), for change polling."""
    read = _reader(system)
    modified = read.datetime(record, change_field, parse_timestamp)
    if modified is None:
        raise _missing(read, record, change_field)
    return _id(read, record, id_field), modified
