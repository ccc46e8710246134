"""Per-request batched loaders: one strawberry DataLoader per (source, entity, key).

Every read the graph makes goes through here, so that a response level costs one
upstream call per source and entity (chunked to the vendor's limits), never one per
record; and every read goes through the shared cache (`ReadThrough`). Whole-collection
reads that a vendor only offers as listings (Harvest projects, users, assignments; the
HR directory; ERP periods) are memoised for the request by `Memo`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

from strawberry.dataloader import DataLoader

from opsgraph import model
from opsgraph.cache import ReadCache, tag
from opsgraph.model import SourceName
from opsgraph.resolvers.reads import ReadThrough
from opsgraph.resolvers.sources import Sources
from opsgraph.resolvers.views.periods import next_month

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

SF, HV, HR, NS = (
    s.value for s in (SourceName.SALESFORCE, SourceName.HARVEST, SourceName.BAMBOOHR, SourceName.NETSUITE)
)

EntryKey = tuple[int, date, date, bool | None]
"""(Harvest project id, from, to, is_billed): the time entries of one engagement in a date range."""


class Memo:
    """Request-scoped memoisation of whole-collection reads; concurrent callers share one call."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[Any]] = {}

    async def get(self, key: Hashable, factory: Callable[[], Awaitable[T]]) -> T:
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(factory())
            self._tasks[key] = task
        result: T = await task
        return result


def _ordered(
    keys: Sequence[K], found: Mapping[K, V | BaseException | None]
) -> list[V | BaseException | None]:
    """Values in key order; an error stands in for the one key it belongs to (the DataLoader raises it)."""
    return [found.get(k) for k in keys]


def _grouped(
    keys: Sequence[K], found: Mapping[K, list[V] | BaseException | None]
) -> list[list[V] | BaseException]:
    return [v if isinstance(v := found.get(k), BaseException) else v or [] for k in keys]


class _Record(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_Record)


def _own_tag(source: str, entity: str, record: _Record | None) -> list[str]:
    return [tag(source, entity, record.id)] if record is not None else []


def _children_tags(source: str, entity: str, records: list[_Record] | None) -> list[str]:
    return [tag(source, entity, r.id) for r in records or []]


