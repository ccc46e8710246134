"""The node types of the graph. Leaf fields are plain attributes; only cross-record fields resolve.

Fields that reach into another system are nullable on purpose: when that system fails, only those
fields become null (with an error), and the rest of the record still arrives. Records carry their
own system, so a link (`links`, a parent, a child) always names the system that holds it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Optional

import strawberry
from strawberry import Private

from opsgraph import model
from opsgraph.model import record_key
from opsgraph.resolvers import owners, stitching
from opsgraph.resolvers.fanout import NOT_READY
from opsgraph.resolvers.views.periods import month_start
from opsgraph.schema.relay import to_global_id
from opsgraph.schema.selection import selected
from opsgraph.schema.types.base import Node, check_range
from opsgraph.schema.types.common import (
    BillingModel,
    DataQualityIssue,
    EngagementStatus,
    Info,
    InvoiceStatus,
    Money,
    TimeEntryStatus,
    money,
)
from opsgraph.schema.types.deprecated import DEPRECATED_LINKS, SourceLinks
from opsgraph.schema.types.invoice import Invoice, InvoiceLine
from opsgraph.schema.types.refs import SourceRef, ref, refs
from opsgraph.schema.types.resource import Resource, TimeOffRequest

if TYPE_CHECKING:
    from opsgraph.schema.types.views import Burn, InvoiceReadiness

Lazy = "opsgraph.schema.types.views"
__all__ = [
    "Assignment",
    "Client",
    "Engagement",
    "Invoice",
    "InvoiceLine",
    "Node",
    "Opportunity",
    "Resource",
    "TimeEntry",
    "TimeOffRequest",
    "check_range",
]


@strawberry.type
class Client(Node):
    name: str
    industry: str | None
    region: str | None
    billing_country: str | None
    legal_entity: str | None
    currency: str
    key: Private[str]
    record: Private[model.Client]

    @classmethod
    def of(cls, c: model.Client) -> Client:
        key = c.key
        return cls(
            id=strawberry.ID(to_global_id("Client", key)),
            name=c.name,
            industry=c.industry,
            region=c.region,
            billing_country=c.billing_country,
            legal_entity=c.legal_entity,
            currency=c.currency,
            key=key,
            record=c,
        )

    @strawberry.field
    async def opportunities(self, info: Info, is_closed: bool | None = None) -> list[Opportunity] | None:
        opps = await info.context.loaders.opportunities_by_client.load(self.key)
        return [Opportunity.of(o) for o in opps if is_closed is None or o.is_closed == is_closed]

    @strawberry.field
    async def engagements(
        self,
        info: Info,
        status: EngagementStatus | None = None,  # type: ignore[valid-type]
    ) -> list[Engagement] | None:
        opps = await info.context.loaders.opportunities_by_client.load(self.key)
        by_code = await info.context.loaders.engagement_by_code(self.region)
        found = [by_code[o.engagement_code] for o in opps if o.engagement_code in by_code]
        return [
            Engagement.of(e)
            for e in sorted(found, key=lambda e: e.code)
            if status is None or _status(e) is status
        ]

    @strawberry.field
    async def invoices(
        self,
        info: Info,
        status: InvoiceStatus | None = None,  # type: ignore[valid-type]
    ) -> list[Invoice] | None:
        customer = await info.context.loaders.customer_by_client.load(self.key)
        if customer is None:
            return []
        invoices = await info.context.loaders.invoices_by_customer.load(customer.key)
        return [Invoice.of(i) for i in invoices if status is None or i.status is status]

    @strawberry.field(description="Open receivables in the ERP.")
    async def ar_balance(self, info: Info) -> Money | None:
        customer = await info.context.loaders.customer_by_client.load(self.key)
        if customer is None:
            return None
        invoices = await info.context.loaders.invoices_by_customer.load(customer.key)
        return Money.of(model.Money.total((i.amount_due for i in invoices), customer.currency))

    async def _links(self, info: Info) -> list[SourceRef]:
        customer = await info.context.loaders.customer_by_client.load(self.key)
        return refs(info.context.sources, [self.record, customer])

    @strawberry.field(description="The record's id in each configured system it lives in.")
    async def links(self, info: Info) -> list[SourceRef] | None:
        return await self._links(info)

    @strawberry.field(deprecation_reason=DEPRECATED_LINKS)
    async def source_links(self, info: Info) -> SourceLinks | None:
        return SourceLinks.of(await self._links(info))

    @strawberry.field
    async def data_quality(self, info: Info) -> list[DataQualityIssue] | None:
        customer = await info.context.loaders.customer_by_client.load(self.key)
        issues = stitching.client_issues(info.context.sources, self.record, customer)
        return [DataQualityIssue.of(i) for i in issues]


@strawberry.type
class Opportunity(Node):
    name: str
    stage: str
    amount: Money | None
    close_date: date | None
    probability: float
    is_closed: bool
    is_won: bool
    billing_model: BillingModel | None  # type: ignore[valid-type]
    practice: str | None
    engagement_code: str | None
    record: Private[model.Opportunity]

    @classmethod
    def of(cls, o: model.Opportunity) -> Opportunity:
        return cls(
            id=strawberry.ID(to_global_id("Opportunity", o.key)),
            name=o.name,
            stage=o.stage,
            amount=Money.maybe(o.amount),
            close_date=o.close_date,
            probability=o.probability,
            is_closed=o.is_closed,
            is_won=o.is_won,
            billing_model=o.billing_model,
            practice=o.practice,
            engagement_code=o.engagement_code,
            record=o,
        )

    @strawberry.field
    async def client(self, info: Info) -> Client | None:
        client = await info.context.loaders.client.load(record_key(self.record.system, self.record.client_id))
        return Client.of(client) if client else None

    @strawberry.field
    async def engagement(self, info: Info) -> Engagement | None:
        engagement = await owners.engagement_of_opportunity(info.context.loaders, self.record)
        return Engagement.of(engagement) if engagement else None


def _status(e: model.Engagement) -> model.EngagementStatus:
    return model.EngagementStatus.ACTIVE if e.is_active else model.EngagementStatus.COMPLETED


def _engagement_now(info: Info, key: str) -> Engagement | Awaitable[Engagement | None] | None:
    """`_engagement_by_key` without a coroutine once the request indexed the engagement's system."""
    engagement = info.context.loaders.engagement_now(key)
    if engagement is NOT_READY:
        return _engagement_by_key(info, key)
    return Engagement.of(engagement) if engagement else None


