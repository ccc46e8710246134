"""Scalars-ish value types and enums shared by the node types."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeAlias

import strawberry

from opsgraph import model
from opsgraph.resolvers.context import RequestContext

Info: TypeAlias = strawberry.Info[RequestContext, None]

BillingModel = strawberry.enum(model.BillingModel)
EngagementStatus = strawberry.enum(model.EngagementStatus)
TimeEntryStatus = strawberry.enum(model.TimeEntryStatus)
InvoiceStatus = strawberry.enum(model.InvoiceStatus)
ResourceStatus = strawberry.enum(model.ResourceStatus)
Source = strawberry.enum(model.SourceName, name="Source")


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


def money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount=amount.quantize(Decimal("0.01")), currency=currency)


@strawberry.type
class DataQualityIssue:
    code: str
    message: str
    source: Source  # type: ignore[valid-type]
    record_id: str | None
    field: str | None

    @classmethod
    def of(cls, issue: model.DataQualityIssue) -> DataQualityIssue:
        return cls(
            code=issue.code,
            message=issue.message,
            source=issue.source,
            record_id=issue.record_id,
            field=issue.field,
        )


@strawberry.type
class SourceLinks:
    """The record's ids in each system (null where it has no record there)."""

    salesforce_id: str | None = None
    harvest_id: str | None = None
    bamboohr_id: str | None = None
    netsuite_id: str | None = None
