"""Salesforce records to and from canonical models. Pure functions, no I/O.

Account maps to `Client`, Opportunity to `Opportunity` (its `client_id` is the AccountId). Each
mapper takes the configured system's name and sets it on the record. A required field that is
missing, null or of the wrong type raises `SourceDataError` naming the record and the field;
optional fields may be absent or null.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.toolkit.fields import FieldReader
from opsgraph.model import BillingModel, Client, Money, Opportunity

BILLING_MODEL_PICKLIST: dict[BillingModel, str] = {
    BillingModel.TIME_AND_MATERIALS: "Time and Materials",
    BillingModel.FIXED_FEE: "Fixed Fee",
    BillingModel.CAPPED: "Capped",
}
_BILLING_MODEL_BY_LABEL = {label: model for model, label in BILLING_MODEL_PICKLIST.items()}

_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_CHECKSUM = string.ascii_uppercase + "012345"
_SOQL_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


# -- ids, literals, timestamps -------------------------------------------------------------------


def is_salesforce_id(value: str, prefix: str | None = None) -> bool:
    """A 15- or 18-character id, optionally of one key prefix (`001` Account, `006` Opportunity)."""
    return bool(_ID.fullmatch(value)) and (prefix is None or value.startswith(prefix))


def to_18(value: str) -> str:
    """The case-safe 18-character form of a 15-character id (18-character ids are returned as is)."""
    if len(value) != 15:
        return value
    suffix = ""
    for chunk in range(3):
        part = value[chunk * 5 : chunk * 5 + 5]
        suffix += _CHECKSUM[sum(1 << i for i, ch in enumerate(part) if ch.isupper())]
    return value + suffix


def soql_quote(value: str) -> str:
    """A SOQL string literal: quotes and backslashes escaped, so user input cannot change the query."""
    return "'" + "".join(_SOQL_ESCAPES.get(ch, ch) for ch in value) + "'"


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal in UTC, floored to the second (so a poll never skips a change)."""
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_datetime(value: datetime) -> str:
    """Salesforce's own datetime form: `2025-03-31T17:02:11.000+0000`."""
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_datetime(value: str) -> datetime:
    """Parse `2025-03-31T17:02:11.000+0000` (also without millis, or with `Z`); raise ValueError.

    `fromisoformat` reads every form Salesforce sends, far faster than `strptime` on a hot path;
    a value without a zone is not a Salesforce datetime.
    """
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"not a Salesforce datetime: {value!r}")
    return parsed


def to_sf_value(value: Any) -> Any:
    """A Python value as Salesforce expects it in a JSON write body."""
    if isinstance(value, BillingModel):
        return BILLING_MODEL_PICKLIST[value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Money):
        return float(value.amount)
    return value


# -- field readers -------------------------------------------------------------------------------


def _record_id(record: Mapping[str, Any]) -> str | None:
    rid = record.get("Id")
    return rid if isinstance(rid, str) else None


@cache
def _reader(system: str) -> FieldReader:
    """One reader per configured system, so its errors name that system."""

    def fail(record: Mapping[str, Any], field: str, problem: str) -> SourceDataError:
        sobject = (record.get("attributes") or {}).get("type", "record")
        return SourceDataError(
            system, f"Salesforce {sobject} {problem}", record_id=_record_id(record), field=field
        )

    return FieldReader(fail)


def _currency(read: FieldReader, record: Mapping[str, Any]) -> str:
    return read.text(record, "CurrencyIsoCode") or "USD"


# -- records -> models ---------------------------------------------------------------------------


def account_to_client(record: Mapping[str, Any], system: str) -> Client:
    """An Account record (REST JSON) as a canonical Client of `system`."""
    read = _reader(system)
    return Client(
        system=system,
        id=read.required_text(record, "Id"),
        name=read.required_text(record, "Name"),
        industry=read.text(record, "Industry"),
        region=read.text(record, "Region__c"),
        billing_country=read.text(record, "BillingCountry"),
        legal_entity=read.text(record, "Legal_Entity__c"),
        currency=_currency(read, record),
        modified_at=read.datetime(record, "SystemModstamp", parse_datetime),
    )


def billing_model_from_picklist(read: FieldReader, record: Mapping[str, Any]) -> BillingModel | None:
    label = read.text(record, "Billing_Model__c")
    if label is None:
        return None
    model = _BILLING_MODEL_BY_LABEL.get(label)
    if model is None:
        raise read.fail(record, "Billing_Model__c", f"has an unknown Billing_Model__c value: {label!r}")
    return model


def opportunity_from_record(record: Mapping[str, Any], system: str) -> Opportunity:
    """An Opportunity record (REST JSON) as a canonical Opportunity of `system`."""
    read = _reader(system)
    amount = read.number(record, "Amount")
    probability = read.number(record, "Probability")
    return Opportunity(
        system=system,
        id=read.required_text(record, "Id"),
        name=read.required_text(record, "Name"),
        client_id=read.required_text(record, "AccountId"),
        stage=read.required_text(record, "StageName"),
        amount=None if amount is None else Money.of(amount, _currency(read, record)),
        close_date=read.date(record, "CloseDate"),
        probability=float(probability) if probability is not None else 0.0,
        is_closed=read.flag(record, "IsClosed"),
        is_won=read.flag(record, "IsWon"),
        billing_model=billing_model_from_picklist(read, record),
        practice=read.text(record, "Practice__c"),
        engagement_code=read.text(record, "Engagement_Code__c"),
        modified_at=read.datetime(record, "SystemModstamp", parse_datetime),
    )


def modstamp(record: Mapping[str, Any], system: str) -> tuple[str, datetime]:
    """(Id, SystemModstamp) of a change-poll row; both are required there."""
    read = _reader(system)
    stamp = read.datetime(record, "SystemModstamp", parse_datetime)
    if stamp is None:
        raise read.fail(record, "SystemModstamp", "has no SystemModstamp")
    return read.required_text(record, "Id"), stamp


# -- models -> write bodies ----------------------------------------------------------------------


def client_to_fields(client: Client) -> dict[str, Any]:
    """The writable Account fields of a Client (for create or update; Id and audit fields excluded)."""
    return {
        "Name": client.name,
        "Industry": client.industry,
        "BillingCountry": client.billing_country,
        "Region__c": client.region,
        "Legal_Entity__c": client.legal_entity,
        "CurrencyIsoCode": client.currency,
    }


def opportunity_to_fields(opportunity: Opportunity) -> dict[str, Any]:
    """The writable Opportunity fields (IsClosed and IsWon are derived from StageName by Salesforce)."""
    return {
        "Name": opportunity.name,
        "AccountId": opportunity.client_id,
        "StageName": opportunity.stage,
        "Amount": to_sf_value(opportunity.amount.amount) if opportunity.amount else None,
        "CloseDate": to_sf_value(opportunity.close_date),
        "Probability": opportunity.probability,
        "Billing_Model__c": to_sf_value(opportunity.billing_model),
        "Practice__c": opportunity.practice,
        "Engagement_Code__c": opportunity.engagement_code,
        **({"CurrencyIsoCode": opportunity.amount.currency} if opportunity.amount else {}),
    }
