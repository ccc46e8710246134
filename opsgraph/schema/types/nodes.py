"""The node types of the graph. Leaf fields are plain attributes; only cross-record fields resolve.

Fields that reach into another source are nullable on purpose: when that source
fails, only those fields become null (with an error), and the rest of the record
still arrives.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from opsgraph import model
from opsgraph.model import Role
from opsgraph.resolvers import stitching
from opsgraph.resolvers.views.periods import month_start
from opsgraph.schema.relay import to_global_id
from opsgraph.schema.types.base import Node, check_range
from opsgraph.schema.types.common import (
    DEPRECATED_LINKS,
    BillingModel,
    DataQualityIssue,
    EngagementStatus,
    Info,
    InvoiceStatus,
    Money,
    SourceLinks,
    TimeEntryStatus,
    money,
)
from opsgraph.schema.types.invoice import Invoice, InvoiceLine
from opsgraph.schema.types.refs import SourceRef, refs
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
        return cls(
            id=strawberry.ID(to_global_id("Client", c.id)),
            name=c.name,
            industry=c.industry,
            region=c.region,
            billing_country=c.billing_country,
            legal_entity=c.legal_entity,
            currency=c.currency,
            key=c.id,
            record=c,
        )

    @strawberry.field
    async def opportunities(self, info: Info, is_closed: bool | None = None) -> list[Opportunity] | None:
        opps = await info.context.loaders.opportunities_by_account.load(self.key)
        return [Opportunity.of(o) for o in opps if is_closed is None or o.is_closed == is_closed]

    @strawberry.field
    async def engagements(
        self,
        info: Info,
        status: EngagementStatus | None = None,  # type: ignore[valid-type]
    ) -> list[Engagement] | None:
        opps = await info.context.loaders.opportunities_by_account.load(self.key)
        by_code = await info.context.loaders.project_by_code()
        projects = [by_code[o.engagement_code] for o in opps if o.engagement_code in by_code]
        return [
            Engagement.of(p)
            for p in sorted(projects, key=lambda p: p.code)
            if status is None or _status(p) is status
        ]

    @strawberry.field
    async def invoices(
        self,
        info: Info,
        status: InvoiceStatus | None = None,  # type: ignore[valid-type]
    ) -> list[Invoice] | None:
        customer = await info.context.loaders.customer_by_account.load(self.key)
        if customer is None:
            return []
        invoices = await info.context.loaders.invoices_by_customer.load(customer.id)
        return [Invoice.of(i) for i in invoices if status is None or i.status is status]

    @strawberry.field(description="Open receivables in the ERP.")
    async def ar_balance(self, info: Info) -> Money | None:
        customer = await info.context.loaders.customer_by_account.load(self.key)
        if customer is None:
            return None
        invoices = await info.context.loaders.invoices_by_customer.load(customer.id)
        return Money.of(model.Money.total((i.amount_due for i in invoices), customer.currency))

    @strawberry.field(description="The record's id in each configured system it lives in.")
    async def links(self, info: Info) -> list[SourceRef] | None:
        customer = await info.context.loaders.customer_by_account.load(self.key)
        ids = [(Role.CRM, self.key), (Role.ERP, customer.id if customer else None)]
        return refs(info.context.sources, ids)

    @strawberry.field(deprecation_reason=DEPRECATED_LINKS)
    async def source_links(self, info: Info) -> SourceLinks | None:
        customer = await info.context.loaders.customer_by_account.load(self.key)
        return SourceLinks(salesforce_id=self.key, netsuite_id=customer.id if customer else None)

    @strawberry.field
    async def data_quality(self, info: Info) -> list[DataQualityIssue] | None:
        customer = await info.context.loaders.customer_by_account.load(self.key)
        return [DataQualityIssue.of(i) for i in stitching.client_issues(self.record, customer)]


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
            id=strawberry.ID(to_global_id("Opportunity", o.id)),
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
        account = await info.context.loaders.account.load(self.record.client_id)
        return Client.of(account) if account else None

    @strawberry.field
    async def engagement(self, info: Info) -> Engagement | None:
        if self.engagement_code is None:
            return None
        project = (await info.context.loaders.project_by_code()).get(self.engagement_code)
        return Engagement.of(project) if project else None


def _status(p: model.Engagement) -> model.EngagementStatus:
    return model.EngagementStatus.ACTIVE if p.is_active else model.EngagementStatus.COMPLETED


async def _engagement_of_project(info: Info, harvest_project_id: int) -> Engagement | None:
    project = (await info.context.loaders.project_by_id()).get(harvest_project_id)
    return Engagement.of(project) if project else None


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
            id=strawberry.ID(str(a.id)),
            hourly_rate=a.hourly_rate,
            budget_hours=a.budget_hours,
            is_active=a.is_active,
            record=a,
        )

    @strawberry.field
    async def resource(self, info: Info) -> Resource | None:
        return await Resource.for_psa_user(info, self.record.harvest_user_id)

    @strawberry.field
    async def engagement(self, info: Info) -> Engagement | None:
        return await _engagement_of_project(info, self.record.harvest_project_id)


@strawberry.type
class Engagement(Node):
    code: str
    name: str
    status: EngagementStatus  # type: ignore[valid-type]
    billing_model: BillingModel  # type: ignore[valid-type]
    start_date: date | None
    end_date: date | None
    budget_hours: float | None
    project: Private[model.Engagement]

    @classmethod
    def of(cls, p: model.Engagement) -> Engagement:
        return cls(
            id=strawberry.ID(to_global_id("Engagement", p.code)),
            code=p.code,
            name=p.name,
            status=_status(p),
            billing_model=p.billing_model,
            start_date=p.start_date,
            end_date=p.end_date,
            budget_hours=p.budget_hours,
            project=p,
        )

    @strawberry.field
    async def client(self, info: Info) -> Client | None:
        opp = await info.context.loaders.opportunity_by_code.load(self.code)
        account = await info.context.loaders.account.load(opp.client_id) if opp else None
        return Client.of(account) if account else None

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
        by_project = await info.context.loaders.assignments_by_project()
        return [Assignment.of(a) for a in by_project.get(self.project.harvest_project_id, [])]

    @strawberry.field
    async def time_entries(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        status: TimeEntryStatus | None = None,  # type: ignore[valid-type]
    ) -> list[TimeEntry] | None:
        check_range(from_, to)
        entries = await info.context.loaders.time_entries.load(
            (self.project.harvest_project_id, from_, to, None)
        )
        return [TimeEntry.of(e) for e in entries if status is None or e.status is status]

    @strawberry.field
    async def invoices(self, info: Info) -> list[Invoice] | None:
        job = await info.context.loaders.job_by_code.load(self.code)
        return [Invoice.of(i) for i in await info.context.loaders.invoices_by_job.load(job.id)] if job else []

    @strawberry.field
    async def burn(self, info: Info) -> Annotated[Burn, strawberry.lazy(Lazy)] | None:
        from opsgraph.schema.types.views import Burn

        return Burn.of(await info.context.views.burn(self.project))

    @strawberry.field
    async def invoice_readiness(
        self, info: Info
    ) -> Annotated[InvoiceReadiness, strawberry.lazy(Lazy)] | None:
        from opsgraph.schema.types.views import InvoiceReadiness

        return InvoiceReadiness.of(await info.context.views.readiness(self.project), self.project)

    @strawberry.field(description="The record's id in each configured system it lives in.")
    async def links(self, info: Info) -> list[SourceRef] | None:
        job = await info.context.loaders.job_by_code.load(self.code)
        opp = await info.context.loaders.opportunity_by_code.load(self.code)
        ids = [
            (Role.PSA, self.project.harvest_project_id),
            (Role.ERP, job.id if job else None),
            (Role.CRM, opp.id if opp else None),
        ]
        return refs(info.context.sources, ids)

    @strawberry.field(deprecation_reason=DEPRECATED_LINKS)
    async def source_links(self, info: Info) -> SourceLinks | None:
        job = await info.context.loaders.job_by_code.load(self.code)
        opp = await info.context.loaders.opportunity_by_code.load(self.code)
        return SourceLinks(
            harvest_id=str(self.project.harvest_project_id),
            netsuite_id=job.id if job else None,
            salesforce_id=opp.id if opp else None,
        )

    @strawberry.field
    async def data_quality(self, info: Info) -> list[DataQualityIssue] | None:
        job = await info.context.loaders.job_by_code.load(self.code)
        opp = await info.context.loaders.opportunity_by_code.load(self.code)
        return [DataQualityIssue.of(i) for i in stitching.engagement_issues(self.project, job, opp)]


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
            id=strawberry.ID(to_global_id("TimeEntry", e.id)),
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

    @strawberry.field
    async def resource(self, info: Info) -> Resource | None:
        return await Resource.for_psa_user(info, self.entry.harvest_user_id)

    @strawberry.field(description="The record's id in each configured system it lives in.")
    def links(self, info: Info) -> list[SourceRef]:
        return refs(info.context.sources, [(Role.PSA, self.entry.id)])

    @strawberry.field
    async def engagement(self, info: Info) -> Engagement | None:
        return await _engagement_of_project(info, self.entry.harvest_project_id)

    @strawberry.field
    async def invoice(self, info: Info) -> Invoice | None:
        if self.entry.harvest_invoice_id is None:
            return None
        inv = (await info.context.loaders.invoice_by_harvest_id()).get(self.entry.harvest_invoice_id)
        return Invoice.of(inv) if inv else None

    @strawberry.field(description="Whether the ERP holds a time bill for this entry.")
    async def posted_to_erp(self, info: Info) -> bool | None:
        return await info.context.loaders.posted.load((self.entry.id, month_start(self.entry.date)))

    @strawberry.field(
        description="Problems found across systems: TIME_BEFORE_HIRE (dated before HR's hire date)."
    )
    async def data_quality(self, info: Info) -> list[DataQualityIssue] | None:
        return [DataQualityIssue.of(i) for i in await info.context.views.entry_issues(self.entry)]
