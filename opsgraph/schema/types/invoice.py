"""Invoices: the ERP's records, joined to the CRM client and the PSA engagement they bill."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from opsgraph import model
from opsgraph.model import Role, record_key
from opsgraph.resolvers import owners
from opsgraph.schema.relay import to_global_id
from opsgraph.schema.types.base import Node
from opsgraph.schema.types.common import Info, InvoiceStatus, Money
from opsgraph.schema.types.refs import SourceRef, ref

if TYPE_CHECKING:
    from opsgraph.schema.types.nodes import Client, Engagement

Nodes = "opsgraph.schema.types.nodes"


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
            id=strawberry.ID(to_global_id("Invoice", i.key)),
            number=i.number,
            status=i.status,
            issue_date=i.issue_date,
            due_date=i.due_date,
            total=Money.of(i.total),
            amount_due=Money.of(i.amount_due),
            lines=lines,
            record=i,
        )

    @strawberry.field(description="The record's id in each configured system it lives in.")
    def links(self, info: Info) -> list[SourceRef]:
        """Sync when the firm has one PSA system (it raised the PSA invoice); with several, the PSA
        system is the one holding the invoice's engagement, so the answer is awaited (graphql-core
        awaits a resolver's awaitable result)."""
        sources = info.context.sources
        own = ref(sources, self.record.system, self.record.id)
        psa_id = self.record.psa_invoice_id
        if psa_id is None:
            return [own]
        psa = sources.of_role(Role.PSA)
        if len(psa) == 1:
            return [own, ref(sources, psa[0].name, psa_id)]
        return self._links_through_engagement(info, own, psa_id)  # type: ignore[return-value]

    def _links_through_engagement(
        self, info: Info, own: SourceRef, psa_id: str
    ) -> Awaitable[list[SourceRef]]:
        async def links() -> list[SourceRef]:
            engagement = await self._engagement(info)
            if engagement is None:
                return [own]
            return [own, ref(info.context.sources, engagement.system, psa_id)]

        return links()

    async def _engagement(self, info: Info) -> model.Engagement | None:
        if self.record.job_id is None:
            return None
        job = await info.context.loaders.job.load(record_key(self.record.system, self.record.job_id))
        return await owners.engagement_of_job(info.context.loaders, job) if job else None

    @strawberry.field(description="Days past the due date while money is still owed; 0 otherwise.")
    def days_overdue(self, info: Info) -> int:
        if self.record.amount_due.amount <= 0:
            return 0
        return max(0, (info.context.today - self.due_date).days)

    @strawberry.field
    async def client(self, info: Info) -> Annotated[Client, strawberry.lazy(Nodes)] | None:
        from opsgraph.schema.types.nodes import Client

        loaders = info.context.loaders
        customer = await loaders.customer.load(record_key(self.record.system, self.record.customer_id))
        client = await loaders.client_of_customer(customer) if customer else None
        return Client.of(client) if client else None

    @strawberry.field
    async def engagement(self, info: Info) -> Annotated[Engagement, strawberry.lazy(Nodes)] | None:
        from opsgraph.schema.types.nodes import Engagement

        engagement = await self._engagement(info)
        return Engagement.of(engagement) if engagement else None
