"""The root Subscription: `invoiceReadinessChanged` and `workflowChanged` (ARCHITECTURE section 4), read
from the event bus.

Arguments are checked when the subscription starts (a bad id is `BAD_USER_INPUT` before any event);
the filters are applied per subscriber as events arrive. A caller with row scopes receives only the
events of engagements they may see, each decided afresh (a subscription outlives any request's loaders).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from decimal import Decimal

import strawberry

from opsgraph.events.bus import Feed
from opsgraph.events.readiness_event import ReadinessChanged
from opsgraph.events.workflow_event import WorkflowChanged
from opsgraph.resolvers.loaders import Loaders
from opsgraph.schema.errors import BadUserInput
from opsgraph.schema.mutation import engine_of
from opsgraph.schema.pagination import check_first
from opsgraph.schema.relay import from_global_id
from opsgraph.schema.types.common import Info, Money
from opsgraph.schema.types.views import InvoiceReadiness
from opsgraph.schema.types.workflow import Workflow, WorkflowStatus
from opsgraph.workflows import WorkflowEngine


@strawberry.type(description="Invoice readiness of one engagement changed: `ready` or the amount moved.")
class InvoiceReadinessEvent:
    readiness: InvoiceReadiness
    was_ready: bool | None = strawberry.field(description="Before the change (null: not known before)")
    previous_amount: Money | None
    cause: str = strawberry.field(description="TIME_APPROVED, INVOICE_PAID, PERIOD_CLOSED, ...")
    at: datetime

    @classmethod
    def of(cls, event: ReadinessChanged) -> InvoiceReadinessEvent:
        return cls(
            readiness=InvoiceReadiness.of(event.readiness, event.engagement),
            was_ready=event.was_ready,
            previous_amount=Money.maybe(event.previous_amount),
            cause=event.cause,
            at=event.at,
        )


def _matches(event: ReadinessChanged, codes: set[str] | None, min_amount: Decimal | None) -> bool:
    if codes is not None and event.code not in codes:
        return False
    return min_amount is None or event.readiness.amount.amount >= min_amount


Visible = Callable[[ReadinessChanged], Awaitable[bool]]


def _row_check(info: Info) -> Visible | None:
    """Whether the caller may see an event's engagement (None: a caller without row scopes sees all)."""
    context = info.context
    rows = context.loaders.rows
    if rows is None:
        return None

    async def visible(event: ReadinessChanged) -> bool:
        loaders = Loaders(context.sources, context.loaders.reads.cache, context.scope, rows.scope)
        assert loaders.rows is not None
        return bool(await loaders.rows.engagements([event.engagement]))

    return visible


async def _stream(
    feed: Feed, codes: set[str] | None, min_amount: Decimal | None, visible: Visible | None
) -> AsyncGenerator[InvoiceReadinessEvent, None]:
    try:
        async for event in feed:
            if not isinstance(event, ReadinessChanged) or not _matches(event, codes, min_amount):
                continue
            if visible is None or await visible(event):
                yield InvoiceReadinessEvent.of(event)
    finally:
        await feed.aclose()


async def _workflows(
    feed: Feed, engine: WorkflowEngine, statuses: set[str] | None
) -> AsyncGenerator[Workflow, None]:
    try:
        async for event in feed:
            if not isinstance(event, WorkflowChanged):
                continue
            if statuses is not None and event.status not in statuses:
                continue
            record = await engine.get(event.workflow_id)
            if record is not None:
                yield Workflow.of(record)
    finally:
        await feed.aclose()


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Each change of an engagement's invoice readiness (`ready` or the amount), as the "
        "gateway detects it in the sources; only the given engagements, only at least `minAmount`."
    )
    async def invoice_readiness_changed(
        self, info: Info, engagement_ids: list[strawberry.ID] | None = None, min_amount: Decimal | None = None
    ) -> AsyncGenerator[InvoiceReadinessEvent, None]:
        codes: set[str] | None = None
        if engagement_ids is not None:
            check_first(len(engagement_ids))
            codes = {from_global_id(i, "Engagement")[1] for i in engagement_ids}
        if info.context.bus is None:
            raise BadUserInput("Subscriptions are not available: the gateway's events are not running")
        return _stream(info.context.bus.subscribe(), codes, min_amount, _row_check(info))

    @strawberry.subscription(
        description="Each change of a workflow's status, on any replica; `status: [PARKED]` is the live "
        "exception queue. The workflow as it is when the event arrives."
    )
    async def workflow_changed(
        self,
        info: Info,
        status: list[WorkflowStatus] | None = None,  # type: ignore[valid-type]
    ) -> AsyncGenerator[Workflow, None]:
        statuses = {str(s) for s in status} if status else None
        if info.context.bus is None:
            raise BadUserInput("Subscriptions are not available: the gateway's events are not running")
        return _workflows(info.context.bus.subscribe(), engine_of(info), statuses)
