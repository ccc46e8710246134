"""Loads what each derived view needs through the request's loaders, then computes it."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import partial

from opsgraph import model
from opsgraph.clock import Clock
from opsgraph.connectors.errors import SourceError
from opsgraph.model import Role, record_key
from opsgraph.money import ExchangeRates
from opsgraph.resolvers import stitching
from opsgraph.resolvers.listings import invoiced_by_job
from opsgraph.resolvers.loaders import Loaders, user_key
from opsgraph.resolvers.partial import settled
from opsgraph.resolvers.views.burn import Burn, compute_burn
from opsgraph.resolvers.views.burn_hours import hours_used
from opsgraph.resolvers.views.forecast import ForecastInputs, ForecastPeriod, compute_forecast
from opsgraph.resolvers.views.hire import entry_issues, find_time_before_hire
from opsgraph.resolvers.views.readiness import (
    Period,
    Readiness,
    ReadinessInputs,
    compute_readiness,
    readiness_window,
)
from opsgraph.resolvers.views.reconciliation import ReconciliationReport, reconcile
from opsgraph.resolvers.views.utilization import UtilizationRow, compute_utilization


class Views:
    def __init__(self, loaders: Loaders, clock: Clock, reporting_currency: str = "USD") -> None:
        self.loaders = loaders
        self.sources = loaders.sources
        self.clock = clock
        self.reporting_currency = reporting_currency

    @property
    def today(self) -> date:
        return self.clock.today()

    def _owner(self, role: Role) -> str | None:
        owner = self.sources.owner(role)
        return owner.name if owner is not None else None

    async def billed_to_date(self, job: model.ErpJob | None) -> Decimal:
        """From the ERPs' invoice sums per job (one request for every job), not the job's invoices."""
        if job is None:
            return Decimal("0")
        billed = (await self.loaders.billed_by_job()).get(job.key, [])
        if job.contract_value is not None:
            currency = job.contract_value.currency
        else:
            currency = billed[0].currency if billed else "USD"
        return model.Money.total(billed, currency).amount  # mixed currencies raise

    async def burn(self, engagement: model.Engagement) -> Burn:
        """Hours since the engagement's start come from its PSA's time report, in year windows shared
        by every engagement of that system (`burn_hours`). Money comes from the ERP: when it fails, the
        hours still stand (`Burn.money_error`)."""
        report = partial(self.loaders.engagement_hours, engagement.system)
        money, hours = await asyncio.gather(
            settled(self._burn_money(engagement)), hours_used(engagement, self.today, report)
        )
        if not hours.complete:
            self._warn_incomplete_hours(engagement)
        if isinstance(money, SourceError):
            burn = compute_burn(engagement, None, hours.hours, Decimal("0"), "USD", money_error=money)
        else:
            job, billed = money
            currency = job.contract_value.currency if job and job.contract_value else "USD"
            burn = compute_burn(engagement, job, hours.hours, billed, currency)
        return replace(burn, hours_counted_from=hours.counted_from, hours_complete=hours.complete)

    def _warn_incomplete_hours(self, engagement: model.Engagement) -> None:
        """One INCOMPLETE_DATA warning per response and PSA system, listing every engagement whose
        hours are partial."""
        warnings = self.loaders.reads.warnings
        system, code = engagement.system, engagement.code
        for w in warnings:
            if (
                w.get("code") == "INCOMPLETE_DATA"
                and w.get("field") == "Burn.hoursUsed"
                and w.get("system") == system
            ):
                if code not in w["engagements"]:
                    w["engagements"].append(code)
                return
        warnings.append(
            {
                "code": "INCOMPLETE_DATA",
                "source": system,
                "system": system,
                "field": "Burn.hoursUsed",
                "message": "hoursUsed counts from hoursCountedFrom only: older time could not be read",
                "engagements": [code],
            }
        )

    async def _burn_money(self, engagement: model.Engagement) -> tuple[model.ErpJob | None, Decimal]:
        job, _ = await asyncio.gather(  # the sums per job need no job first
            self.loaders.job_by_code.load(engagement.code), self.loaders.billed_by_job()
        )
        return job, await self.billed_to_date(job)

    async def readiness(self, engagement: model.Engagement, period: Period | None = None) -> Readiness:
        """Readiness to invoice `period` (default: last month); `prepareInvoice` checks it too."""
        start, end = readiness_window(self.today, period)
        loaders = self.loaders
        job, opp, entries, periods, _ = await asyncio.gather(
            loaders.job_by_code.load(engagement.code),
            loaders.opportunity_by_code.load(engagement.code),
            loaders.time_entries.load((engagement.key, start, end, False)),
            loaders.periods(),
            loaders.billed_by_job(),  # billed to date, below: the sums per job need no job first
        )
        client_key = record_key(opp.system, opp.client_id) if opp else None
        client, customer = await asyncio.gather(
            loaders.client.load(client_key) if client_key else _none(),
            loaders.customer_by_client.load(client_key) if client_key else _none(),
        )
        erp_system = job.system if job else self._owner(Role.ERP)
        inputs = ReadinessInputs(
            engagement=engagement,
            job=job,
            client=client,
            customer=customer,
            unbilled_entries=entries,
            periods=[p for p in periods if p.system == erp_system],
            billed_to_date=await self.billed_to_date(job),
            erp_system=erp_system,
            crm_system=self._owner(Role.CRM),
        )
        return compute_readiness(inputs, self.today, self.clock.now(), period)

    async def utilization(
        self, start: date, end: date, group_by: str, only_user: str | None = None
    ) -> list[UtilizationRow]:
        """`only_user`: one PSA user's row (by user key)."""
        entries, users, directory, time_off = await asyncio.gather(
            self.loaders.time_entries_in_range(start, end),
            self.loaders.psa_user_by_key(),
            self.loaders.resource_by_email(),
            self.loaders.time_off(start, end),
        )
        if only_user is not None:
            users = {k: v for k, v in users.items() if k == only_user}
        return compute_utilization(entries, users, directory, time_off, start, end, group_by)

    async def forecast(self, start: date, end: date, months_per_bucket: int) -> list[ForecastPeriod]:
        """Computed once per version of its inputs: the listings it reads (`resolvers/derived.py`),
        the day, the range and the reporting currency; a write or an event that replaces any listing
        computes it again."""
        unbilled_start, _ = readiness_window(self.today)
        loaders = self.loaders

        async def active_jobs() -> tuple[list[str], list[model.ErpJob | None]]:
            codes = [e.code for e in await loaders.engagements() if e.is_active]
            return codes, await loaders.job_by_code.load_many(codes)

        # one round of reads; only the active engagements' jobs and the periods' rates wait on another
        reads, people, (codes, jobs) = await asyncio.gather(
            asyncio.gather(
                loaders.invoice_totals(itemised_from=start),
                loaders.unbilled_time(unbilled_start, self.today),
                loaders.engagements(),
                loaders.opportunities(is_closed=False),
            ),
            asyncio.gather(
                loaders.psa_users(),
                loaders.time_off(max(start, self.today), max(end, self.today)),
                loaders.resources(),
                self._rate_inputs(start, end),
            ),
            active_jobs(),
        )
        invoiced, unbilled, engagements, opps = reads
        users, time_off, directory, (listed_periods, rates) = people

        def compute() -> list[ForecastPeriod]:
            erp_system = self._owner(Role.ERP)
            periods = [p for p in listed_periods if p.system == erp_system]
            inputs = ForecastInputs(
                revenue=[t for _, t in invoiced if t.issue_date is not None and t.issue_date <= end],
                unbilled_approved=[u for _, u in unbilled],
                engagements=[e for e in engagements if e.is_active],
                jobs=dict(zip(codes, jobs, strict=True)),
                billed_by_job={
                    job: model.Money.total(amounts, amounts[0].currency)  # mixed currencies raise
                    for job, amounts in invoiced_by_job(invoiced).items()
                },
                open_opportunities=opps,
                users=users,
                time_off_by_email=_time_off_by_email(time_off, directory),
                rates=ExchangeRates(rates, periods, self.reporting_currency, system=erp_system),
            )
            return compute_forecast(inputs, start, end, months_per_bucket, self.today)

        slot = ("forecast", start, end, months_per_bucket, self.today, self.reporting_currency)
        listings = [
            invoiced,
            unbilled,
            engagements,
            opps,
            users,
            time_off,
            directory,
            listed_periods,
            rates,
        ]
        return loaders.derived(slot, [*listings, *jobs], compute)

    async def _rate_inputs(
        self, start: date, end: date
    ) -> tuple[list[model.AccountingPeriod], list[model.ExchangeRate]]:
        """Every ERP period (as listed), and the first ERP system's rates for the periods a forecast
        converts in: those of the range, and today's (the reporting currency is converted at one
        system's consolidated rates)."""
        erp_system = self._owner(Role.ERP)
        listed = await self.loaders.periods()
        needed = [
            p
            for p in listed
            if p.system == erp_system
            and ((p.start <= end and p.end >= start) or p.start <= self.today <= p.end)
        ]
        return listed, await self.loaders.exchange_rates(needed)

    async def reconciliation(self, start: date, end: date) -> ReconciliationReport:
        loaders = self.loaders
        entries, postings, engagements, users, directory = await asyncio.gather(
            loaders.time_entries_in_range(start, end),
            loaders.time_postings(start, end),
            loaders.engagements(),
            loaders.psa_users(),
            loaders.resource_by_email(),
        )
        codes = sorted({e.code for e in engagements})
        job_keys = sorted({record_key(p.system, p.job_id) for p in postings if p.job_id})
        jobs_by_code_list, jobs_by_key_list = await asyncio.gather(
            loaders.job_by_code.load_many(codes), loaders.job.load_many(job_keys)
        )
        jobs_by_code = dict(zip(codes, jobs_by_code_list, strict=True))
        jobs_by_key = {j.key: j for j in jobs_by_key_list if j is not None}
        if loaders.rows is not None:  # postings of jobs whose engagements the caller may not see
            seen = set(codes)
            postings = [p for p in postings if _job_code(jobs_by_key, p) in seen]
        quality: list[model.DataQualityIssue] = []
        for e in engagements:
            quality += [
                i
                for i in stitching.engagement_issues(self.sources, e, jobs_by_code[e.code], None)
                if i.code != "MISSING_IN_CRM"
            ]
        people: set[str] = set()  # one finding per person, however many PSA systems know them
        for u in users:
            if u.email.lower() not in people:
                people.add(u.email.lower())
                quality += stitching.resource_issues(self.sources, u, directory.get(u.email.lower()), u.email)
        early = find_time_before_hire(entries, {u.key: u for u in users}, directory)
        return reconcile(start, end, entries, postings, jobs_by_key, jobs_by_code, quality, early)

    async def entry_issues(self, entry: model.TimeEntry) -> list[model.DataQualityIssue]:
        """A time entry checked against its person's HR record (TIME_BEFORE_HIRE)."""
        user, directory = await asyncio.gather(
            self.loaders.psa_user(user_key(entry)), self.loaders.resource_by_email()
        )
        return entry_issues(entry, directory.get(user.email.lower()) if user else None)


def _time_off_by_email(
    time_off: list[model.TimeOff], directory: list[model.Resource]
) -> dict[str, list[model.TimeOff]]:
    email_by_key = {r.key: r.email.lower() for r in directory}
    off: dict[str, list[model.TimeOff]] = defaultdict(list)
    for t in time_off:
        email = email_by_key.get(record_key(t.system, t.resource_id))
        if email is not None:
            off[email].append(t)
    return off


def _job_code(jobs: dict[str, model.ErpJob], posting: model.TimePosting) -> str | None:
    job = jobs.get(record_key(posting.system, posting.job_id)) if posting.job_id else None
    return job.code if job is not None else None


async def _none() -> None:
    return None
