"""Pure conversions between Kantata records and the canonical models. No I/O.

Ids are strings on Kantata's wire already. Money is integer cents beside its `currency`; time is
minutes. A workspace's engagement code and billing model are its custom field values (included with
it); its client is its workspace group; its budget hours are its price over its default rate, rounded
down. A missing or malformed required field raises `SourceDataError` naming the record and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.kantata.resources import BILLING_FIELD, BILLING_MODELS, CODE_FIELD
from opsgraph.connectors.toolkit.fields import FieldReader, Record
from opsgraph.model import (
    Assignment,
    BillingModel,
    Engagement,
    EngagementTimeTotals,
    PsaUser,
    TimeEntry,
    TimeEntryStatus,
)

CENT = Decimal("0.01")
Included = Mapping[str, Mapping[str, Any]]
"""One included type's objects by id (`custom_field_values`, `users`, `stories`)."""


def kantata_id(text: str) -> str | None:
    """`text` when shaped like a Kantata id (plain ASCII digits, no leading zero, at most 18), else None:
    such an id needs no request to be unknown."""
    ok = text.isascii() and text.isdigit() and text[0] != "0" and len(text) <= 18
    return text if ok else None


@cache
def _reader(system: str) -> FieldReader:
    def fail(record: Record, field: str, problem: str) -> SourceDataError:
        return SourceDataError(system, f"Kantata record {problem}", record_id=record.get("id"), field=field)

    return FieldReader(fail)


def _id(read: FieldReader, record: Record, field: str) -> str:
    value = read.get(record, field)
    if not isinstance(value, str) or kantata_id(value) is None:
        problem = f"has no {field}" if value is None else f"has a malformed {field}: {value!r}"
        raise read.fail(record, field, problem)
    return value


def _optional_id(read: FieldReader, record: Record, field: str) -> str | None:
    return None if read.get(record, field) is None else _id(read, record, field)


def _required(read: FieldReader, record: Record, field: str, value: Any) -> Any:
    if value is None:
        raise read.fail(record, field, f"has no {field}")
    return value


def _flag(read: FieldReader, record: Record, field: str) -> bool:
    _required(read, record, field, read.get(record, field))
    return read.flag(record, field)


def _money(read: FieldReader, record: Record, field: str) -> Decimal | None:
    """An integer cents field as an amount (`24000` -> `240.00`)."""
    value = read.number(record, field, finite=True)
    return None if value is None else (value / 100).quantize(CENT)


def _minutes(read: FieldReader, record: Record, field: str) -> Decimal:
    value: Decimal = _required(read, record, field, read.number(record, field, finite=True))
    return value


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 (`2026-10-08T12:00:30Z` or with an offset); without a zone, UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def after_param(moment: datetime) -> str:
    """The `updated_after` value that misses nothing at or after `moment`: a second before it, cut to
    the second (Kantata stamps whole seconds); the caller cuts the answer to the instant."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware.astimezone(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- workspaces ------------------------------------------------------------------------------------------


def custom_fields(record: Record, values: Included) -> dict[str, Any]:
    """A workspace's custom field values by field name (from `include=custom_field_values`)."""
    out: dict[str, Any] = {}
    for value_id in record.get("custom_field_value_ids") or ():
        value = values.get(str(value_id))
        if isinstance(value, Mapping) and isinstance(value.get("custom_field_name"), str):
            out[value["custom_field_name"]] = value.get("value")
    return out


def engagement_code(record: Record, values: Included) -> str | None:
    """A workspace's engagement code; None for a workspace that has none (an internal or template
    workspace, or one whose fields were never set): not one of the firm's engagements."""
    code = custom_fields(record, values).get(CODE_FIELD)
    return code if isinstance(code, str) and code else None


def workspace_code(record: Record, values: Included, system: str) -> str:
    code = engagement_code(record, values)
    if code is None:
        raise _reader(system).fail(record, CODE_FIELD, f"has no {CODE_FIELD} custom field value")
    return code


def workspace_to_engagement(record: Record, values: Included, system: str) -> Engagement:
    read = _reader(system)
    fields = custom_fields(record, values)
    label = fields.get(BILLING_FIELD)
    model = BillingModel(
        BILLING_MODELS.get(label, "TIME_AND_MATERIALS") if isinstance(label, str) else "TIME_AND_MATERIALS"
    )
    rate = read.number(record, "default_rate", finite=True)
    price = _money(read, record, "price_in_cents")
    groups = record.get("workspace_group_ids") or []
    return Engagement(
        system=system,
        id=_id(read, record, "id"),
        code=workspace_code(record, values, system),
        name=read.required_text(record, "title"),
        psa_client_id=str(groups[0]) if groups else None,
        is_active=not _flag(read, record, "archived"),
        billing_model=model,
        hourly_rate=rate,
        budget_hours=float(int(price / rate)) if price is not None and rate else None,
        start_date=read.date(record, "start_date"),
        end_date=read.date(record, "due_date"),
        notes=read.text(record, "description"),
    )


