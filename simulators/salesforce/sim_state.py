"""The simulated org's data: the world projected into SQLite, plus validated reads and writes.

The world is never mutated; writes go to SQLite only, so `reset` rebuilds from the world.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from opsgraph.connectors.salesforce.mapping import BILLING_MODEL_PICKLIST, format_datetime, to_18
from simulators.salesforce.sim_meta import (
    ACCOUNT,
    OPPORTUNITY,
    STAGES,
    Field,
    SObject,
    schema_sql,
    to_json,
)
from simulators.simkit.store import Row, Store, utc_now
from simulators.world import World, salesforce_id

_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BILLING_LABEL = {model.value: label for model, label in BILLING_MODEL_PICKLIST.items()}


class SimError(Exception):
    """A Salesforce error response: HTTP status, errorCode, message and the fields concerned."""

    def __init__(self, status: int, code: str, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, list(fields)

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}


def not_found() -> SimError:
    return SimError(404, "NOT_FOUND", "The requested resource does not exist")


def normalise_id(value: str) -> str | None:
    """The 18-character form of a well-formed id, or None for anything that is not an id."""
    return to_18(value) if _ID.fullmatch(value) else None


class OrgState:
    """Accounts and opportunities in SQLite, with Salesforce's write rules."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.store = Store(schema_sql())
        self.next_number: dict[str, int] = {}
        self.load()

    def load(self) -> None:
        self.store.wipe()
        world = self.world
        currency = {c.sf_id: c.currency for c in world.clients}
        self.store.insert_many(
            ACCOUNT.sql_table,
            (
                {
                    "Id": c.sf_id,
                    "Name": c.name,
                    "Industry": c.industry,
                    "BillingCountry": c.country,
                    "Region__c": c.region,
                    "Legal_Entity__c": c.legal_entity,
                    "CurrencyIsoCode": c.currency,
                    "SystemModstamp": format_datetime(c.modified_at),
                    "CreatedDate": format_datetime(c.modified_at - timedelta(days=400)),
                    "LastModifiedDate": format_datetime(c.modified_at),
                }
                for c in world.clients
            ),
        )
        self.store.insert_many(
            OPPORTUNITY.sql_table,
            (
                {
                    "Id": o.sf_id,
                    "Name": o.name,
                    "AccountId": o.account_id,
                    "StageName": o.stage,
                    "Amount": float(o.amount),
                    "CloseDate": o.close_date.isoformat(),
                    "Probability": float(o.probability),
                    "IsClosed": int(o.is_closed),
                    "IsWon": int(o.is_won),
                    "Billing_Model__c": _BILLING_LABEL[o.billing_model],
                    "Practice__c": o.practice,
                    "Engagement_Code__c": o.engagement_code,
                    "CurrencyIsoCode": currency.get(o.account_id, "USD"),
                    "SystemModstamp": format_datetime(o.modified_at),
                    "CreatedDate": format_datetime(o.modified_at - timedelta(days=45)),
                    "LastModifiedDate": format_datetime(o.modified_at),
                }
                for o in world.opportunities
            ),
        )
        # New ids continue past the world's numbering (see world.builder: 1000 + i, 5000 + i).
        self.next_number = {
            "Account": 1000 + len(world.clients),
            "Opportunity": 5000 + len(world.opportunities),
        }

    # -- reads -----------------------------------------------------------------------------------

    def get(self, s: SObject, record_id: str) -> Row | None:
        rid = normalise_id(record_id)
        if rid is None or not rid.startswith(s.prefix):
            return None
        return self.store.row(f'SELECT * FROM {s.sql_table} WHERE "Id" = ?', (rid,))

    def get_many(self, s: SObject, ids: Sequence[str]) -> dict[str, Row]:
        wanted = list({rid for i in ids if (rid := normalise_id(i)) and rid.startswith(s.prefix)})
        found: dict[str, Row] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self.store.rows(f'SELECT * FROM {s.sql_table} WHERE "Id" IN ({marks})', chunk):
                found[row["Id"]] = row
        return found

    def find_by(self, s: SObject, field_name: str, value: str) -> list[Row]:
        if field_name == "Id":
            row = self.get(s, value)
            return [row] if row else []
        return self.store.rows(
            f'SELECT * FROM {s.sql_table} WHERE "{field_name}" = ? ORDER BY rowid', (value,)
        )

    def fields_for(self, s: SObject, names: Iterable[str]) -> list[Field]:
        """Resolve requested field names (case-insensitive); an unknown one is INVALID_FIELD."""
        out: list[Field] = []
        for name in names:
            f = s.field(name.strip())
            if f is None:
                raise SimError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name.strip()}' on entity '{s.name}'. If you are attempting to use a "
                    "custom field, be sure to append the '__c' after the custom field name.",
                )
            if f not in out:
                out.append(f)
        return out

    def record_json(self, s: SObject, row: Row, fields: Sequence[Field] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": s.name, "url": s.url(row["Id"])}}
        for f in fields if fields is not None else s.fields:
            out[f.name] = to_json(f, row[f.name])
        return out

    # -- writes ----------------------------------------------------------------------------------

    def new_id(self, s: SObject) -> str:
        n = self.next_number[s.name]
        self.next_number[s.name] = n + 1
        return salesforce_id(s.prefix, n)

    def create(self, s: SObject, body: Mapping[str, Any]) -> str:
        values = self.coerce(s, body)
        for f in s.fields:
            if f.required and values.get(f.name) in (None, ""):
                raise SimError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name]
                )
        if s is OPPORTUNITY:
            self._derive_stage(values, probability_given="Probability" in values)
            if values.get("CurrencyIsoCode") is None:
                account = self.get(ACCOUNT, values["AccountId"]) if values.get("AccountId") else None
                values["CurrencyIsoCode"] = account["CurrencyIsoCode"] if account else "USD"
        elif values.get("CurrencyIsoCode") is None:
            values["CurrencyIsoCode"] = "USD"
        now = format_datetime(utc_now())
        record_id = self.new_id(s)
        row: dict[str, Any] = {f.name: None for f in s.fields}
        row.update(values, Id=record_id, SystemModstamp=now, CreatedDate=now, LastModifiedDate=now)
        self.store.insert(s.sql_table, row)
        return record_id

    def update(self, s: SObject, record_id: str, body: Mapping[str, Any]) -> str:
        row = self.get(s, record_id)
        if row is None:
            raise not_found()
        values = self.coerce(s, body)
        for f in s.fields:
            if f.required and f.name in values and values[f.name] in (None, ""):
                raise SimError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name]
                )
        if s is OPPORTUNITY and "StageName" in values:
            self._derive_stage(values, probability_given="Probability" in values)
        self.touch(s, row["Id"], values)
        return str(row["Id"])

    def touch(self, s: SObject, record_id: str, values: Mapping[str, Any]) -> None:
        """Write `values` (already valid) and bump the audit stamps, as every Salesforce write does."""
        now = format_datetime(utc_now())
        self.store.update(
            s.sql_table, '"Id"', record_id, {**values, "SystemModstamp": now, "LastModifiedDate": now}
        )

    def delete(self, s: SObject, record_id: str) -> None:
        row = self.get(s, record_id)
        if row is None:
            raise not_found()
        self.store.execute(f'DELETE FROM {s.sql_table} WHERE "Id" = ?', (row["Id"],))

    @staticmethod
    def _derive_stage(values: dict[str, Any], *, probability_given: bool) -> None:
        probability, closed, won = STAGES[values["StageName"]]
        values["IsClosed"], values["IsWon"] = int(closed), int(won)
        if not probability_given or values.get("Probability") is None:
            values["Probability"] = probability

    def coerce(self, s: SObject, body: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a write body into storable values, raising the error Salesforce would give."""
        out: dict[str, Any] = {}
        for name, value in body.items():
            if name == "attributes":
                continue
            f = s.field(name)
            if f is None:
                raise SimError(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {s.name}", [name]
                )
            if not f.writable:
                raise SimError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {f.name}. Please check the security settings of this "
                    "field and verify that it is read/write for your profile or permission set.",
                    [f.name],
                )
            out[f.name] = self._coerce_value(s, f, value)
        return out

    def _coerce_value(self, s: SObject, f: Field, value: Any) -> Any:
        if value is None:
            return None
        kind = f.kind
        if kind in ("currency", "percent"):
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise _json_error("double", value)
            try:
                return float(value)
            except ValueError:
                raise _json_error("double", value) from None
        if not isinstance(value, str):
            raise _json_error("date" if kind == "date" else "String", value)
        if kind == "date":
            try:
                if not _DATE.fullmatch(value):
                    raise ValueError(value)
                return date.fromisoformat(value).isoformat()
            except ValueError:
                raise _json_error("date", value) from None
        if kind == "reference":
            return self._reference(f, value)
        if f.max_length is not None and len(value) > f.max_length:
            raise SimError(
                400,
                "STRING_TOO_LONG",
                f"{f.name}: data value too large: {value[:40]} (max length={f.max_length})",
                [f.name],
            )
        if f.values and value not in f.values:
            raise SimError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.name}: bad value for restricted picklist field: {value}",
                [f.name],
            )
        return value

    def _reference(self, f: Field, value: str) -> str:
        rid = normalise_id(value)
        label = f"{f.reference_to} ID"
        if rid is None:
            raise SimError(400, "MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [f.name])
        target = ACCOUNT if f.reference_to == "Account" else OPPORTUNITY
        if not rid.startswith(target.prefix):
            raise SimError(
                400, "FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {value}", [f.name]
            )
        if self.get(target, rid) is None:
            raise SimError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        return rid


def _json_error(kind: str, value: Any) -> SimError:
    token = {bool: "VALUE_" + str(value).upper(), int: "VALUE_NUMBER_INT", float: "VALUE_NUMBER_FLOAT"}
    shape = token.get(type(value), "VALUE_STRING" if isinstance(value, str) else "START_OBJECT")
    return SimError(
        400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from {shape} value {value}"
    )
