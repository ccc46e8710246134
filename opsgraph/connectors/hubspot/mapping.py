"""HubSpot CRM objects to canonical models. Pure functions, no I/O.

Every property arrives as a string (or null); numbers, booleans and timestamps are parsed here.
A company maps to a `Client`, a deal (with its primary company id) to an `Opportunity`. The
engagement code is the deal's `engagement_code` property; the ERP joins to the CRM on company id.
A required property that is missing or malformed raises `SourceDataError` naming record and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.hubspot.resources import (
    BILLING_MODEL_BY_VALUE,
    INDUSTRY_BY_VALUE,
    STAGE_BY_ID,
)
from opsgraph.connectors.toolkit.fields import FieldReader
from opsgraph.model import BillingModel, Client, Money, Opportunity, SourceName

# The error's source slot: SourceName has no HubSpot member yet, so errors name the CRM slot and the
# message names HubSpot (see resources.SYSTEM).
SOURCE = SourceName.SALESFORCE


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


def _props(record: Mapping[str, Any]) -> Mapping[str, Any]:
    props = record.get("properties")
    if not isinstance(props, Mapping):
        raise SourceDataError(SOURCE, "HubSpot object has no properties", record_id=_id(record))
    return props


def _id(record: Mapping[str, Any]) -> str | None:
    rid = record.get("id")
    return rid if isinstance(rid, str) else None


def _fail(record: Mapping[str, Any], prop: str, problem: str) -> SourceDataError:
    return SourceDataError(SOURCE, f"HubSpot object {problem}", record_id=_id(record), field=prop)


def _prop(record: Mapping[str, Any], prop: str) -> Any:
    return _props(record).get(prop)


# HubSpot sends every property as a string; null and "" both mean unset.
_read = FieldReader(_fail, get=_prop, blank_is_none=True, strings_only=True, flag_words=("true", "false"))
_text = _read.text
_required = _read.required_text
_bool = _read.flag


def _number(record: Mapping[str, Any], prop: str) -> Decimal | None:
    return _read.number(record, prop, finite=True)


def _datetime(record: Mapping[str, Any], prop: str) -> datetime | None:
    return _read.datetime(record, prop, parse_datetime)


def _date(record: Mapping[str, Any], prop: str) -> date | None:
    """A date property: HubSpot stores it as midnight UTC of the day."""
    stamp = _datetime(record, prop)
    return None if stamp is None else stamp.date()


def record_id(record: Mapping[str, Any]) -> str:
    rid = _id(record)
    if not rid:
        raise SourceDataError(SOURCE, "HubSpot object has no id", field="id")
    return rid


# -- objects -> models -----------------------------------------------------------------------------


def company_to_client(record: Mapping[str, Any]) -> Client:
    """A company as a canonical Client; its id is the HubSpot company id (the ERP's join key)."""
    industry = _text(record, "industry")
    return Client(
        id=record_id(record),
        name=_required(record, "name"),
        industry=None if industry is None else INDUSTRY_BY_VALUE.get(industry, industry),
        region=_text(record, "region"),
        billing_country=_text(record, "country"),
        legal_entity=_text(record, "legal_entity"),
        currency=_text(record, "billing_currency") or "USD",
        modified_at=_datetime(record, "hs_lastmodifieddate"),
    )


def billing_model(record: Mapping[str, Any]) -> BillingModel | None:
    value = _text(record, "billing_model")
    if value is None:
        return None
    model = BILLING_MODEL_BY_VALUE.get(value)
    if model is None:
        raise _fail(record, "billing_model", f"has an unknown billing_model value: {value!r}")
    return model


def deal_to_opportunity(record: Mapping[str, Any], company_id: str) -> Opportunity:
    """A deal as a canonical Opportunity; `company_id` is its primary company (association v4)."""
    stage_id = _required(record, "dealstage")
    stage = STAGE_BY_ID.get(stage_id)
    if stage is None:
        raise _fail(record, "dealstage", f"has a stage outside the pipeline: {stage_id!r}")
    amount = _number(record, "amount")
    probability = _number(record, "hs_deal_stage_probability")
    return Opportunity(
        id=record_id(record),
        name=_required(record, "dealname"),
        client_id=company_id,
        stage=stage.label,
        amount=None if amount is None else Money.of(amount, _text(record, "deal_currency_code") or "USD"),
        close_date=_date(record, "closedate"),
        probability=float(probability * 100) if probability is not None else stage.probability * 100,
        is_closed=_bool(record, "hs_is_closed"),
        is_won=_bool(record, "hs_is_closed_won"),
        billing_model=billing_model(record),
        practice=_text(record, "practice"),
        engagement_code=_text(record, "engagement_code"),
        modified_at=_datetime(record, "hs_lastmodifieddate"),
    )


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
