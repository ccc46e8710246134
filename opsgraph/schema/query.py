"""The root Query: entry points into the graph, filters and the derived views."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, TypeVar

import strawberry

from opsgraph import model
from opsgraph.connectors.errors import SourceError, public_message
from opsgraph.resolvers.loaders import user_key
from opsgraph.resolvers.partial import incomplete, settled
from opsgraph.resolvers.views.order import record_order
from opsgraph.schema.books import erp_books
from opsgraph.schema.node_lookup import MAX_NODE_IDS, resolve_node, resolve_nodes
from opsgraph.schema.pagination import Connection, check_first, connection
from opsgraph.schema.people import psa_user_keys
from opsgraph.schema.relay import from_global_id
from opsgraph.schema.selection import selected
from opsgraph.schema.types.common import BillingModel, EngagementStatus, Info, InvoiceStatus, TimeEntryStatus
from opsgraph.schema.types.nodes import (
    Client,
    Engagement,
    Invoice,
    Node,
    Opportunity,
    Resource,
    TimeEntry,
    check_range,
)
from opsgraph.schema.types.views import (
    CacheStats,
    CircuitState,
    Forecast,
    ForecastPeriod,
    InvoiceReadiness,
    ReconciliationReport,
    SourceStatus,
    UtilizationRow,
)
from opsgraph.schema.workflows import WorkflowQueries

From = Annotated[date, strawberry.argument(name="from")]
T = TypeVar("T")


@strawberry.enum
class Granularity(Enum):
    MONTH = 1
    QUARTER = 3


@strawberry.enum
class UtilizationGroup(Enum):
    RESOURCE = "RESOURCE"
    DEPARTMENT = "DEPARTMENT"
    LOCATION = "LOCATION"


@strawberry.input
class ClientFilter:
    name_contains: str | None = None
    region: str | None = None
    industry: str | None = None


@strawberry.input
class OpportunityFilter:
    is_closed: bool | None = None
    is_won: bool | None = None
    stage: str | None = None
    client_id: strawberry.ID | None = None


@strawberry.input
class EngagementFilter:
    status: EngagementStatus | None = None  # type: ignore[valid-type]
    billing_model: BillingModel | None = None  # type: ignore[valid-type]
    codes: list[str] | None = None
    region: str | None = strawberry.field(
        default=None,
        description="Engagements of clients in this region; only the PSA systems that own it are read",
    )


@strawberry.input
class ResourceFilter:
    department: str | None = None
    location: str | None = None
    name_contains: str | None = None


@strawberry.input
class TimeEntryFilter:
    from_: date = strawberry.field(name="from")
    to: date
    status: TimeEntryStatus | None = None  # type: ignore[valid-type]
    engagement_id: strawberry.ID | None = None
    resource_id: strawberry.ID | None = None
    region: str | None = strawberry.field(
        default=None,
        description="Time on engagements of clients in this region; only the PSA systems owning it are read",
    )


@strawberry.input
class InvoiceFilter:
    status: InvoiceStatus | None = None  # type: ignore[valid-type]
    overdue: bool | None = None
    client_id: strawberry.ID | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    legal_entity: str | None = strawberry.field(
        default=None,
        description="Invoices in the books of this legal entity of the firm (an ERP system's scope); "
        "only the ERP systems keeping them are read",
    )


def _same(node: T) -> T:
    return node


def _contains(value: str | None, needle: str | None) -> bool:
    return needle is None or (value is not None and needle.lower() in value.lower())


@strawberry.type(
    description="Root fields are nullable on purpose: when a system behind one fails, only that field "
    "is null (with an error naming the system) and the other root fields of the request still arrive."
)
class Query(WorkflowQueries):
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(
        description=f"Nodes by id, in order; an id that is bad or whose system fails nulls only its entry. "
        f"At most {MAX_NODE_IDS} ids per request, across every node and nodes field (TOO_MANY_IDS)."
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await resolve_nodes(info, ids)  # type: ignore[return-value]

    @strawberry.field
    async def clients(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ClientFilter | None = None,
    ) -> Connection[Client] | None:
        check_first(first)
        f = filter or ClientFilter()
        clients = await info.context.loaders.clients()

        def chosen() -> list[model.Client]:
            rows = [
                c
                for c in clients
                if _contains(c.name, f.name_contains)
                and f.region in (None, c.region)
                and f.industry in (None, c.industry)
            ]
            return sorted(rows, key=lambda c: c.name)

        slot = ("clients", f.name_contains, f.region, f.industry)
        return connection(info.context.loaders.derived(slot, [clients], chosen), first, after, Client.of)

    @strawberry.field
    async def opportunities(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: OpportunityFilter | None = None,
    ) -> Connection[Opportunity] | None:
        check_first(first)
        f = filter or OpportunityFilter()
        client = from_global_id(f.client_id, "Client")[1] if f.client_id else None
        if client is not None:
            opps = await info.context.loaders.opportunities_by_client.load(client)
            hidden = info.context.loaders.rows  # a client's own listing: the caller's row rules still apply
            opps = await hidden.opportunities(opps) if hidden else opps
        else:
            opps = await info.context.loaders.opportunities(f.is_closed)
        rows = [
            o
            for o in opps
            if f.is_closed in (None, o.is_closed)
            and f.is_won in (None, o.is_won)
            and f.stage in (None, o.stage)
        ]
        return connection(sorted(rows, key=record_order), first, after, Opportunity.of)

    @strawberry.field
    async def engagements(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: EngagementFilter | None = None,
    ) -> Connection[Engagement] | None:
        check_first(first)
        f = filter or EngagementFilter()
        rows = [Engagement.of(e) for e in await info.context.loaders.engagements(region=f.region)]
        rows = [
            e
            for e in rows
            if f.status in (None, e.status)
            and f.billing_model in (None, e.billing_model)
            and (f.codes is None or e.code in f.codes)
        ]
        return connection(sorted(rows, key=lambda e: e.code), first, after, _same)

    @strawberry.field
    async def resources(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ResourceFilter | None = None,
    ) -> Connection[Resource] | None:
        check_first(first)
        f = filter or ResourceFilter()
        directory, users = await asyncio.gather(
            info.context.loaders.resources(), settled(info.context.loaders.psa_user_by_email())
        )
        if isinstance(users, SourceError):
            # HR owns people: they arrive without their PSA fields. People only the PSA knows are missing.
            info.context.warnings.append(incomplete(users, "people known only to the PSA are missing"))
            people = [Resource.of(r, None, users) for r in directory]
        else:
            known = {r.email.lower() for r in directory}
            people = [Resource.of(r, users.get(r.email.lower())) for r in directory]
            people += [Resource.of(None, u) for email, u in users.items() if email not in known]
        rows = [
            r
            for r in people
            if f.department in (None, r.department)
            and f.location in (None, r.location)
            and _contains(r.name, f.name_contains)
        ]
        return connection(sorted(rows, key=lambda r: (r.name, r.email)), first, after, _same)

    @strawberry.field(description="Time entries in a date range (required, at most 366 days).")
    async def time_entries(
        self, info: Info, filter: TimeEntryFilter, first: int | None = None, after: str | None = None
    ) -> Connection[TimeEntry] | None:
        check_first(first)
        check_range(filter.from_, filter.to, max_days=366)
        loaders = info.context.loaders
        if filter.engagement_id:
            code = from_global_id(filter.engagement_id, "Engagement")[1]
            engagement = (await loaders.engagement_by_code(filter.region)).get(code)
            if engagement is not None and filter.region is not None:
                in_region = {e.key for e in await loaders.engagements(region=filter.region)}
                engagement = engagement if engagement.key in in_region else None
            entries = (
                []
                if engagement is None
                else await loaders.time_entries.load((engagement.key, filter.from_, filter.to, None))
            )
        else:
            entries = await loaders.time_entries_in_range(filter.from_, filter.to, region=filter.region)
        if filter.resource_id:
            from_global_id(filter.resource_id, "Resource")
            resource = await resolve_node(info, filter.resource_id, budget=False)
            psa = resource.psa if isinstance(resource, Resource) else None
            users = set(await psa_user_keys(loaders, psa.email)) if psa is not None else set()
            entries = [e for e in entries if user_key(e) in users]

        def chosen() -> list[model.TimeEntry]:
            rows = [e for e in entries if filter.status in (None, e.status)]
            return sorted(rows, key=lambda e: (e.date, *record_order(e)))

        if filter.resource_id:  # a filtered copy: nothing to keep
            page = connection(chosen(), first, after, TimeEntry.of)
        else:
            slot = ("time_entries", filter.status)
            page = connection(loaders.derived(slot, [entries], chosen), first, after, TimeEntry.of)
        wanted = selected(info.selected_fields, "timeEntries", "nodes") | selected(
            info.selected_fields, "timeEntries", "edges", "node"
        )
        await loaders.index_joins(
            (n.entry for n in page.nodes), users="resource" in wanted, engagements="engagement" in wanted
        )
        return page

    @strawberry.field
    async def invoices(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: InvoiceFilter | None = None,
    ) -> Connection[Invoice] | None:
        check_first(first)
        f = filter or InvoiceFilter()
        today = info.context.today
        if f.client_id:
            client = from_global_id(f.client_id, "Client")[1]
            customer = await info.context.loaders.customer_by_client.load(client)
            invoices = await info.context.loaders.invoices_by_customer.load(customer.key) if customer else []
            hidden = info.context.loaders.rows
            invoices = await hidden.invoices(invoices) if hidden else invoices
        else:
            open_only = f.status is model.InvoiceStatus.OPEN or f.overdue is True
            loaders = info.context.loaders
            books = None if f.legal_entity is None else erp_books(loaders.sources, f.legal_entity)
            invoices = await loaders.invoices(open_only=open_only, systems=books)

        def chosen() -> list[model.Invoice]:
            rows = [
                i
                for i in invoices
                if f.status in (None, i.status)
                and (f.overdue is None or f.overdue == (i.amount_due.amount > 0 and i.due_date < today))
                and (f.issued_from is None or i.issue_date >= f.issued_from)
                and (f.issued_to is None or i.issue_date <= f.issued_to)
            ]
            return sorted(rows, key=lambda i: (i.issue_date, i.number))

        slot = (
            "invoices",
            f.client_id,
            f.legal_entity,
            f.status,
            f.overdue,
            f.issued_from,
            f.issued_to,
            today,
        )
        return connection(info.context.loaders.derived(slot, [invoices], chosen), first, after, Invoice.of)

    @strawberry.field(description="Readiness to invoice, for the given engagements or every active one.")
    async def invoice_readiness(
        self, info: Info, engagement_ids: list[strawberry.ID] | None = None, min_amount: Decimal | None = None
    ) -> list[InvoiceReadiness | None] | None:
        """An engagement whose readiness a failing system keeps unknown is a null item with that
        system's error at its index (kept whatever `minAmount` says: its amount is unknown)."""
        by_code = await info.context.loaders.engagement_by_code()
        if engagement_ids is not None:
            check_first(len(engagement_ids))
            codes = [from_global_id(i, "Engagement")[1] for i in engagement_ids]
            engagements = [by_code[c] for c in codes if c in by_code]
        else:
            engagements = sorted((e for e in by_code.values() if e.is_active), key=lambda e: e.code)
        results = await asyncio.gather(*(settled(info.context.views.readiness(e)) for e in engagements))
        return [
            r if isinstance(r, SourceError) else InvoiceReadiness.of(r, e)  # type: ignore[misc]
            for r, e in zip(results, engagements, strict=True)
            if isinstance(r, SourceError) or min_amount is None or r.amount.amount >= min_amount
        ]

    @strawberry.field
    async def forecast(
        self, info: Info, from_: From, to: date, granularity: Granularity = Granularity.MONTH
    ) -> Forecast | None:
        check_range(from_, to, max_days=3 * 366)
        periods = await info.context.views.forecast(from_, to, granularity.value)
        return Forecast(from_=from_, to=to, periods=[ForecastPeriod.of(p) for p in periods])

    @strawberry.field
    async def utilization(
        self, info: Info, from_: From, to: date, group_by: UtilizationGroup = UtilizationGroup.RESOURCE
    ) -> list[UtilizationRow] | None:
        check_range(from_, to, max_days=366)
        return [UtilizationRow.of(r) for r in await info.context.views.utilization(from_, to, group_by.value)]

    @strawberry.field
    async def reconciliation(self, info: Info, from_: From, to: date) -> ReconciliationReport | None:
        check_range(from_, to, max_days=366)
        return ReconciliationReport.of(await info.context.views.reconciliation(from_, to))

    @strawberry.field(
        description="Each configured system: reachable now, circuit state, latency and last error."
    )
    async def sources(self, info: Info) -> list[SourceStatus]:
        sources = info.context.sources
        info.context.loaders.reads.uncached = True  # live state: never in the response cache
        cache = info.context.loaders.reads.cache
        metrics = cache.metrics() if cache else []

        async def status(name: str) -> SourceStatus:
            system = sources.system(name)
            client = system.client
            reachable = await sources.probe(name) is None
            h = client.health
            lat = sorted(h.latencies_ms)
            return SourceStatus(
                system=system.name,
                role=system.role,
                vendor=system.vendor,
                reachable=reachable,
                circuit_state=CircuitState(client.breaker.state.value),
                requests=h.requests,
                failures=h.failures,
                last_latency_ms=round(h.last_latency_ms, 2) if h.last_latency_ms is not None else None,
                p95_latency_ms=round(lat[int(len(lat) * 0.95) - 1 if len(lat) > 1 else 0], 2)
                if lat
                else None,
                last_error=public_message(h.last_error_code, name) if h.last_error_code else None,
                last_error_code=h.last_error_code,
                last_change_poll_at=datetime.fromtimestamp(h.last_change_poll_at, UTC)
                if h.last_change_poll_at is not None
                else None,
                cache=[
                    CacheStats(
                        entity=m.entity,
                        hits=m.hits,
                        misses=m.misses,
                        stale_serves=m.stale_serves,
                        evictions=m.evictions,
                        errors=m.errors,
                    )
                    for m in sorted(metrics, key=lambda m: m.entity)
                    if m.source == name
                ],
            )

        return list(await asyncio.gather(*(status(name) for name in sources.systems)))
