"""Per-request batched loaders over the role ports: one DataLoader per (role, entity, key).

Every read the graph makes goes through here, so that a response level costs one upstream call per
system and entity (chunked to the vendor's limits by the connector), never one per record; and every
read goes through the shared cache (`ReadThrough`), per system (`fanout`). Keys are canonical keys
(`system:id`), except the join loaders', which take the join value (an engagement code). Small whole
collections (engagements, PSA users, assignments, the HR directory, ERP periods) are one listing per
system per request, indexed in memory.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from opsgraph import model
from opsgraph.cache import ReadCache
from opsgraph.connectors.errors import SourceError
from opsgraph.model import Role, record_key, split_key
from opsgraph.resolvers.fanout import NOT_READY, Fanout, Memo, by_system, grouped
from opsgraph.resolvers.listings import Listings
from opsgraph.resolvers.partial import settled
from opsgraph.resolvers.ports import crm, erp, hr, psa
from opsgraph.resolvers.reads import ReadThrough
from opsgraph.resolvers.rows import RowRules, RowScope
from opsgraph.resolvers.sources import Sources, System
from opsgraph.resolvers.views.periods import next_month
from opsgraph.roles.filters import TimeEntryFilter, TimeOffFilter

V = TypeVar("V")
R = TypeVar("R")

EntryKey = tuple[str, date, date, bool | None]
"""(engagement key, from, to, is_billed): the time entries of one engagement in a date range."""


def user_key(record: model.TimeEntry | model.Assignment) -> str:
    """The key of the PSA user of an entry or assignment (the user lives in the record's system)."""
    return record_key(record.system, record.user_id)


def engagement_key(record: model.TimeEntry | model.Assignment) -> str:
    """The key of the engagement of an entry or assignment (in the record's system)."""
    return record_key(record.system, record.engagement_id)


def group_by(records: Iterable[R], key: Callable[[R], str]) -> dict[str, list[R]]:
    out: dict[str, list[R]] = defaultdict(list)
    for r in records:
        out[key(r)].append(r)
    return dict(out)


def _day(entry: model.TimeEntry) -> date:
    return entry.date


def _local_id(key: str) -> str | None:
    try:
        return split_key(key)[1]
    except ValueError:
        return None


class Loaders(Listings):
    """All loaders for one request. Created in the request context, never shared between requests."""

    user_key = staticmethod(user_key)
    engagement_key = staticmethod(engagement_key)

    def __init__(
        self,
        sources: Sources,
        cache: ReadCache | None = None,
        scope: str = "default",
        rows: RowScope | None = None,
    ) -> None:
        self.sources = sources
        self.reads = ReadThrough(cache, scope)
        self.rows = RowRules(self, rows) if rows is not None else None
        self.memo = Memo()
        self.fan = f = Fanout(sources, self.reads, self.memo)
        self.client = f.by_key(Role.CRM, "client", lambda s: crm(s).clients_by_ids)
        self.opportunity = f.by_key(Role.CRM, "opportunity", lambda s: crm(s).opportunities_by_ids)
        self.opportunity_by_code = f.joined(
            Role.CRM,
            "opportunity_by_code",
            lambda s: crm(s).opportunities_by_engagement_codes,
            "opportunity",
        )
        self.opportunities_by_client = f.children(
            Role.CRM,
            "client_opportunities",
            lambda s: crm(s).opportunities_by_client_ids,
            "opportunity",
            then=self.prime_opportunities,
        )
        self.customer = f.by_key(Role.ERP, "customer", lambda s: erp(s).customers_by_ids)
        # the ERP customer's external id is the CRM client's local id: the key's id part is asked
        self.customer_by_client = f.joined(
            Role.ERP,
            "customer_by_client",
            lambda s: erp(s).customers_by_client_ids,
            "customer",
            local=_local_id,
        )
        self.job = f.by_key(Role.ERP, "job", lambda s: erp(s).jobs_by_ids)
        self.job_by_code = f.joined(Role.ERP, "job_by_code", lambda s: erp(s).jobs_by_codes, "job")
        self.invoices_by_customer = f.children(
            Role.ERP, "customer_invoices", lambda s: erp(s).invoices_by_customer_ids, "invoice"
        )
        self.invoices_by_job = f.children(
            Role.ERP, "job_invoices", lambda s: erp(s).invoices_by_job_ids, "invoice"
        )
        self.invoice = f.by_key(Role.ERP, "invoice", lambda s: erp(s).invoices_by_ids)
        self.resource = f.by_key(Role.HR, "resource", lambda s: hr(s).resources_by_ids)
        self.time_entry = f.by_key(Role.PSA, "time_entry", lambda s: psa(s).time_entries_by_ids)
        self.time_entries: DataLoader[EntryKey, list[model.TimeEntry]] = DataLoader(
            load_fn=self._time_entries
        )
        self.posted: DataLoader[tuple[str, date], bool] = DataLoader(load_fn=self._posted)

    def derived(self, slot: Hashable, sources: Sequence[object], build: Callable[[], V]) -> V:
        """`build()` once per version of the listings `sources` (`derived.py`); every time for a caller
        with row rules, whose filtered listings are new objects on every request."""
        if self.rows is not None:
            return build()
        return self.fan.derive(slot, sources, build)

    def prime_opportunities(self, opportunities: Iterable[model.Opportunity]) -> None:
        """What one read already returned need not be read again by key or by engagement code."""
        for o in opportunities:
            self.opportunity.prime(o.key, o)
            if o.engagement_code:
                self.opportunity_by_code.prime(o.engagement_code, o)

    # -- cross-system joins ----------------------------------------------------------------------

    async def engagement_client(self, engagement: model.Engagement) -> model.Client | None:
        """The engagement's CRM client: the opportunity carrying its code, and that one's client."""
        opportunity = await self.opportunity_by_code.load(engagement.code)
        if opportunity is None:
            return None
        return await self.client.load(record_key(opportunity.system, opportunity.client_id))

    async def client_of_customer(self, customer: model.ErpCustomer) -> model.Client | None:
        """The CRM client of an ERP customer, whose `client_id` is a CRM local id: asked of every CRM
        system, the first (in declared order) that has it wins."""
        if customer.client_id is None:
            return None
        keys = [record_key(s.name, customer.client_id) for s in self._of(Role.CRM)]
        if len(keys) == 1:
            return await self.client.load(keys[0])
        found = await asyncio.gather(*(self.client.load(k) for k in keys), return_exceptions=True)
        error: BaseException | None = None
        for got in found:
            if isinstance(got, BaseException):
                error = error or got
            elif got is not None:
                return got
        if error is not None:
            raise error
        return None

    async def _in_region(self, engagements: Iterable[model.Engagement], region: str) -> set[str]:
        """Keys of the engagements whose client (`engagement_client`) is in `region` (without case)."""
        chosen = list(engagements)
        clients = await asyncio.gather(*(self.engagement_client(e) for e in chosen))
        wanted = region.casefold()
        return {
            e.key
            for e, c in zip(chosen, clients, strict=True)
            if c is not None and c.region is not None and c.region.casefold() == wanted
        }

    # -- engagements -----------------------------------------------------------------------------

    async def _engagements_of(self, systems: Iterable[System]) -> list[model.Engagement]:
        return await self.fan.listings(
            systems, "engagement", "engagements", lambda s: psa(s).list_engagements
        )

    async def engagements(self, region: str | None = None) -> list[model.Engagement]:
        """Every engagement, or those of `region`: only the systems routed for it are read, and an
        unscoped system's engagements are kept when their client is in the region."""
        route = self.sources.route(Role.PSA, region)
        found = await self._engagements_of(route.systems)
        if self.rows is not None:
            found = await self.rows.engagements(found)
        if route.exact or region is None:
            return found
        inside = await self._in_region(found, region)
        return [e for e in found if e.key in inside]

    async def all_engagements(self) -> list[model.Engagement]:
        """Every engagement of every PSA system, whatever the caller's row rules."""
        return await self._engagements_of(self._of(Role.PSA))

    async def engagement_by_code(self, region: str | None = None) -> dict[str, model.Engagement]:
        """Engagements by code (within the caller's row rules). With `region` (a client's), only the
        systems routed for it are read: a PSA of another region is neither read nor able to fail the
        lookup."""
        systems = self.sources.route(Role.PSA, region).systems

        async def build() -> dict[str, model.Engagement]:
            found = await self._engagements_of(systems)
            if self.rows is not None:
                found = await self.rows.engagements(found)

            def index() -> dict[str, model.Engagement]:
                out: dict[str, model.Engagement] = {}
                for e in found:
                    out.setdefault(e.code, e)  # a code is unique; should two systems hold it, the first
                return out

            return self.derived(("engagement_by_code", *(s.name for s in systems)), [found], index)

        return await self.fan.index(f"engagement_by_code:{','.join(s.name for s in systems)}", build)

    async def engagement_by_key(self) -> dict[str, model.Engagement]:
        """Every PSA system's engagements by key (reads them all: for one record, `engagement`)."""

        async def build() -> dict[str, model.Engagement]:
            found = await self.engagements()
            return self.derived("engagement_by_key", [found], lambda: {e.key: e for e in found})

        return await self.fan.index("engagement_by_key", build)

    def _psa_system(self, key: str) -> tuple[System, str] | None:
        """The PSA system and local id of a key; None for a malformed key or another role's system."""
        local = _local_id(key)
        system = self.sources.systems.get(key.partition(":")[0])
        return (system, local) if system is not None and system.role is Role.PSA and local else None

    def engagement_now(self, key: str) -> model.Engagement | Any | None:
        """`engagement(key)` without awaiting when this request already indexed the engagement's
        system and the caller has no row rules; else `NOT_READY`."""
        found = self._psa_system(key)
        if found is None:
            return None
        if self.rows is not None:
            return NOT_READY
        system, local = found
        index = self.fan.index_ready(f"engagement_by_id:{system.name}")
        return index if index is NOT_READY else index.get(local)

    def psa_user_now(self, key: str) -> model.PsaUser | Any | None:
        """`psa_user(key)` without awaiting when this request already indexed the user's system;
        else `NOT_READY`."""
        found = self._psa_system(key)
        if found is None:
            return None
        system, local = found
        index = self.fan.index_ready(f"psa_user_by_id:{system.name}")
        return index if index is NOT_READY else index.get(local)

    async def index_joins(
        self, records: Iterable[model.TimeEntry | model.Assignment], *, users: bool, engagements: bool
    ) -> None:
        """Build the indexes that the rows' joins look up (one per system), so that every row answers
        its `resource` / `engagement` without a coroutine (`engagement_now`, `psa_user_now`). A read
        that fails is left to the field that needs it to report."""
        firsts: dict[str, model.TimeEntry | model.Assignment] = {}
        for r in records:
            firsts.setdefault(r.system, r)
        reads: list[Awaitable[object]] = [self.resource_by_email()] if users and firsts else []
        for r in firsts.values():
            if users:
                reads.append(self.psa_user(user_key(r)))
            if engagements:
                reads.append(self.engagement(engagement_key(r)))
        await asyncio.gather(*reads, return_exceptions=True)

    async def engagement(self, key: str) -> model.Engagement | None:
        """One engagement by key: only its own system's listing is read (once per request), so a
        record of one system never makes the others be read."""
        found = self._psa_system(key)
        if found is None:
            return None
        system, local = found

        async def build() -> dict[str, model.Engagement]:
            found = await self._engagements_of([system])
            return self.fan.derive(
                ("engagement_by_id", system.name), [found], lambda: {e.id: e for e in found}
            )

        engagement = (await self.fan.index(f"engagement_by_id:{system.name}", build)).get(local)
        if engagement is not None and self.rows is not None and not await self.rows.engagements([engagement]):
            return None
        return engagement

    async def assignments(self) -> list[model.Assignment]:
        return await self.fan.listings(
            self._of(Role.PSA), "assignment", "assignments", lambda s: psa(s).list_assignments
        )

    async def engagement_assignments(self, key: str) -> list[model.Assignment]:
        """An engagement's assignments: only its own system's listing is read, grouped once per request
        by engagement key once per version of the listing (`derived.py`), so every engagement in a list
        looks its own up and a PSA of another region is neither read nor able to fail the field."""
        found = self._psa_system(key)
        if found is None:
            return []
        system, _ = found
        listing = await self.fan.listings(
            [system], "assignment", "assignments", lambda s: psa(s).list_assignments
        )
        by_engagement = self.fan.derive(
            ("assignments_by_engagement", system.name), [listing], lambda: group_by(listing, engagement_key)
        )
        return by_engagement.get(key, [])

    # -- people ----------------------------------------------------------------------------------

    async def psa_users(self) -> list[model.PsaUser]:
        return await self.fan.listings(self._of(Role.PSA), "psa_user", "users", lambda s: psa(s).list_users)

    async def psa_user_by_key(self) -> dict[str, model.PsaUser]:
        """Every PSA system's users by key (reads them all: for one user, `psa_user`)."""

        async def build() -> dict[str, model.PsaUser]:
            users = await self.psa_users()
            return self.fan.derive(("psa_user_by_key",), [users], lambda: {u.key: u for u in users})

        return await self.fan.index("psa_user_by_key", build)

    async def psa_user(self, key: str) -> model.PsaUser | None:
        """One PSA user by key: only its own system's user listing is read (once per request)."""
        found = self._psa_system(key)
        if found is None:
            return None
        system, local = found

        async def build() -> dict[str, model.PsaUser]:
            users = await self.fan.listings([system], "psa_user", "users", lambda s: psa(s).list_users)
            return self.fan.derive(("psa_user_by_id", system.name), [users], lambda: {u.id: u for u in users})

        return (await self.fan.index(f"psa_user_by_id:{system.name}", build)).get(local)

    async def psa_user_by_email(self) -> dict[str, model.PsaUser]:
        async def build() -> dict[str, model.PsaUser]:
            users = await self.psa_users()
            return self.fan.derive(
                ("psa_user_by_email",), [users], lambda: {u.email.lower(): u for u in users}
            )

        return await self.fan.index("psa_user_by_email", build)

    async def resources(self) -> list[model.Resource]:
        """The HR directory of every HR system."""
        return await self.fan.listings(
            self._of(Role.HR), "resource", "resources", lambda s: hr(s).list_resources
        )

    async def resource_by_email(self) -> dict[str, model.Resource]:
        async def build() -> dict[str, model.Resource]:
            found = await self.resources()
            return self.fan.derive(
                ("resource_by_email",), [found], lambda: {r.email.lower(): r for r in found}
            )

        return await self.fan.index("resource_by_email", build)

    async def time_off(self, start: date, end: date) -> list[model.TimeOff]:
        window = TimeOffFilter(start=start, end=end)
        return await self.fan.listings(
            self._of(Role.HR),
            "time_off",
            "time_off",
            lambda s: lambda: hr(s).list_time_off(window),
            {"from": start, "to": end},
        )

    # -- time ------------------------------------------------------------------------------------

    async def _entries(
        self, system: System, start: date, end: date, is_billed: bool | None, engagement_id: str
    ) -> list[model.TimeEntry]:
        """One engagement's entries of one system in a range, listed once per request (and cached)."""
        window = TimeEntryFilter(start=start, end=end, is_billed=is_billed, engagement_id=engagement_id)
        params = {"from": start, "to": end, "is_billed": is_billed, "engagement_id": engagement_id}
        return await self.fan.listing(
            system, "time_entry", "time_entries", lambda: psa(system).list_time_entries(window), params
        )

    async def _entries_in_range(
        self, system: System, start: date, end: date, is_billed: bool | None
    ) -> list[model.TimeEntry]:
        """One system's entries in a range, from its month buckets (`ReadCache.get_or_fetch_months`:
        overlapping ranges share months), newest first as the PSAs list them. Assembled once per
        request, and kept while the same months stand (`derived.py`)."""
        slot = ("time_range", system.name, start, end, is_billed)

        def fetch(first: date, last: date) -> Awaitable[list[model.TimeEntry]]:
            return psa(system).list_time_entries(TimeEntryFilter(start=first, end=last, is_billed=is_billed))

        async def read() -> list[model.TimeEntry]:
            months = await self.reads.months(
                system.name,
                "time_entry",
                "time_entry_months",
                {"is_billed": is_billed},
                (start, end),
                fetch,
                _day,
            )
            return self.fan.derive(
                slot, months, lambda: [e for m in reversed(months) for e in m if start <= e.date <= end]
            )

        return await self.memo.get(slot, read)

    async def time_entries_in_range(
        self, start: date, end: date, is_billed: bool | None = None, region: str | None = None
    ) -> list[model.TimeEntry]:
        """Entries in a range of every PSA system, or of those routed for `region` (an unscoped
        system's entries kept when their engagement's client is in the region); shared by every
        engagement and person of the request."""
        route = self.sources.route(Role.PSA, region)
        entries = await self.fan.concat(
            ("time_ranges", tuple(s.name for s in route.systems), start, end, is_billed),
            [self._entries_in_range(s, start, end, is_billed) for s in route.systems],
        )
        if self.rows is not None:
            entries = await self.rows.entries(entries)
        if route.exact or region is None:
            return entries
        engagements = {e.key: e for e in await self._engagements_of(route.systems)}
        wanted = {engagement_key(e) for e in entries}
        inside = await self._in_region((engagements[k] for k in wanted if k in engagements), region)
        return [e for e in entries if engagement_key(e) in inside]

    async def _time_entries(self, keys: list[EntryKey]) -> list[list[model.TimeEntry] | BaseException]:
        """Keys sharing a date range come from one listing per system; a system asked for a lone
        engagement lists with the engagement filter."""
        by_range: dict[tuple[date, date, bool | None], list[str]] = defaultdict(list)
        for key, start, end, billed in keys:
            by_range[(start, end, billed)].append(key)
        found: dict[EntryKey, list[model.TimeEntry] | BaseException] = {}

        async def fetch(start: date, end: date, billed: bool | None, system: System, ids: list[str]) -> None:
            wanted = set(ids)
            lone = ids[0] if len(wanted) == 1 else None
            entries = await settled(
                self._entries(system, start, end, billed, lone)
                if lone is not None
                else self._entries_in_range(system, start, end, billed)
            )
            if isinstance(entries, SourceError):
                for local in wanted:
                    found[(record_key(system.name, local), start, end, billed)] = entries
                return
            slot = ("entries_by_engagement", system.name, start, end, billed, lone)
            by_engagement = self.fan.derive(
                slot, [entries], lambda: group_by(entries, lambda e: e.engagement_id)
            )
            for local in wanted:
                if local in by_engagement:
                    found[(record_key(system.name, local), start, end, billed)] = by_engagement[local]

        await asyncio.gather(
            *(
                fetch(start, end, billed, system, ids)
                for (start, end, billed), engagement_keys in by_range.items()
                for system, ids in by_system(engagement_keys, self._of(Role.PSA)).values()
            )
        )
        return grouped(keys, found)

    async def engagement_hours(
        self, system: str, start: date, end: date
    ) -> Mapping[str, model.EngagementTimeTotals]:
        """One PSA system's time report over `start..end`, by the engagement's LOCAL id."""
        named = self.sources.system(system)

        async def fetch() -> dict[str, model.EngagementTimeTotals]:
            return dict(await psa(named).hours_by_engagement(start, end))

        return await self.fan.listing(
            named, "time_entry", "engagement_time_totals", fetch, {"from": start, "to": end}
        )

    async def unbilled_time(self, start: date, end: date) -> list[tuple[str, model.UnbilledTime]]:
        """Approved, billable, uninvoiced time over `start..end` by engagement key, from every PSA
        system's uninvoiced report (one listing each, not its entries)."""

        def fetch_of(s: System) -> Callable[[], Awaitable[list[tuple[str, model.UnbilledTime]]]]:
            async def fetch() -> list[tuple[str, model.UnbilledTime]]:
                found = await psa(s).unbilled_by_engagement(start, end)
                return [(record_key(s.name, local), u) for local, u in found.items()]

            return fetch

        rows = await self.fan.listings(
            self._of(Role.PSA), "time_entry", "unbilled_time", fetch_of, {"from": start, "to": end}
        )
        return await self.rows.unbilled(rows) if self.rows is not None else rows

    async def _posted(self, keys: list[tuple[str, date]]) -> list[bool | BaseException]:
        """Whether each (entry key, month) has an ERP time posting: one listing per month in the batch.
        A posting's `time_entry_id` is the PSA entry's local id."""
        months = sorted({m for _, m in keys})
        postings = await asyncio.gather(
            *(self.time_postings(m, next_month(m) - timedelta(days=1)) for m in months)
        )
        posted = {p.time_entry_id for batch in postings for p in batch if p.time_entry_id is not None}
        return [_local_id(key) in posted for key, _ in keys]
