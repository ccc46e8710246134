"""What changes do: drop the cache tags of what changed, then recompute invoice readiness for the
engagements they touch and publish `invoiceReadinessChanged` where `ready` or the amount moved.

Which engagements a change touches, by entity: a time entry its engagement; an engagement itself; an
invoice or job the engagement whose code the job carries; an opportunity the engagement carrying its
code (each looked up in the PSA owning the client's region, `resolvers.owners`); a client or customer
(legal entity, currency) every active engagement; a closed or reopened accounting period every active
engagement. Assignments, people and time postings touch none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opsgraph.cache import ReadCache
from opsgraph.clock import Clock
from opsgraph.connectors.errors import SourceError
from opsgraph.context import new_correlation_id
from opsgraph.events.bus import EventBus
from opsgraph.events.poller import Changed
from opsgraph.events.readiness_event import Cause, ReadinessChanged
from opsgraph.model import (
    AccountingPeriod,
    Engagement,
    InvoiceStatus,
    Money,
    Role,
    TimeEntryStatus,
    record_key,
)
from opsgraph.resolvers import owners
from opsgraph.resolvers.context import RequestContext
from opsgraph.resolvers.partial import settled
from opsgraph.resolvers.sources import Sources
from opsgraph.resolvers.views.readiness import Readiness
from opsgraph.roles import Entity

logger = logging.getLogger("opsgraph.events")


@dataclass
class Touched:
    """The engagements a batch of changes touches (by code), each with the cause first seen; `every`:
    the cause that touches every active engagement, if one does."""

    causes: dict[str, str] = field(default_factory=dict)
    engagements: dict[str, Engagement] = field(default_factory=dict)
    every: str | None = None

    def add(self, engagement: Engagement | None, cause: str) -> None:
        if engagement is not None:
            self.causes.setdefault(engagement.code, cause)
            self.engagements.setdefault(engagement.code, engagement)

    def add_every(self, cause: str) -> None:
        self.every = self.every or cause


@dataclass(frozen=True)
class Snapshot:
    ready: bool
    amount: Money


class Effects:
    """Applies changes; keeps the last readiness it saw per engagement code, to tell real changes."""

    def __init__(
        self,
        sources: Sources,
        cache: ReadCache | None,
        clock: Clock,
        bus: EventBus,
        context_for: Callable[[], RequestContext] | None = None,
    ) -> None:
        self.sources = sources
        self.cache = cache
        self.clock = clock
        self.bus = bus
        self._context_for = context_for
        self.snapshots: dict[str, Snapshot] = {}
        self.baseline_taken = False
        self._closed: dict[str, dict[str, bool]] = {}  # ERP system -> period id -> closed
        self.published = 0

    def context(self) -> RequestContext:
        """A fresh request context (its own loaders: nothing memoised from an earlier read)."""
        if self._context_for is not None:
            return self._context_for()
        return RequestContext.create(
            self.sources, correlation_id=new_correlation_id(), clock=self.clock, cache=self.cache
        )

    # -- the baseline ------------------------------------------------------------------------------

    async def take_baseline(self) -> None:
        """Readiness of every active engagement as it is now: what later changes are compared with."""
        ctx = self.context()
        engagements = [e for e in (await ctx.loaders.engagement_by_code()).values() if e.is_active]
        results = await asyncio.gather(*(settled(ctx.views.readiness(e)) for e in engagements))
        for e, r in zip(engagements, results, strict=True):
            if isinstance(r, Readiness):
                self.snapshots[e.code] = Snapshot(r.ready, r.amount)
        for system in self.sources.of_role(Role.ERP):
            self._closed[system.name] = _closed_of(await ctx.loaders.periods(), system.name)
        self.baseline_taken = True

    # -- invalidation ------------------------------------------------------------------------------

    async def invalidate(self, system: str, entity: str, ids: Iterable[str]) -> None:
        if self.cache is None:
            return
        for record_id in dict.fromkeys(ids):
            await self.cache.invalidate(system, entity, record_id)

    # -- one batch ---------------------------------------------------------------------------------

    async def apply(self, found: Sequence[Changed]) -> list[ReadinessChanged]:
        """Invalidate, find what the changes touch, recompute readiness there and publish."""
        for batch in found:
            await self.invalidate(batch.system, batch.entity, (c.id for c in batch.changes))
        touched = Touched()
        ctx = self.context()
        for batch in found:
            if batch.changes:
                await self._touch(ctx, batch, touched)
        return await self.publish_changes(touched)

    async def check_periods(self, system: str) -> list[ReadinessChanged]:
        """Accounting periods carry no change stamp: each poll of an ERP re-reads them and compares
        which are closed; a change touches every active engagement."""
        await self.invalidate(system, "period", ["*"])
        ctx = self.context()
        now = _closed_of(await ctx.loaders.periods(), system)
        before = self._closed.get(system)
        self._closed[system] = now
        touched = Touched()
        if before is not None:
            for period_id, closed in now.items():
                if before.get(period_id, closed) != closed:
                    touched.add_every(Cause.PERIOD_CLOSED if closed else Cause.PERIOD_OPENED)
        return await self.publish_changes(touched) if touched.every else []

    async def _touch(self, ctx: RequestContext, batch: Changed, touched: Touched) -> None:
        system, ids = batch.system, [c.id for c in batch.changes]
        keys = [record_key(system, i) for i in ids]
        loaders = ctx.loaders
        if batch.entity is Entity.TIME_ENTRY:
            for entry in await loaders.time_entry.load_many(keys):
                if entry is None:  # deleted: its engagement is unknown now
                    touched.add_every(Cause.TIME_CHANGED)
                    continue
                engagement = await loaders.engagement(record_key(system, entry.engagement_id))
                touched.add(engagement, _time_cause(entry.status is TimeEntryStatus.APPROVED))
        elif batch.entity is Entity.ENGAGEMENT:
            for key in keys:
                touched.add(await loaders.engagement(key), Cause.ENGAGEMENT_CHANGED)
        elif batch.entity is Entity.INVOICE:
            for invoice in await loaders.invoice.load_many(keys):
                if invoice is None or invoice.job_id is None:
                    continue
                await self.invalidate(system, "job_invoices", [invoice.job_id])
                await self.invalidate(system, "customer_invoices", [invoice.customer_id])
                job = await loaders.job.load(record_key(system, invoice.job_id))
                paid = invoice.status is InvoiceStatus.PAID
                engagement = await owners.engagement_of_job(loaders, job) if job else None
                touched.add(engagement, Cause.INVOICE_PAID if paid else Cause.INVOICE_CHANGED)
        elif batch.entity is Entity.JOB:
            for job in await loaders.job.load_many(keys):
                touched.add(await owners.engagement_of_job(loaders, job) if job else None, Cause.JOB_CHANGED)
        elif batch.entity is Entity.OPPORTUNITY:
            for opportunity in await loaders.opportunity.load_many(keys):
                engagement = (
                    await owners.engagement_of_opportunity(loaders, opportunity) if opportunity else None
                )
                touched.add(engagement, Cause.CLIENT_CHANGED)
        elif batch.entity in (Entity.CLIENT, Entity.CUSTOMER):
            touched.add_every(Cause.CLIENT_CHANGED)

    # -- readiness ---------------------------------------------------------------------------------

    async def publish_changes(self, touched: Touched) -> list[ReadinessChanged]:
        """Recompute readiness for the touched engagements; publish where `ready` or the amount changed.
        Only a change touching every engagement lists every PSA's engagements: the others were looked
        up in the system owning them."""
        ctx = self.context()
        causes, by_code = dict(touched.causes), dict(touched.engagements)
        if touched.every is not None:
            for code, e in (await ctx.loaders.engagement_by_code()).items():
                if e.is_active:
                    causes.setdefault(code, touched.every)
                    by_code.setdefault(code, e)
        chosen = [(by_code[c], cause) for c, cause in sorted(causes.items())]
        results = await asyncio.gather(*(settled(ctx.views.readiness(e)) for e, _ in chosen))
        events: list[ReadinessChanged] = []
        for (engagement, cause), r in zip(chosen, results, strict=True):
            if isinstance(r, SourceError):
                logger.warning("readiness of %s unknown after a change: %s", engagement.code, r.code)
                continue
            before = self.snapshots.get(engagement.code)
            self.snapshots[engagement.code] = Snapshot(r.ready, r.amount)
            if before is not None and before.ready == r.ready and before.amount == r.amount:
                continue
            events.append(
                ReadinessChanged(
                    engagement=engagement,
                    readiness=r,
                    was_ready=before.ready if before else None,
                    previous_amount=before.amount if before else None,
                    cause=cause,
                    at=datetime.fromtimestamp(self.clock.time(), UTC),
                )
            )
        for event in events:
            await self.bus.publish(event)
        self.published += len(events)
        return events


def _time_cause(approved: bool) -> str:
    return Cause.TIME_APPROVED if approved else Cause.TIME_CHANGED


def _closed_of(periods: list[AccountingPeriod], system: str) -> dict[str, bool]:
    return {p.id: p.closed for p in periods if p.system == system}