async def _engagement_by_key(info: Info, key: str) -> Engagement | None:
    engagement = await info.context.loaders.engagement(key)
    return Engagement.of(engagement) if engagement else None


@strawberry.type
class Assignment:
    id: strawberry.ID
    hourly_rate: Decimal | None
    budget_hours: float | None
    is_active: bool
    record: Private[model.Assignment]

    @classmethod
    def of(cls, a: model.Assignment) -> Assignment:
        return cls(
            id=strawberry.ID(a.key),
            hourly_rate=a.hourly_rate,
            budget_hours=a.budget_hours,
            is_active=a.is_active,
            record=a,
        )

    @strawberry.field(graphql_type=Resource | None)  # a value, or an awaitable when not indexed yet
    def resource(self, info: Info) -> Resource | Awaitable[Resource | None] | None:
        return Resource.for_psa_user_now(info, info.context.loaders.user_key(self.record))

    @strawberry.field(graphql_type=Optional["Engagement"])
    def engagement(self, info: Info) -> Engagement | Awaitable[Engagement | None] | None:
        return _engagement_now(info, info.context.loaders.engagement_key(self.record))


@strawberry.type
class Engagement(Node):
    code: str
    name: str
    status: EngagementStatus  # type: ignore[valid-type]
    billing_model: BillingModel  # type: ignore[valid-type]
    start_date: date | None
    end_date: date | None
    budget_hours: float | None
    record: Private[model.Engagement]

    @classmethod
    def of(cls, e: model.Engagement) -> Engagement:
        return cls(
            id=strawberry.ID(to_global_id("Engagement", e.code)),
            code=e.code,
            name=e.name,
            status=_status(e),
            billing_model=e.billing_model,
            start_date=e.start_date,
            end_date=e.end_date,
            budget_hours=e.budget_hours,
            record=e,
        )

    @strawberry.field
    async def client(self, info: Info) -> Client | None:
        client = await info.context.loaders.engagement_client(self.record)
        return Client.of(client) if client else None

    @strawberry.field
    async def opportunity(self, info: Info) -> Opportunity | None:
        opp = await info.context.loaders.opportunity_by_code.load(self.code)
        return Opportunity.of(opp) if opp else None

    @strawberry.field(description="Contract value from the ERP job.")
    async def contract_value(self, info: Info) -> Money | None:
        job = await info.context.loaders.job_by_code.load(self.code)
        return Money.maybe(job.contract_value) if job else None

    @strawberry.field
    async def practice(self, info: Info) -> str | None:
        job = await info.context.loaders.job_by_code.load(self.code)
        return job.practice if job else None

    @strawberry.field
    async def assignments(self, info: Info) -> list[Assignment] | None:
        loaders = info.context.loaders
        found = await loaders.engagement_assignments(self.record.key)
        wanted = selected(info.selected_fields, "assignments")
        await loaders.index_joins(found, users="resource" in wanted, engagements="engagement" in wanted)
        return [Assignment.of(a) for a in found]

    @strawberry.field
    async def time_entries(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        status: TimeEntryStatus | None = None,  # type: ignore[valid-type]
    ) -> list[TimeEntry] | None:
        check_range(from_, to)
        entries = await info.context.loaders.time_entries.load((self.record.key, from_, to, None))
        return [TimeEntry.of(e) for e in entries if status is None or e.status is status]

    @strawberry.field
    async def invoices(self, info: Info) -> list[Invoice] | None:
        job = await info.context.loaders.job_by_code.load(self.code)
        if job is None:
            return []
        return [Invoice.of(i) for i in await info.context.loaders.invoices_by_job.load(job.key)]

    @strawberry.field
    async def burn(self, info: Info) -> Annotated[Burn, strawberry.lazy(Lazy)] | None:
        from opsgraph.schema.types.views import Burn

        return Burn.of(await info.context.views.burn(self.record))

    @strawberry.field
    async def invoice_readiness(
        self, info: Info
    ) -> Annotated[InvoiceReadiness, strawberry.lazy(Lazy)] | None:
        from opsgraph.schema.types.views import InvoiceReadiness

        return InvoiceReadiness.of(await info.context.views.readiness(self.record), self.record)

    async def _links(self, info: Info) -> list[SourceRef]:
        job = await info.context.loaders.job_by_code.load(self.code)
        opp = await info.context.loaders.opportunity_by_code.load(self.code)
        return refs(info.context.sources, [self.record, job, opp])

    @strawberry.field(description="The record's id in each configured system it lives in.")
    async def links(self, info: Info) -> list[SourceRef] | None:
        return await self._links(info)

    @strawberry.field(deprecation_reason=DEPRECATED_LINKS)
    async def source_links(self, info: Info) -> SourceLinks | None:
        return SourceLinks.of(await self._links(info))

    @strawberry.field
    async def data_quality(self, info: Info) -> list[DataQualityIssue] | None:
        job = await info.context.loaders.job_by_code.load(self.code)
        opp = await info.context.loaders.opportunity_by_code.load(self.code)
        issues = stitching.engagement_issues(info.context.sources, self.record, job, opp)
        return [DataQualityIssue.of(i) for i in issues]


