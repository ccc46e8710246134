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
from opsgraph.resolvers import stitching
from opsgraph.resolvers.views.periods import month_start
from opsgraph.schema.errors import BadUserInput
from opsgraph.schema.relay import to_global_id
from opsgraph.schema.types.common import (
    BillingModel,
    DataQualityIssue,
    EngagementStatus,
    Info,
    InvoiceStatus,
    Money,
    ResourceStatus,
    SourceLinks,
    TimeEntryStatus,
    money,
)

if TYPE_CHECKING:
    from opsgraph.schema.types.views import Burn, InvoiceReadiness, UtilizationRow

Lazy = "opsgraph.schema.types.views"


def check_range(start: date, end: date, max_days: int = 731) -> None:
    if end < start:
        raise BadUserInput(f"`to` ({end}) is before `from` ({start})", argument="to")
    if (end - start).days + 1 > max_days:
        raise BadUserInput(f"date range longer than {max_days} days (both ends count)", argument="to")


@strawberry.interface(description="An object with a global id; `node(id:)` resolves any of them.")
class Node:
    id: strawberry.ID


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
    async def opportunities(self, info: Info, is_closed: bool | None = None) -> list[Opportunity]:
        opps = await info.context.loaders.opportunities_by_account.load(self.key)
        return [Opportunity.of(o) for o in opps if is_closed is None or o.is_closed == is_closed]

    @strawberry.field
    async def engagements(self, info: Info, status: EngagementStatus | None = None) -> list[Engagement]:  # type: ignore[valid-type]
        opps = await info.context.loaders.opportunities_by_account.load(self.key)
        by_code = await info.context.loaders.project_by_code()
        projects = [by_code[o.engagement_code] for o in opps if o.engagement_code in by_code]
        return [
            Engagement.of(p)
            for p in sorted(projects, key=lambda p: p.code)
            if status is None or _status(p) is status
        ]

    @strawberry.field
    async def invoices(self, info: Info, status: InvoiceStatus | None = None) -> list[Invoice]:  # type: ignore[valid-type]
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

    @strawberry.field
    async def links(self, info: Info) -> SourceLinks:
        customer = await info.context.loaders.customer_by_account.load(self.key)
        return SourceLinks(salesforce_id=self.key, netsuite_id=customer.id if customer else None)

    @strawberry.field
    async def data_quality(self, info: Info) -> list[DataQualityIssue]:
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
    async def assignments(self, info: Info) -> list[Assignment]:
        by_project = await info.context.loaders.assignments_by_project()
        return [Assignment.of(a) for a in by_project.get(self.project.harvest_project_id, [])]

    @strawberry.field
    async def time_entries(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        status: TimeEntryStatus | None = None,  # type: ignore[valid-type]
    ) -> list[TimeEntry]:
        check_range(from_, to)
        entries = await info.context.loaders.time_entries.load(
            (self.project.harvest_project_id, from_, to, None)
        )
        return [TimeEntry.of(e) for e in entries if status is None or e.status is status]

    @strawberry.field
    async def invoices(self, info: Info) -> list[Invoice]:
        job = await info.context.loaders.job_by_code.load(self.code)
        return [Invoice.of(i) for i in await info.context.loaders.invoices_by_job.load(job.id)] if job else []

    @strawberry.field
    async def burn(self, info: Info) -> Annotated[Burn, strawberry.lazy(Lazy)]:
        from opsgraph.schema.types.views import Burn

        return Burn.of(await info.context.views.burn(self.project))

    @strawberry.field
    async def invoice_readiness(self, info: Info) -> Annotated[InvoiceReadiness, strawberry.lazy(Lazy)]:
        from opsgraph.schema.types.views import InvoiceReadiness

        return InvoiceReadiness.of(await info.context.views.readiness(self.project), self.project)

    @strawberry.field
    async def links(self, info: Info) -> SourceLinks:
        job = await info.context.loaders.job_by_code.load(self.code)
        opp = await info.context.loaders.opportunity_by_code.load(self.code)
        return SourceLinks(
            harvest_id=str(self.project.harvest_project_id),
            netsuite_id=job.id if job else None,
            salesforce_id=opp.id if opp else None,
        )

    @strawberry.field
    async def data_quality(self, info: Info) -> list[DataQualityIssue]:
        job = await info.context.loaders.job_by_code.load(self.code)
        opp = await info.context.loaders.opportunity_by_code.load(self.code)
        return [DataQualityIssue.of(i) for i in stitching.engagement_issues(self.project, job, opp)]


