"""The floor's schema: the bench documents' fields as strawberry types over plain dataclasses.

No loaders, no cache, no authorization, no computation: each root field returns a tree of
dataclasses built once from the gateway's own response (`build`), so executing a bench document
here costs only what strawberry needs to walk and serialise the same answer.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import date
from typing import Any

import strawberry
from strawberry.scalars import JSON


@strawberry.enum
class EngagementStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"


@strawberry.enum
class InvoiceStatus(enum.Enum):
    OPEN = "OPEN"
    PAID = "PAID"


@strawberry.enum
class Granularity(enum.Enum):
    MONTH = 1
    QUARTER = 3


@strawberry.input
class InvoiceFilter:
    status: InvoiceStatus | None = None


@strawberry.input
class TimeEntryFilter:
    from_: date = strawberry.field(name="from")
    to: date


@strawberry.type
class Money:
    amount: JSON | None = None
    currency: str | None = None


@strawberry.type
class Named:
    name: str | None = None
    title: str | None = None
    email: str | None = None
    department: str | None = None


@strawberry.type
class Coded:
    code: str | None = None
    name: str | None = None


@strawberry.type
class ForecastPeriod:  # field names as the documents spell them: the default resolver serves them
    start: str
    end: str
    actualRevenue: Money
    approvedUnbilled: Money
    backlog: Money
    weightedPipeline: Money
    projectedRevenue: Money
    capacityHours: JSON
    demandHours: JSON


@strawberry.type
class Forecast:
    periods: list[ForecastPeriod]


@strawberry.type
class Invoice:
    number: str
    issueDate: str
    dueDate: str
    daysOverdue: int
    amountDue: Money
    client: Named | None
    engagement: Coded | None


@strawberry.type
class Burn:
    hoursUsed: JSON
    percentHoursUsed: JSON | None
    status: str
    billedToDate: Money


@strawberry.type
class Blocker:
    code: str


@strawberry.type
class Readiness:
    ready: bool
    approvedUnbilledHours: JSON
    amount: Money
    blockers: list[Blocker]


@strawberry.type
class Assignment:
    hourlyRate: JSON | None
    resource: Named | None


@strawberry.type
class Engagement:
    code: str
    name: str
    contractValue: Money | None
    burn: Burn | None
    invoiceReadiness: Readiness | None
    assignments: list[Assignment]


@strawberry.type
class Client:
    id: str
    name: str
    region: str | None
    arBalance: Money | None
    engagements_: strawberry.Private[list[Engagement]]

    @strawberry.field
    def engagements(self, status: EngagementStatus | None = None) -> list[Engagement]:
        return self.engagements_


@strawberry.type
class PageInfo:
    hasNextPage: bool
    endCursor: str | None


@strawberry.type
class TimeEntry:
    id: str
    date: str
    hours: JSON
    status: str
    billRate: Money | None
    amount: Money | None
    resource: Named | None
    engagement: Coded | None


@strawberry.type
class InvoiceConnection:
    totalCount: int
    nodes: list[Invoice]


@strawberry.type
class ClientConnection:
    totalCount: int
    nodes: list[Client]


@strawberry.type
class TimeEntryConnection:
    totalCount: int
    pageInfo: PageInfo
    nodes: list[TimeEntry]


@strawberry.type
class Query:
    answers: strawberry.Private[dict[str, Any]]

    @strawberry.field
    def forecast(
        self,
        from_: typing.Annotated[date, strawberry.argument(name="from")],
        to: date,
        granularity: Granularity = Granularity.MONTH,
    ) -> Forecast:
        return typing.cast(Forecast, self.answers["forecast"])

    @strawberry.field
    def invoices(self, first: int | None = None, filter: InvoiceFilter | None = None) -> InvoiceConnection:
        return typing.cast(InvoiceConnection, self.answers["invoices"])

    @strawberry.field
    def clients(self, first: int | None = None) -> ClientConnection:
        return typing.cast(ClientConnection, self.answers["clients"])

    @strawberry.field
    def time_entries(self, filter: TimeEntryFilter, first: int | None = None) -> TimeEntryConnection:
        return typing.cast(TimeEntryConnection, self.answers["timeEntries"])


ROOTS: dict[str, type] = {
    "forecast": Forecast,
    "invoices": InvoiceConnection,
    "clients": ClientConnection,
    "timeEntries": TimeEntryConnection,
}


def build(cls: Any, value: Any) -> Any:
    """A JSON value as instances of the floor's dataclasses (a field `x_` takes the JSON's `x`)."""
    if value is None:
        return None
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(cls) if a is not type(None)]
        return build(inner, value)
    if origin is list:
        (item,) = typing.get_args(cls)
        return [build(item, v) for v in value]
    if origin is typing.Annotated:  # strawberry.Private
        return build(typing.get_args(cls)[0], value)
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls, include_extras=True)
        kwargs = {}
        for f in dataclasses.fields(cls):
            if not f.init or f.name not in hints:  # a resolver's field
                continue
            kwargs[f.name] = build(hints[f.name], value.get(f.name.rstrip("_")))
        return cls(**kwargs)  # type: ignore[operator]
    return value


def floor_schema(data: dict[str, Any]) -> tuple[strawberry.Schema, Query]:
    """The schema and its root value, answering each root field of `data` (root name -> JSON)."""
    answers = {name: build(ROOTS[name], value) for name, value in data.items()}
    return strawberry.Schema(query=Query), Query(answers=answers)