@strawberry.type
class TimeEntry(Node):
    date: date
    hours: float
    billable: bool
    status: TimeEntryStatus  # type: ignore[valid-type]
    notes: str | None
    task: str | None
    bill_rate: Money | None
    cost_rate: Money | None
    amount: Money | None
    entry: Private[model.TimeEntry]

    @classmethod
    def of(cls, e: model.TimeEntry) -> TimeEntry:
        amount = e.bill_rate * Decimal(str(e.hours)) if e.bill_rate is not None and e.billable else None
        return cls(
            id=strawberry.ID(to_global_id("TimeEntry", e.key)),
            date=e.date,
            hours=e.hours,
            billable=e.billable,
            status=e.status,
            notes=e.notes,
            task=e.task,
            bill_rate=money(e.bill_rate, e.currency),
            cost_rate=money(e.cost_rate, e.currency),
            amount=money(amount, e.currency),
            entry=e,
        )

    @strawberry.field(graphql_type=Resource | None)  # a value, or an awaitable when not indexed yet
    def resource(self, info: Info) -> Resource | Awaitable[Resource | None] | None:
        return Resource.for_psa_user_now(info, info.context.loaders.user_key(self.entry))

    @strawberry.field(description="The record's id in each configured system it lives in.")
    def links(self, info: Info) -> list[SourceRef]:
        return [ref(info.context.sources, self.entry.system, self.entry.id)]

    @strawberry.field(graphql_type=Optional["Engagement"])
    def engagement(self, info: Info) -> Engagement | Awaitable[Engagement | None] | None:
        return _engagement_now(info, info.context.loaders.engagement_key(self.entry))

    @strawberry.field
    async def invoice(self, info: Info) -> Invoice | None:
        if self.entry.invoice_id is None:
            return None
        inv = (await info.context.loaders.invoice_by_psa_invoice()).get(self.entry.invoice_id)
        return Invoice.of(inv) if inv else None

    @strawberry.field(description="Whether the ERP holds a time posting for this entry.")
    async def posted_to_erp(self, info: Info) -> bool | None:
        return await info.context.loaders.posted.load((self.entry.key, month_start(self.entry.date)))

    @strawberry.field(
        description="Problems found across systems: TIME_BEFORE_HIRE (dated before HR's hire date)."
    )
    async def data_quality(self, info: Info) -> list[DataQualityIssue] | None:
        return [DataQualityIssue.of(i) for i in await info.context.views.entry_issues(self.entry)]