@strawberry.type
class Resource(Node):
    name: str
    email: str
    title: str | None
    department: str | None
    location: str | None
    status: ResourceStatus  # type: ignore[valid-type]
    weekly_capacity_hours: float | None
    cost_rate: Money | None
    default_bill_rate: Money | None
    hr: Private[model.Resource | None]
    psa: Private[model.PsaUser | None]

    @classmethod
    def of(cls, hr: model.Resource | None, psa: model.PsaUser | None) -> Resource:
        if hr is None and psa is None:
            raise ValueError("a resource needs an HR or a PSA record")
        key = hr.id if hr else f"psa-{psa.id}"  # type: ignore[union-attr]
        cost = hr.cost_rate if hr and hr.cost_rate else None
        return cls(
            id=strawberry.ID(to_global_id("Resource", key)),
            name=hr.name if hr else psa.name,  # type: ignore[union-attr]
            email=hr.email if hr else psa.email,  # type: ignore[union-attr]
            title=hr.title if hr else None,
            department=hr.department if hr else None,
            location=hr.location if hr else None,
            status=hr.status if hr else model.ResourceStatus.ACTIVE,
            weekly_capacity_hours=psa.weekly_capacity_hours if psa else None,
            cost_rate=Money.of(cost) if cost else money(psa.cost_rate if psa else None, "USD"),
            default_bill_rate=money(psa.default_hourly_rate if psa else None, "USD"),
            hr=hr,
            psa=psa,
        )

    @staticmethod
    async def for_psa_user(info: Info, user_id: int) -> Resource | None:
        user = (await info.context.loaders.psa_users()).get(user_id)
        if user is None:
            return None
        hr = (await info.context.loaders.resource_by_email()).get(user.email.lower())
        return Resource.of(hr, user)

    @staticmethod
    async def for_hr(info: Info, hr: model.Resource) -> Resource:
        """An HR employee joined to their Harvest user by email (ARCHITECTURE.md section 3)."""
        return Resource.of(hr, (await info.context.loaders.psa_user_by_email()).get(hr.email.lower()))

    @strawberry.field
    async def manager(self, info: Info) -> Resource | None:
        if self.hr is None or self.hr.manager_id is None:
            return None
        hr = await info.context.loaders.resource.load(self.hr.manager_id)
        return await Resource.for_hr(info, hr) if hr else None

    @strawberry.field
    async def time_off(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> list[TimeOffRequest]:
        check_range(from_, to)
        if self.hr is None:
            return []
        rows = await info.context.loaders.time_off(from_, to)
        return [TimeOffRequest.of(t) for t in rows if t.resource_id == self.hr.id]

    @strawberry.field
    async def assignments(self, info: Info) -> list[Assignment]:
        if self.psa is None:
            return []
        return [
            Assignment.of(a)
            for a in await info.context.loaders.assignments()
            if a.harvest_user_id == self.psa.id
        ]

    @strawberry.field
    async def time_entries(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> list[TimeEntry]:
        check_range(from_, to)
        if self.psa is None:
            return []
        entries = await info.context.loaders.entries_in_range(from_, to)
        return [TimeEntry.of(e) for e in entries if e.harvest_user_id == self.psa.id]

    @strawberry.field
    async def utilization(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> Annotated[UtilizationRow, strawberry.lazy(Lazy)] | None:
        from opsgraph.schema.types.views import UtilizationRow

        check_range(from_, to)
        if self.psa is None:
            return None
        rows = await info.context.views.utilization(from_, to, "RESOURCE", only_user=self.psa.id)
        return UtilizationRow.of(rows[0]) if rows else None

    @strawberry.field
    def links(self) -> SourceLinks:
        return SourceLinks(
            bamboohr_id=self.hr.id if self.hr else None, harvest_id=str(self.psa.id) if self.psa else None
        )

    @strawberry.field
    def data_quality(self) -> list[DataQualityIssue]:
        issues = stitching.resource_issues(self.psa, self.hr, self.email)
        return [DataQualityIssue.of(i) for i in issues]


@strawberry.type
class TimeOffRequest:
    start: date
    end: date
    days: float
    kind: str
    status: str

    @classmethod
    def of(cls, t: model.TimeOff) -> TimeOffRequest:
        return cls(start=t.start, end=t.end, days=t.amount_days, kind=t.kind, status=t.status)


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
    async def posted_to_erp(self, info: Info) -> bool:
        return await info.context.loaders.posted.load((self.entry.id, month_start(self.entry.date)))


@strawberry.type
class InvoiceLine:
    description: str
    quantity: float
    rate: Money
    amount: Money


@strawberry.type
class Invoice(Node):
    number: str
    status: InvoiceStatus  # type: ignore[valid-type]
    issue_date: date
    due_date: date
    total: Money
    amount_due: Money
    lines: list[InvoiceLine]
    record: Private[model.Invoice]

    @classmethod
    def of(cls, i: model.Invoice) -> Invoice:
        lines = [
            InvoiceLine(
                description=ln.description,
                quantity=ln.quantity,
                rate=Money.of(ln.rate),
                amount=Money.of(ln.amount),
            )
            for ln in i.lines
        ]
        return cls(
            id=strawberry.ID(to_global_id("Invoice", i.id)),
            number=i.number,
            status=i.status,
            issue_date=i.issue_date,
            due_date=i.due_date,
            total=Money.of(i.total),
            amount_due=Money.of(i.amount_due),
            lines=lines,
            record=i,
        )

    @strawberry.field(description="Days past the due date while money is still owed; 0 otherwise.")
    def days_overdue(self, info: Info) -> int:
        if self.record.amount_due.amount <= 0:
            return 0
        return max(0, (info.context.today - self.due_date).days)

    @strawberry.field
    async def client(self, info: Info) -> Client | None:
        customer = await info.context.loaders.customer.load(self.record.customer_id)
        if customer is None or customer.account_id is None:
            return None
        account = await info.context.loaders.account.load(customer.account_id)
        return Client.of(account) if account else None

    @strawberry.field
    async def engagement(self, info: Info) -> Engagement | None:
        if self.record.job_id is None:
            return None
        job = await info.context.loaders.job.load(self.record.job_id)
        project = (await info.context.loaders.project_by_code()).get(job.code) if job else None
        return Engagement.of(project) if project else None