# -- users and participations ------------------------------------------------------------------------


def user_to_psa_user(record: Record, system: str) -> PsaUser:
    read = _reader(system)
    return PsaUser(
        system=system,
        id=_id(read, record, "id"),
        name=read.required_text(record, "full_name"),
        email=read.required_text(record, "email_address"),
        is_active=not _flag(read, record, "disabled"),
        weekly_capacity_hours=float(_minutes(read, record, "weekly_capacity_in_minutes") / 60),
        default_hourly_rate=_money(read, record, "bill_rate_in_cents"),
        cost_rate=_money(read, record, "cost_rate_in_cents"),
    )


def participation_to_assignment(record: Record, codes: Mapping[str, str], system: str) -> Assignment:
    """`codes`: the engagement code of each workspace id (read with the workspaces)."""
    read = _reader(system)
    workspace_id = _id(read, record, "workspace_id")
    code = codes.get(workspace_id)
    if code is None:
        raise read.fail(record, "workspace_id", f"names workspace {workspace_id}, which has no code")
    minutes = read.number(record, "estimated_minutes", finite=True)
    return Assignment(
        system=system,
        id=_id(read, record, "id"),
        engagement_code=code,
        engagement_id=workspace_id,
        user_id=_id(read, record, "user_id"),
        hourly_rate=_money(read, record, "rate_in_cents"),
        budget_hours=None if minutes is None else float(minutes / 60),
        is_active=_flag(read, record, "active"),
    )


# -- time entries ----------------------------------------------------------------------------------------


def time_entry_status(read: FieldReader, record: Record) -> TimeEntryStatus:
    if record.get("is_invoiced") is True or record.get("invoice_id") is not None:
        return TimeEntryStatus.BILLED
    return TimeEntryStatus.APPROVED if _flag(read, record, "approved") else TimeEntryStatus.UNAPPROVED


def time_entry_from_record(
    record: Record, codes: Mapping[str, str], users: Included, stories: Included, system: str
) -> TimeEntry:
    """`users` and `stories`: the included objects (`include=user,story`) for the name and the task."""
    read = _reader(system)
    workspace_id = _id(read, record, "workspace_id")
    user_id = _id(read, record, "user_id")
    story = stories.get(str(record.get("story_id")))
    user = users.get(user_id)
    return TimeEntry(
        system=system,
        id=_id(read, record, "id"),
        date=_required(read, record, "date_performed", read.date(record, "date_performed")),
        hours=float(_minutes(read, record, "time_in_minutes") / 60),
        billable=_flag(read, record, "billable"),
        status=time_entry_status(read, record),
        notes=read.text(record, "notes"),
        user_id=user_id,
        user_name=user.get("full_name") if isinstance(user, Mapping) else None,
        engagement_id=workspace_id,
        engagement_code=codes.get(workspace_id),
        task=story.get("title") if isinstance(story, Mapping) else None,
        currency=read.required_text(record, "currency"),
        bill_rate=_money(read, record, "rate_in_cents"),
        cost_rate=_money(read, record, "cost_rate_in_cents"),
        invoice_id=_optional_id(read, record, "invoice_id"),
        updated_at=read.datetime(record, "updated_at", parse_timestamp),
    )


class TotalsBuilder:
    """Hours and billable amount per workspace, summed from time entries in exact cents."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.rows: dict[str, tuple[Decimal, Decimal, Decimal, str]] = {}

    def add(self, record: Record) -> None:
        read = _reader(self.system)
        workspace_id = _id(read, record, "workspace_id")
        minutes = _minutes(read, record, "time_in_minutes")
        currency = read.required_text(record, "currency")
        billable = _flag(read, record, "billable")
        rate = read.number(record, "rate_in_cents", finite=True) if billable else None
        total, billed, cents, seen = self.rows.get(
            workspace_id, (Decimal(0), Decimal(0), Decimal(0), currency)
        )
        if seen != currency:
            raise read.fail(record, "currency", f"is in {currency} where its workspace has {seen}")
        self.rows[workspace_id] = (
            total + minutes,
            billed + (minutes if billable else 0),
            cents + (minutes * rate if rate is not None else 0),
            currency,
        )

    def totals(self) -> dict[str, EngagementTimeTotals]:
        return {
            key: EngagementTimeTotals(
                engagement_id=key,
                total_hours=float(total / 60),
                billable_hours=float(billed / 60),
                billable_amount=(cents / 6000).quantize(CENT, ROUND_HALF_UP),
                currency=currency,
            )
            for key, (total, billed, cents, currency) in self.rows.items()
        }


def record_change(record: Record, system: str) -> tuple[str, datetime]:
    read = _reader(system)
    moment = _required(read, record, "updated_at", read.datetime(record, "updated_at", parse_timestamp))
    return _id(read, record, "id"), moment