class Loaders:
    """All loaders for one request. Created in the request context, never shared between requests."""

    def __init__(self, sources: Sources, cache: ReadCache | None = None, scope: str = "default") -> None:
        self.sources = sources
        self.reads = ReadThrough(cache, scope)
        self.memo = Memo()
        sf, ns, hr = sources.salesforce, sources.netsuite, sources.bamboohr
        self.account = self._one_each(SF, "account", sf.accounts_by_ids)
        self.opportunity = self._one_each(SF, "opportunity", sf.opportunities_by_ids)
        self.opportunity_by_code = self._one_each(
            SF, "opportunity_by_code", sf.opportunities_by_engagement_codes, tagged_as="opportunity"
        )
        self.opportunities_by_account = self._children(
            SF,
            "account_opportunities",
            sf.opportunities_by_account_ids,
            "opportunity",
            then=self.prime_opportunities,
        )
        self.customer = self._one_each(NS, "customer", ns.customers_by_ids)
        self.customer_by_account = self._one_each(
            NS, "customer_by_account", ns.customers_by_account_ids, tagged_as="customer"
        )
        self.job = self._one_each(NS, "job", ns.jobs_by_ids)
        self.job_by_code = self._one_each(NS, "job_by_code", ns.jobs_by_codes, tagged_as="job")
        self.invoices_by_customer = self._children(
            NS, "customer_invoices", ns.invoices_by_customer_ids, "invoice"
        )
        self.invoices_by_job = self._children(NS, "job_invoices", ns.invoices_by_job_ids, "invoice")
        self.resource = self._one_each(HR, "employee", hr.employees_by_ids)
        self.time_entries = DataLoader(load_fn=self._time_entries)
        self.time_entry = DataLoader(load_fn=self._time_entries_by_id)
        self.invoice = self._one_each(NS, "invoice", ns.invoices_by_ids)
        self.posted = DataLoader(load_fn=self._posted)

    def _one_each(
        self,
        source: str,
        entity: str,
        fetch: Callable[[list[str]], Awaitable[Mapping[str, R | None]]],
        *,
        tagged_as: str | None = None,
    ) -> DataLoader[str, R | None]:
        """One record per key, through the cache. Keyed by a join key (a code, an external id), the
        cached value is also tagged with the record's own id as `tagged_as`, so invalidating it drops this."""
        tags_for = None if tagged_as is None else partial(_own_tag, source, tagged_as)

        async def load(keys: list[str]) -> list[R | BaseException | None]:
            return _ordered(keys, await self.reads.many(source, entity, keys, fetch, tags_for))

        return DataLoader(load_fn=load)

    def _children(
        self,
        source: str,
        entity: str,
        fetch: Callable[[list[str]], Awaitable[Mapping[str, list[R]]]],
        child: str,
        *,
        then: Callable[[Iterable[R]], None] | None = None,
    ) -> DataLoader[str, list[R]]:
        """The children of each parent key, batched across every parent of a response level and tagged
        with each child's id as `child`; `then` sees every child read (to prime other loaders)."""

        async def load(keys: list[str]) -> list[list[R] | BaseException]:
            found = await self.reads.many(source, entity, keys, fetch, partial(_children_tags, source, child))
            if then is not None:
                then(r for rows in found.values() if isinstance(rows, list) for r in rows)
            return _grouped(keys, found)

        return DataLoader(load_fn=load)

    def prime_opportunities(self, opportunities: Iterable[model.Opportunity]) -> None:
        """What one read already returned need not be read again by id or by engagement code."""
        for o in opportunities:
            self.opportunity.prime(o.id, o)
            if o.engagement_code:
                self.opportunity_by_code.prime(o.engagement_code, o)

    # -- time entries: shared date-range listings -----------------------------------------------

    async def entries_in_range(
        self, start: date, end: date, is_billed: bool | None = None, project_id: int | None = None
    ) -> list[model.TimeEntry]:
        """Time entries in a range, listed once per request (and cached) and shared by every engagement."""
        params: dict[str, object] = {
            "from": start,
            "to": end,
            "is_billed": is_billed,
            "project_id": project_id,
        }
        return await self.memo.get(
            ("entries", start, end, is_billed, project_id),
            lambda: self.reads.one(
                HV,
                "time_entry",
                "time_entries",
                params,
                lambda: self.sources.harvest.time_entries(
                    start=start, end=end, is_billed=is_billed, project_id=project_id
                ),
            ),
        )

    async def _time_entries(self, keys: list[EntryKey]) -> list[list[model.TimeEntry] | BaseException]:
        """Keys sharing a date range come from one listing; a lone key uses the project filter."""
        by_range: dict[tuple[date, date, bool | None], set[int]] = defaultdict(set)
        for project_id, start, end, billed in keys:
            by_range[(start, end, billed)].add(project_id)

        async def fetch(
            start: date, end: date, billed: bool | None, projects: set[int]
        ) -> dict[EntryKey, list[model.TimeEntry]]:
            lone = next(iter(projects)) if len(projects) == 1 else None
            entries = await self.entries_in_range(start, end, billed, lone)
            grouped: dict[EntryKey, list[model.TimeEntry]] = defaultdict(list)
            for e in entries:
                if e.harvest_project_id in projects:
                    grouped[(e.harvest_project_id, start, end, billed)].append(e)
            return grouped

        results = await asyncio.gather(*(fetch(s, e, b, p) for (s, e, b), p in by_range.items()))
        merged: dict[EntryKey, list[model.TimeEntry]] = {}
        for part in results:
            merged.update(part)
        return _grouped(keys, merged)

    async def _time_entries_by_id(self, ids: list[int]) -> list[model.TimeEntry | BaseException | None]:
        """Harvest has no batch read by id: one GET per entry, concurrently, through the cache."""
        harvest = self.sources.harvest

        async def fetch(keys: list[str]) -> dict[str, model.TimeEntry]:
            found = await asyncio.gather(*(harvest.time_entry(int(k)) for k in keys))
            return {k: e for k, e in zip(keys, found, strict=True) if e is not None}

        found = await self.reads.many(HV, "time_entry", [str(i) for i in ids], fetch)
        return [found.get(str(i)) for i in ids]

    async def _posted(self, keys: list[tuple[int, date]]) -> list[bool]:
        """Whether each (entry id, month) has an ERP time bill: one listing per month in the batch."""
        months = sorted({m for _, m in keys})
        bills = await asyncio.gather(*(self.timebills(m, next_month(m) - timedelta(days=1)) for m in months))
        posted = {b.harvest_entry_id for batch in bills for b in batch}
        return [entry_id in posted for entry_id, _ in keys]

    # -- whole collections, once per request -----------------------------------------------------

    async def _listing(
        self,
        source: str,
        entity: str,
        query: str,
        fetch: Callable[[], Awaitable[list[T]]],
        params: Mapping[str, object] | None = None,
    ) -> list[T]:
        key = (query, tuple(sorted((params or {}).items())))
        return await self.memo.get(key, lambda: self.reads.one(source, entity, query, params or {}, fetch))

    async def _index(
        self, name: str, listing: Callable[[], Awaitable[list[V]]], key: Callable[[V], K]
    ) -> dict[K, V]:
        """A listing indexed by a key, built once per request (resolvers look it up per record)."""

        async def build() -> dict[K, V]:
            return {key(item): item for item in await listing()}

        return await self.memo.get(("index", name), build)

    async def projects(self) -> list[model.Engagement]:
        return await self._listing(HV, "project", "projects", self.sources.harvest.list_projects)

    async def project_by_code(self) -> dict[str, model.Engagement]:
        return await self._index("project_by_code", self.projects, lambda p: p.code)

    async def project_by_id(self) -> dict[int, model.Engagement]:
        return await self._index("project_by_id", self.projects, lambda p: p.harvest_project_id)

    async def psa_user_list(self) -> list[model.PsaUser]:
        return await self._listing(HV, "user", "users", self.sources.harvest.list_users)

    async def psa_users(self) -> dict[int, model.PsaUser]:
        return await self._index("psa_users", self.psa_user_list, lambda u: u.id)

    async def psa_user_by_email(self) -> dict[str, model.PsaUser]:
        return await self._index("psa_user_by_email", self.psa_user_list, lambda u: u.email.lower())

    async def assignments(self) -> list[model.Assignment]:
        return await self._listing(
            HV, "assignment", "user_assignments", self.sources.harvest.list_user_assignments
        )

    async def assignments_by_project(self) -> dict[int, list[model.Assignment]]:
        """Grouped once per request: every engagement in a list looks its assignments up here."""

        async def build() -> dict[int, list[model.Assignment]]:
            grouped: dict[int, list[model.Assignment]] = defaultdict(list)
            for a in await self.assignments():
                grouped[a.harvest_project_id].append(a)
            return grouped

        return await self.memo.get(("index", "assignments_by_project"), build)

    async def directory(self) -> list[model.Resource]:
        return await self._listing(HR, "employee", "directory", self.sources.bamboohr.directory)

    async def resource_by_email(self) -> dict[str, model.Resource]:
        return await self._index("resource_by_email", self.directory, lambda r: r.email.lower())

    async def periods(self) -> list[model.AccountingPeriod]:
        return await self._listing(
            NS, "period", "accounting_periods", self.sources.netsuite.accounting_periods
        )

    async def exchange_rates(self, period_ids: Sequence[str]) -> list[model.ExchangeRate]:
        """The ERP's consolidated exchange rates of these accounting periods (one query)."""
        ids = sorted(set(period_ids))
        return await self._listing(
            NS,
            "exchange_rate",
            "exchange_rates",
            lambda: self.sources.netsuite.exchange_rates(ids),
            {"periods": ",".join(ids)},
        )

    async def accounts(self) -> list[model.Client]:
        accounts = await self._listing(SF, "account", "accounts", self.sources.salesforce.list_accounts)
        self.account.prime_many({a.id: a for a in accounts})
        return accounts

    async def open_opportunities(self) -> list[model.Opportunity]:
        return await self._listing(
            SF,
            "opportunity",
            "open_opportunities",
            lambda: self.sources.salesforce.list_opportunities(is_closed=False),
        )

    async def opportunities_list(self, is_closed: bool | None) -> list[model.Opportunity]:
        return await self._listing(
            SF,
            "opportunity",
            "opportunities",
            lambda: self.sources.salesforce.list_opportunities(is_closed=is_closed),
            {"is_closed": is_closed},
        )

    async def timebills(self, start: date, end: date) -> list[model.ErpTimeBill]:
        return await self._listing(
            NS,
            "timebill",
            "timebills",
            lambda: self.sources.netsuite.timebills(start, end),
            {"from": start, "to": end},
        )

    async def time_off(self, start: date, end: date) -> list[model.TimeOff]:
        return await self._listing(
            HR,
            "time_off",
            "time_off",
            lambda: self.sources.bamboohr.time_off(start, end),
            {"from": start, "to": end},
        )

    async def project_hours(self, start: date, end: date) -> dict[int, model.ProjectTimeTotals]:
        """Hours per project from Harvest's time report: one call per year of range, for all projects."""
        return await self.memo.get(
            ("project-hours", start, end),
            lambda: self.reads.one(
                HV,
                "time_entry",
                "project_time_totals",
                {"from": start, "to": end},
                lambda: self.sources.harvest.project_time_totals(start, end),
            ),
        )

    async def invoices(self, *, open_only: bool = False, with_lines: bool = True) -> list[model.Invoice]:
        """All invoices, or only those with money still due (filtered by NetSuite, not here);
        without lines when only totals are needed (a third of the calls at the large profile)."""
        return await self._listing(
            NS,
            "invoice",
            "invoices",
            lambda: self.sources.netsuite.list_invoices(open_only=open_only, with_lines=with_lines),
            {"open_only": open_only, "with_lines": with_lines},
        )

    async def invoice_by_harvest_id(self) -> dict[int, model.Invoice]:
        async def build() -> dict[int, model.Invoice]:
            invoices = await self.invoices()
            return {i.harvest_invoice_id: i for i in invoices if i.harvest_invoice_id is not None}

        return await self.memo.get(("index", "invoice_by_harvest_id"), build)
