"""Loads what each derived view needs through the request's loaders, then computes it."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal

from opsgraph import model
from opsgraph.clock import Clock
from opsgraph.connectors.errors import SourceError
from opsgraph.money import ExchangeRates
from opsgraph.resolvers import stitching
from opsgraph.resolvers.loaders import Loaders
from opsgraph.resolvers.partial import settled
from opsgraph.resolvers.views.burn import Burn, compute_burn
from opsgraph.resolvers.views.burn_hours import hours_used
from opsgraph.resolvers.views.forecast import ForecastInputs, ForecastPeriod, compute_forecast
from opsgraph.resolvers.views.hire import entry_issues, find_time_before_hire, hr_record
from opsgraph.resolvers.views.readiness import Readiness, ReadinessInputs, compute_readiness, readiness_window
from opsgraph.resolvers.views.reconciliation import ReconciliationReport, reconcile
from opsgraph.resolvers.views.utilization import UtilizationRow, compute_utilization


class Views:
    def __init__(self, loaders: Loaders, clock: Clock, reporting_currency: str = "USD") -> None:
        self.loaders = loaders
        self.clock = clock
        self.reporting_currency = reporting_currency

    @property
    def today(self) -> date:
        return self.clock.today()

    async def _billed(self, job: model.ErpJob | None) -> Decimal:
        if job is None:
            return Decimal("0")
        invoices = await self.loaders.invoices_by_job.load(job.id)
        if job.contract_value is not None:
            currency = job.contract_value.currency
        else:
            currency = invoices[0].total.currency if invoices else "USD"
        return model.Money.total((i.total for i in invoices), currency).amount  # mixed currencies raise

    async def burn(self, project: model.Engagement) -> Burn:
        """Hours since the engagement's start come from Harvest's time report, in year windows shared
        by every engagement (`burn_hours`). Money comes from the ERP: when it fails, the hours still
        stand (`Burn.money_error`)."""
        money, hours = await asyncio.gather(
            settled(self._burn_money(project)), hours_used(project, self.today, self.loaders.project_hours)
        )
        if not hours.complete:
            self._warn_incomplete_hours(project.code)
        if isinstance(money, SourceError):
            burn = compute_burn(project, None, hours.hours, Decimal("0"), "USD", money_error=money)
        else:
            job, billed = money
            currency = job.contract_value.currency if job and job.contract_value else "USD"
            burn = compute_burn(project, job, hours.hours, billed, currency)
        return replace(burn, hours_counted_from=hours.counted_from, hours_complete=hours.complete)

    def _warn_incomplete_hours(self, code: str) -> None:
        """One INCOMPLETE_DATA warning per response, listing every engagement whose hours are partial."""
        warnings = self.loaders.reads.warnings
        for w in warnings:
            if w.get("code") == "INCOMPLETE_DATA" and w.get("field") == "Burn.hoursUsed":
                if code not in w["engagements"]:
                    w["engagements"].append(code)
                return
        warnings.append(
            {
                "code": "INCOMPLETE_DATA",
                "source": model.SourceName.HARVEST.value,
                "field": "Burn.hoursUsed",
                "message": "hoursUsed counts from hoursCountedFrom only: older time could not be read",
                "engagements": [code],
            }
        )

    async def _burn_money(self, project: model.Engagement) -> tuple[model.ErpJob | None, Decimal]:
        job = await self.loaders.job_by_code.load(project.code)
        return job, await self._billed(job)

    async def readiness(self, project: model.Engagement) -> Readiness:
        start, end = readiness_window(self.today)
        job, opp, entries, periods = await asyncio.gather(
            self.loaders.job_by_code.load(project.code),
            self.loaders.opportunity_by_code.load(project.code),
            self.loaders.time_entries.load((project.harvest_project_id, start, end, False)),
            self.loaders.periods(),
        )
        client, customer = await asyncio.gather(
            self.loaders.account.load(opp.client_id) if opp else _none(),
            self.loaders.customer_by_account.load(opp.client_id) if opp else _none(),
        )
        inputs = ReadinessInputs(
            project=project,
            job=job,
            client=client,
            customer=customer,
            unbilled_entries=entries,
            periods=periods,
            billed_to_date=await self._billed(job),
        )
        return compute_readiness(inputs, self.today, self.clock.now())

    async def utilization(
        self, start: date, end: date, group_by: str, only_user: int | None = None
    ) -> list[UtilizationRow]:
        entries, users, directory, time_off = await asyncio.gather(
            self.loaders.entries_in_range(start, end),
            self.loaders.psa_users(),
            self.loaders.resource_by_email(),
            self.loaders.time_off(start, end),
        )
        if only_user is not None:
            users = {k: v for k, v in users.items() if k == only_user}
        return compute_utilization(entries, users, directory, time_off, start, end, group_by)

    async def forecast(self, start: date, end: date, months_per_bucket: int) -> list[ForecastPeriod]:
        unbilled_start, _ = readiness_window(self.today)
        loaders = self.loaders
        invoices, unbilled, projects, opps = await asyncio.gather(
            loaders.invoices(with_lines=False),
            loaders.entries_in_range(unbilled_start, self.today, False),
            loaders.projects(),
            loaders.open_opportunities(),
        )
        users, time_off, directory, rates = await asyncio.gather(
            loaders.psa_user_list(),
            loaders.time_off(max(start, self.today), max(end, self.today)),
            loaders.directory(),
            self._rates(start, end),
        )
        active = [p for p in projects if p.is_active]
        jobs = dict(
            zip(
                [p.code for p in active],
                await self.loaders.job_by_code.load_many([p.code for p in active]),
                strict=True,
            )
        )
        billed: dict[str, model.Money] = {}
        for inv in invoices:
            if inv.job_id:
                billed[inv.job_id] = billed[inv.job_id] + inv.total if inv.job_id in billed else inv.total
        email_by_id = {r.id: r.email.lower() for r in directory}
        off: dict[str, list[model.TimeOff]] = defaultdict(list)
        for t in time_off:
            if t.resource_id in email_by_id:
                off[email_by_id[t.resource_id]].append(t)
        inputs = ForecastInputs(
            invoices=invoices,
            unbilled_approved=[e for e in unbilled if e.status is model.TimeEntryStatus.APPROVED],
            projects=active,
            jobs=jobs,
            billed_by_job=billed,
            open_opportunities=opps,
            users=users,
            time_off_by_email=off,
            rates=rates,
        )
        return compute_forecast(inputs, start, end, months_per_bucket, self.today)

    async def _rates(self, start: date, end: date) -> ExchangeRates:
        """The ERP's rates for the periods a forecast converts in: those of the range, and today's."""
        periods = await self.loaders.periods()
        needed = [
            p.id for p in periods if (p.start <= end and p.end >= start) or p.start <= self.today <= p.end
        ]
        return ExchangeRates(await self.loaders.exchange_rates(needed), periods, self.reporting_currency)

    async def reconciliation(self, start: date, end: date) -> ReconciliationReport:
        entries, bills, projects, users, directory = await asyncio.gather(
            self.loaders.entries_in_range(start, end),
            self.loaders.timebills(start, end),
            self.loaders.projects(),
            self.loaders.psa_user_list(),
            self.loaders.resource_by_email(),
        )
        codes = sorted({p.code for p in projects})
        job_ids = sorted({b.job_id for b in bills if b.job_id})
        jobs_by_code_list, jobs_by_id_list = await asyncio.gather(
            self.loaders.job_by_code.load_many(codes),
            self.loaders.job.load_many(job_ids),
        )
        jobs_by_code = dict(zip(codes, jobs_by_code_list, strict=True))
        jobs_by_id = {j.id: j for j in jobs_by_id_list if j is not None}
        quality: list[model.DataQualityIssue] = []
        for p in projects:
            quality += [
                i
                for i in stitching.engagement_issues(p, jobs_by_code[p.code], None)
                if i.code != "MISSING_IN_CRM"
            ]
        for u in users:
            quality += stitching.resource_issues(u, directory.get(u.email.lower()), u.email)
        early = find_time_before_hire(entries, {u.id: u for u in users}, directory)
        return reconcile(start, end, entries, bills, jobs_by_id, jobs_by_code, quality, early)

    async def entry_issues(self, entry: model.TimeEntry) -> list[model.DataQualityIssue]:
        """A time entry checked against its person's HR record (TIME_BEFORE_HIRE)."""
        users, directory = await asyncio.gather(self.loaders.psa_users(), self.loaders.resource_by_email())
        return entry_issues(entry, hr_record(entry.harvest_user_id, users, directory))


async def _none() -> None:
    return None
