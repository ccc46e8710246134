"""HubSpot CRM objects to canonical models. Pure functions, no I/O.

Every property arrives as a string (or null); numbers, booleans and timestamps are parsed here.
A company maps to a `Client`, a deal (with its primary company id) to an `Opportunity`. The
engagement code is the deal's `engagement_code` property; the ERP joins to the CRM on company id.
Each mapper takes the configured system's name and sets it on the record. A required property that
is missing or malformed raises `SourceDataError` naming record and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.hubspot.resources import (
    BILLING_MODEL_BY_VALUE,
    INDUSTRY_BY_VALUE,
    STAGE_BY_ID,
)
from opsgraph.connectors.toolkit.fields import FieldReader
from opsgraph.model import BillingModel, Client, Money, Opportunity


def format_datetime(value: datetime) -> str:
    """HubSpot's datetime property form: `2026-03-31T17:02:11.123Z` (UTC, milliseconds)."""
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def epoch_ms(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return int(value.timestamp() * 1000)


def parse_datetime(value: str) -> datetime:
    """An ISO-8601 timestamp or an epoch-milliseconds string (both occur); raise ValueError."""
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {value!r}")
    return parsed.astimezone(UTC)


# -- property readers ------------------------------------------------------------------------------


def _id(record: Mapping[str, Any]) -> str | None:
    rid = record.get("id")
    return rid if isinstance(rid, str) else None


class _Reader(FieldReader):
    """HubSpot's reader for one system: every property is a string; null and "" both mean unset."""

    def __init__(self, system: str) -> None:
        self.system = system
        flags = ("true", "false")
        super().__init__(self._fail, get=self._prop, blank_is_none=True, strings_only=True, flag_words=flags)

    def _fail(self, record: Mapping[str, Any], prop: str, problem: str) -> SourceDataError:
        return SourceDataError(self.system, f"HubSpot object {problem}", record_id=_id(record), field=prop)

    def _prop(self, record: Mapping[str, Any], prop: str) -> Any:
        props = record.get("properties")
        if not isinstance(props, Mapping):
            raise self._fail(record, "properties", "has no properties")
        return props.get(prop)

    def record_id(self, record: Mapping[str, Any]) -> str:
        rid = _id(record)
        if not rid:
            raise self._fail(record, "id", "has no id")
        return rid

    def stamp(self, record: Mapping[str, Any], prop: str) -> datetime | None:
        return self.datetime(record, prop, parse_datetime)

    def day(self, record: Mapping[str, Any], prop: str) -> date | None:
        """A date property: HubSpot stores it as midnight UTC of the day."""
        stamp = self.stamp(record, prop)
        return None if stamp is None else stamp.date()


@cache
def _reader(system: str) -> _Reader:
    return _Reader(system)


# -- objects -> models -----------------------------------------------------------------------------


def company_to_client(record: Mapping[str, Any], system: str) -> Client:
    """A company as a canonical Client; its id is the HubSpot company id (the ERP's join key)."""
    read = _reader(system)
    industry = read.text(record, "industry")
    return Client(
        system=system,
        id=read.record_id(record),
        name=read.required_text(record, "name"),
        industry=None if industry is None else INDUSTRY_BY_VALUE.get(industry, industry),
        region=read.text(record, "region"),
        billing_country=read.text(record, "country"),
        legal_entity=read.text(record, "legal_entity"),
        currency=read.text(record, "billing_currency") or "USD",
        modified_at=read.stamp(record, "hs_lastmodifieddate"),
    )


def _billing_model(read: _Reader, record: Mapping[str, Any]) -> BillingModel | None:
    value = read.text(record, "billing_model")
    if value is None:
        return None
    model = BILLING_MODEL_BY_VALUE.get(value)
    if model is None:
        raise read.fail(record, "billing_model", f"has an unknown billing_model value: {value!r}")
    return model


def deal_to_opportunity(record: Mapping[str, Any], company_id: str, system: str) -> Opportunity:
    """A deal as a canonical Opportunity; `company_id` is its primary company (association v4)."""
    read = _reader(system)
    stage_id = read.required_text(record, "dealstage")
    stage = STAGE_BY_ID.get(stage_id)
    if stage is None:
        raise read.fail(record, "dealstage", f"has a stage outside the pipeline: {stage_id!r}")
    amount = read.number(record, "amount", finite=True)
    probability = read.number(record, "hs_deal_stage_probability", finite=True)
    currency = read.text(record, "deal_currency_code") or "USD"
    return Opportunity(
        system=system,
        id=read.record_id(record),
        name=read.required_text(record, "dealname"),
        client_id=company_id,
        stage=stage.label,
        amount=None if amount is None else Money.of(amount, currency),
        close_date=read.day(record, "closedate"),
        probability=float(probability * 100) if probability is not None else stage.probability * 100,
        is_closed=read.flag(record, "hs_is_closed"),
        is_won=read.flag(record, "hs_is_closed_won"),
        billing_model=_billing_model(read, record),
        practice=read.text(record, "practice"),
        engagement_code=read.text(record, "engagement_code"),
        modified_at=read.stamp(record, "hs_lastmodifieddate"),
    )


def last_modified(record: Mapping[str, Any], system: str) -> tuple[str, datetime]:
    """(id, hs_lastmodifieddate) of a change-poll result; both are required there."""
    read = _reader(system)
    stamp = read.stamp(record, "hs_lastmodifieddate")
    if stamp is None:
        raise read.fail(record, "hs_lastmodifieddate", "has no hs_lastmodifieddate")
    return read.record_id(record), stamp


def primary_company(result: Mapping[str, Any], primary_type: int) -> str | None:
    """The primary company id in one v4 association result (the first one when none is primary)."""
    targets = result.get("to")
    if not isinstance(targets, list):
        return None
    first: str | None = None
    for target in targets:
        if not isinstance(target, Mapping) or target.get("toObjectId") is None:
            continue
        to_id = str(target["toObjectId"])
        first = first or to_id
        types = target.get("associationTypes") or []
        if any(isinstance(t, Mapping) and t.get("typeId") == primary_type for t in types):
            return to_id
    return first
