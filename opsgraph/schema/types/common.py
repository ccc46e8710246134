"""Scalars-ish value types and enums shared by the node types."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TypeAlias

import strawberry

from opsgraph import model
from opsgraph import money as money_model
from opsgraph.resolvers.context import RequestContext
from opsgraph.schema.types.deprecated import DEPRECATED_SOURCE, Source, source_of
from opsgraph.schema.types.refs import Role

Info: TypeAlias = strawberry.Info[RequestContext, None]

BillingModel = strawberry.enum(model.BillingModel)
EngagementStatus = strawberry.enum(model.EngagementStatus)
TimeEntryStatus = strawberry.enum(model.TimeEntryStatus)
InvoiceStatus = strawberry.enum(model.InvoiceStatus)
ResourceStatus = strawberry.enum(model.ResourceStatus)


@strawberry.type
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, m: model.Money) -> Money:
        return cls(amount=m.amount, currency=m.currency)

    @classmethod
    def maybe(cls, m: model.Money | None) -> Money | None:
        return None if m is None else cls.of(m)


RateType = strawberry.enum(
    money_model.RateType,
    description="AVERAGE: a period's average rate (flows); CURRENT: the rate at its end (balances)",
)


@strawberry.type(description="One group of amounts converted to the reporting currency at one ERP rate.")
class CurrencyConversion:
    original: Money
    converted: Money
    rate: Decimal = strawberry.field(description="1 original currency = rate x the reporting currency")
    rate_type: RateType  # type: ignore[valid-type]
    period_name: str = strawberry.field(description="The ERP accounting period the rate belongs to")
    period_start: date
    period_end: date
    derived: bool = strawberry.field(description="A cross rate through the ERP's base currency")

    @classmethod
    def of(cls, c: money_model.Conversion) -> CurrencyConversion:
        return cls(
            original=Money.of(c.original),
            converted=Money.of(c.converted),
            rate=c.rate,
            rate_type=c.rate_type,
            period_name=c.period.name,
            period_start=c.period.start,
            period_end=c.period.end,
            derived=c.derived,
        )


@strawberry.type(
    description="A sum over amounts in several currencies, in the reporting currency, with the rates used."
)
class ConvertedMoney:
    amount: Decimal
    currency: str
    originals: list[Money] = strawberry.field(description="The sum per original currency, before conversion")
    conversions: list[CurrencyConversion]

    @classmethod
    def of(cls, m: money_model.ConvertedMoney) -> ConvertedMoney:
        return cls(
            amount=m.total.amount,
            currency=m.total.currency,
            originals=[Money.of(o) for o in m.originals],
            conversions=[CurrencyConversion.of(c) for c in m.conversions],
        )


def money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount=amount.quantize(Decimal("0.01")), currency=currency)


@strawberry.type(description="A broken join or suspicious value across systems, returned as data.")
class DataQualityIssue:
    code: str
    message: str
    system: str = strawberry.field(
        description="The configured system the issue is about: where the record is, or where a missing "
        "record was looked for"
    )
    role: Role  # type: ignore[valid-type]
    record_id: str | None = strawberry.field(description="The record's id in that system")
    field: str | None = strawberry.field(description="The canonical field at fault (`code`, `email`...)")

    @strawberry.field(description="The vendor of that system (null if no such system is configured).")
    def vendor(self, info: Info) -> str | None:
        system = info.context.sources.systems.get(self.system)
        return system.vendor if system else None

    @strawberry.field(deprecation_reason=DEPRECATED_SOURCE)
    def source(self) -> Source:
        return source_of(self.role)

    @classmethod
    def of(cls, issue: model.DataQualityIssue) -> DataQualityIssue:
        return cls(
            code=issue.code,
            message=issue.message,
            system=issue.system,
            role=issue.role,
            record_id=issue.record_id,
            field=issue.field,
        )
