"""Invoices: the ERP's records, joined to the CRM client and the PSA engagement they bill."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from opsgraph import model
from opsgraph.model import Role
from opsgraph.schema.relay import to_global_id
from opsgraph.schema.types.base import Node
from opsgraph.schema.types.common import Info, InvoiceStatus, Money
from opsgraph.schema.types.refs import SourceRef, refs

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

    @strawberry.field(description="The record's id in each configured system it lives in.")
    def links(self, info: Info) -> list[SourceRef]:
        ids = [(Role.ERP, self.record.id), (Role.PSA, self.record.harvest_invoice_id)]
        return refs(info.context.sources, ids)

    @strawberry.field(description="Days past the due date while money is still owed; 0 otherwise.")
    def days_overdue(self, info: Info) -> int:
        if self.record.amount_due.amount <= 0:
            return 0
        return max(0, (info.context.today - self.due_date).days)

    @strawberry.field
    async def client(self, info: Info) -> Annotated[Client, strawberry.lazy(Nodes)] | None:
        from opsgraph.schema.types.nodes import Client

        customer = await info.context.loaders.customer.load(self.record.customer_id)
        if customer is None or customer.account_id is None:
            return None
        account = await info.context.loaders.account.load(customer.account_id)
        return Client.of(account) if account else None

    @strawberry.field
    async def engagement(self, info: Info) -> Annotated[Engagement, strawberry.lazy(Nodes)] | None:
        from opsgraph.schema.types.nodes import Engagement

        if self.record.job_id is None:
            return None
        job = await info.context.loaders.job.load(self.record.job_id)
        project = (await info.context.loaders.project_by_code()).get(job.code) if job else None
        return Engagement.of(project) if project else None
