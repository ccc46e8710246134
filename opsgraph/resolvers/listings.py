"""Whole-collection reads of the CRM and the ERP: every system of the role, once per request (and
cached), concatenated in the order the settings declare the systems. `Loaders` extends this."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from strawberry.dataloader import DataLoader

from opsgraph import model
from opsgraph.model import Role
from opsgraph.resolvers.fanout import Fanout
from opsgraph.resolvers.ports import crm, erp
from opsgraph.resolvers.rows import RowRules
from opsgraph.resolvers.sources import Sources, System
from opsgraph.roles.filters import InvoiceFilter, OpportunityFilter


class Listings:
    sources: Sources
    fan: Fanout
    client: DataLoader[str, model.Client | None]
    rows: RowRules | None
    """The caller's row rules (None: sees every record); applied to what the cache returns."""

    def _of(self, role: Role) -> list[System]:
        return self.sources.of_role(role)

    async def clients(self) -> list[model.Client]:
        clients = await self.fan.listings(
            self._of(Role.CRM), "client", "clients", lambda s: crm(s).list_clients
        )
        self.client.prime_many({c.key: c for c in clients})
        return self.rows.clients(clients) if self.rows else clients

    async def opportunities(self, is_closed: bool | None = None) -> list[model.Opportunity]:
        which = OpportunityFilter(is_closed=is_closed)
        found = await self.fan.listings(
            self._of(Role.CRM),
            "opportunity",
            "opportunities",
            lambda s: lambda: crm(s).list_opportunities(which),
            {"is_closed": is_closed},
        )
        return await self.rows.opportunities(found) if self.rows else found

    async def periods(self) -> list[model.AccountingPeriod]:
        return await self.fan.listings(
            self._of(Role.ERP), "period", "accounting_periods", lambda s: erp(s).accounting_periods
        )

    async def exchange_rates(self, periods: Sequence[model.AccountingPeriod]) -> list[model.ExchangeRate]:
        """The consolidated exchange rates of these accounting periods: one query per ERP system."""
        ids: dict[str, set[str]] = defaultdict(set)
        for p in periods:
            ids[p.system].add(p.id)
        systems = [s for s in self._of(Role.ERP) if s.name in ids]

        def fetch_of(s: System) -> Callable[[], Awaitable[list[model.ExchangeRate]]]:
            return lambda: erp(s).exchange_rates(sorted(ids[s.name]))

        parts = await asyncio.gather(
            *(
                self.fan.listing(
                    s,
                    "exchange_rate",
                    "exchange_rates",
                    fetch_of(s),
                    {"periods": ",".join(sorted(ids[s.name]))},
                )
                for s in systems
            )
        )
        if len(parts) == 1:
            return parts[0]  # the cached listing itself: a forecast derived from it is kept
        return [rate for part in parts for rate in part]

    async def invoices(
        self, *, open_only: bool = False, with_lines: bool = True, systems: Sequence[System] | None = None
    ) -> list[model.Invoice]:
        """All invoices, or only those with money still due (filtered by the ERP, not here); without
        lines when only totals are needed (a third of the calls at the large profile). `systems`: only
        these ERP systems' (a legal entity's books, `erp_books`)."""
        which = InvoiceFilter(open_only=open_only)
        found = await self.fan.listings(
            self._of(Role.ERP) if systems is None else systems,
            "invoice",
            "invoices",
            lambda s: lambda: erp(s).list_invoices(which, with_lines=with_lines),
            {"open_only": open_only, "with_lines": with_lines},
        )
        return await self.rows.invoices(found) if self.rows else found

    async def invoice_totals(self, itemised_from: date | None = None) -> list[tuple[str, model.InvoiceTotal]]:
        """Invoiced value per customer, job and currency, per issue date from `itemised_from` on, summed
        by each ERP system (the port's `invoice_totals`), each with its system's name; of the customers
        the caller may see."""
        found = await self._invoice_totals(itemised_from)
        return await self.rows.invoice_totals(found) if self.rows else found

    async def billed_by_job(self) -> dict[str, list[model.Money]]:
        """What each ERP job (by key) has been invoiced, per currency, from the ERPs' invoice sums. Not
        row-filtered, as `invoices_by_job` is not: a job is reached through a visible engagement."""
        totals = await self._invoice_totals(None)
        return self.fan.derive(("billed_by_job",), [totals], lambda: invoiced_by_job(totals))

    async def _invoice_totals(self, itemised_from: date | None) -> list[tuple[str, model.InvoiceTotal]]:
        def fetch_of(s: System) -> Callable[[], Awaitable[list[tuple[str, model.InvoiceTotal]]]]:
            async def fetch() -> list[tuple[str, model.InvoiceTotal]]:
                return [(s.name, t) for t in await erp(s).invoice_totals(itemised_from)]

            return fetch

        return await self.fan.listings(
            self._of(Role.ERP), "invoice", "invoice_totals", fetch_of, {"itemised_from": itemised_from}
        )

    async def invoice_by_psa_invoice(self) -> dict[str, model.Invoice]:
        """ERP invoices by the PSA invoice they were raised from (its local id, `TimeEntry.invoice_id`)."""

        async def build() -> dict[str, model.Invoice]:
            return {i.psa_invoice_id: i for i in await self.invoices() if i.psa_invoice_id is not None}

        return await self.fan.index("invoice_by_psa_invoice", build)

    async def time_postings(self, start: date, end: date) -> list[model.TimePosting]:
        return await self.fan.listings(
            self._of(Role.ERP),
            "time_posting",
            "time_postings",
            lambda s: lambda: erp(s).list_time_postings(start, end),
            {"from": start, "to": end},
        )


def invoiced_by_job(totals: Sequence[tuple[str, model.InvoiceTotal]]) -> dict[str, list[model.Money]]:
    """Invoice sums (each with its ERP system's name) per job key: one amount per currency."""
    by_job: dict[str, dict[str, model.Money]] = defaultdict(dict)
    for system, t in totals:
        if t.job_id:
            amounts = by_job[model.record_key(system, t.job_id)]
            currency = t.total.currency
            amounts[currency] = amounts[currency] + t.total if currency in amounts else t.total
    return {job: list(amounts.values()) for job, amounts in by_job.items()}
