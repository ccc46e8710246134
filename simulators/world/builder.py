"""Generates the firm: clients, pipeline, staffing, daily time, the invoice cycle and the seeded drift."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from simulators.world.records import (
    BILLING_MODELS,
    COMPANY_A,
    COMPANY_B,
    DEFAULT_AS_OF,
    ENGAGEMENT_KINDS,
    FIRST,
    HUBSPOT_COMPANY_BASE,
    HUBSPOT_DEAL_BASE,
    INDUSTRIES,
    LAST,
    LOCATIONS,
    PRACTICES,
    PROFILES,
    RATE_CARD,
    REGIONS,
    TASKS,
    TITLE_WEIGHTS,
    AccountingPeriod,
    Assignment,
    Client,
    Drift,
    Engagement,
    Invoice,
    InvoiceLine,
    Opportunity,
    Person,
    Profile,
    TimeEntry,
    TimeOff,
    World,
    salesforce_id,
)


def _stamp(d: date, rng: random.Random) -> datetime:
    return datetime.combine(d, time(9, 0), tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 9 * 60))


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _workdays(start: date, end: date) -> list[date]:
    days = []
    d = start
    while d <= end:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


class _Builder:
    def __init__(self, seed: int, profile: str, as_of: date) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
        self.rng = random.Random(seed)
        self.seed = seed
        self.profile = profile
        self.size = PROFILES[profile]
        self.as_of = as_of
        self.history_start = _month_start(as_of - timedelta(days=365))
        self.drift = Drift()

    def build(self) -> World:
        clients = self.clients()
        people = self.people()
        opportunities, engagements = self.pipeline(clients)
        assignments = self.assignments(engagements, people)
        time_off = self.time_off(people)
        periods = self.periods()
        entries = self.time_entries(assignments, time_off)
        invoices = self.invoices(engagements, entries)
        self.seed_drift(clients, people, engagements, assignments, entries)
        return World(
            self.seed,
            self.profile,
            self.as_of,
            clients,
            opportunities,
            engagements,
            people,
            assignments,
            entries,
            invoices,
            time_off,
            periods,
            self.drift,
        )

    def clients(self) -> list[Client]:
        rng, out = self.rng, list[Client]()
        for i in range(self.size["clients"]):
            region = rng.choice(list(REGIONS))
            country = rng.choice(REGIONS[region])
            name = f"{COMPANY_A[i % len(COMPANY_A)]} {COMPANY_B[(i // len(COMPANY_A)) % len(COMPANY_B)]}"
            if i >= len(COMPANY_A) * len(COMPANY_B):
                name += f" {i}"
            currency = {"United Kingdom": "GBP", "Germany": "EUR", "France": "EUR"}.get(country, "USD")
            out.append(
                Client(
                    sf_id=salesforce_id("001", 1000 + i),
                    hubspot_id=str(HUBSPOT_COMPANY_BASE + 1000 + i),
                    name=name,
                    industry=rng.choice(INDUSTRIES),
                    region=region,
                    country=country,
                    legal_entity=f"{name} {rng.choice(['Inc.', 'Ltd', 'GmbH', 'LLC'])}",
                    currency=currency,
                    harvest_client_id=5_100_000 + i,
                    ns_customer_id=str(2000 + i),
                    modified_at=_stamp(self.history_start, rng),
                )
            )
        return out

    def people(self) -> list[Person]:
        rng, out = self.rng, []
        titles = [t for t, w in TITLE_WEIGHTS for _ in range(w)]
        partners: list[Person] = []
        for i in range(self.size["people"]):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            billable = i % 15 != 14  # one in fifteen works in a support function
            title = "Partner" if i < max(3, self.size["people"] // 50) else rng.choice(titles)
            department = rng.choice(PRACTICES) if billable else rng.choice(["Finance", "People", "Sales"])
            bill, cost = RATE_CARD[title]
            person = Person(
                bamboo_id=str(100 + i),
                harvest_user_id=4_200_000 + i,
                ns_employee_id=str(7000 + i),
                first=first,
                last=last,
                email=f"{first.lower()}.{last.lower()}.{i}@opsgraph-firm.example",
                title=title if billable else "Specialist",
                department=department,
                division="Consulting" if billable else "Corporate",
                location=rng.choice(LOCATIONS),
                supervisor=rng.choice(partners) if partners else None,
                hire_date=self.as_of - timedelta(days=rng.randrange(200, 4000)),
                bill_rate=Decimal(bill),
                cost_rate=Decimal(cost + rng.randrange(-5, 6)),
                weekly_capacity_hours=40.0 if rng.random() > 0.08 else 32.0,
                status="Active",
                billable=billable,
                modified_at=_stamp(self.history_start, rng),
            )
            if title == "Partner":
                partners.append(person)
            out.append(person)
        return out

    def pipeline(self, clients: list[Client]) -> tuple[list[Opportunity], list[Engagement]]:
        rng = self.rng
        n_eng, n_opp = self.size["engagements"], self.size["opportunities"]
        opportunities: list[Opportunity] = []
        engagements: list[Engagement] = []
        for i in range(n_opp):
            client = clients[i % len(clients)] if i < len(clients) else rng.choice(clients)
            practice = rng.choice(PRACTICES)
            model = BILLING_MODELS[0] if rng.random() < 0.6 else rng.choice(BILLING_MODELS[1:])
            amount = Decimal(rng.randrange(60, 900) * 1000)
            sf_id = salesforce_id("006", 5000 + i)
            deal_id = str(HUBSPOT_DEAL_BASE + 5000 + i)
            if i < n_eng:  # closed-won and converted into an engagement
                code = f"ENG-{i + 1:04d}"
                start = self.as_of - timedelta(days=rng.randrange(20, 540))
                end = start + timedelta(days=rng.randrange(90, 400))
                stage, prob, closed, won, close = "Closed Won", 100, True, True, start - timedelta(days=14)
                rate = Decimal(rng.choice([180, 210, 240, 260]))
                engagements.append(
                    Engagement(
                        code=code,
                        name=f"{client.name.split()[0]} {practice} {ENGAGEMENT_KINDS[i % 4]}",
                        client=client,
                        opportunity_id=sf_id,
                        hubspot_deal_id=deal_id,
                        billing_model=model,
                        practice=practice,
                        start=start,
                        end=end,
                        contract_value=amount,
                        budget_hours=float(int(amount / rate)),
                        hourly_rate=rate,
                        harvest_project_id=3_300_000 + i,
                        ns_job_id=str(9000 + i),
                        is_active=end >= self.as_of,
                        erp_inactive=False,
                        modified_at=_stamp(start, rng),
                    )
                )
            else:
                code = None
                kind = (i - n_eng) % 5
                close = self.as_of + timedelta(days=rng.randrange(-60, 200))
                if kind == 0:  # closed-won, not yet converted
                    stage, prob, closed, won = "Closed Won", 100, True, True
                    close = self.as_of - timedelta(days=rng.randrange(1, 20))
                elif kind == 1:
                    stage, prob, closed, won = "Closed Lost", 0, True, False
                    close = self.as_of - timedelta(days=rng.randrange(5, 200))
                else:
                    stage, prob = rng.choice(
                        [("Prospecting", 10), ("Qualification", 25), ("Proposal", 50), ("Negotiation", 75)]
                    )
                    closed, won = False, False
                    close = self.as_of + timedelta(days=rng.randrange(10, 200))
            opportunities.append(
                Opportunity(
                    sf_id=sf_id,
                    hubspot_id=deal_id,
                    account_id=client.sf_id,
                    name=f"{client.name} - {practice}",
                    stage=stage,
                    amount=amount,
                    close_date=close,
                    probability=prob,
                    is_closed=closed,
                    is_won=won,
                    billing_model=model,
                    practice=practice,
                    engagement_code=code,
                    modified_at=_stamp(min(close, self.as_of), rng),
                )
            )
        return opportunities, engagements

    def assignments(self, engagements: list[Engagement], people: list[Person]) -> list[Assignment]:
        rng, out = self.rng, []
        billable = [p for p in people if p.billable]
        next_id = 8_800_000
        for eng in engagements:
            for person in rng.sample(billable, k=min(len(billable), rng.randrange(3, 9))):
                out.append(
                    Assignment(
                        id=next_id,
                        engagement=eng,
                        person=person,
                        hourly_rate=person.bill_rate if eng.billing_model != "FIXED_FEE" else eng.hourly_rate,
                        budget_hours=round(eng.budget_hours / 5, 1),
                        is_active=eng.is_active,
                    )
                )
                next_id += 1
        return out

    def time_off(self, people: list[Person]) -> list[TimeOff]:
        rng, out = self.rng, []
        next_id = 1
        for person in people:
            for _ in range(rng.randrange(1, 4)):
                start = self.history_start + timedelta(days=rng.randrange(0, 420))
                days = rng.choice([1, 2, 3, 5])
                upcoming = start > self.as_of
                out.append(
                    TimeOff(
                        id=next_id,
                        person=person,
                        start=start,
                        end=start + timedelta(days=days - 1),
                        days=float(days),
                        kind=rng.choice(["Vacation", "Vacation", "Sick", "Training"]),
                        status="requested" if upcoming and rng.random() < 0.3 else "approved",
                    )
                )
                next_id += 1
        return out

    def periods(self) -> list[AccountingPeriod]:
        out, start = list[AccountingPeriod](), self.history_start
        last_open = _month_start(_month_start(self.as_of) - timedelta(days=1))
        while start <= self.as_of + timedelta(days=93):
            end = _next_month(start) - timedelta(days=1)
            out.append(
                AccountingPeriod(
                    id=str(300 + len(out)),
                    name=start.strftime("%b %Y"),
                    start=start,
                    end=end,
                    closed=start < last_open,
                )
            )
            start = _next_month(start)
        return out

    def time_entries(self, assignments: list[Assignment], time_off: list[TimeOff]) -> list[TimeEntry]:
        """Daily time: each billable person books each workday to one of their live engagements."""
        rng = self.rng
        off: set[tuple[int, date]] = set()
        for t in time_off:
            if t.status == "approved":
                d = t.start
                while d <= t.end:
                    off.add((t.person.harvest_user_id, d))
                    d += timedelta(days=1)
        by_person: dict[int, list[Assignment]] = {}
        for a in assignments:
            by_person.setdefault(a.person.harvest_user_id, []).append(a)
        approval_cutoff = self.as_of - timedelta(
            days=self.as_of.weekday() + 7
        )  # last week and this one pending
        out: list[TimeEntry] = []
        next_id = 1_000_000_000
        days = _workdays(self.history_start, self.as_of - timedelta(days=1))
        for user_id in sorted(by_person):
            mine = by_person[user_id]
            for day in days:
                if (user_id, day) in off:
                    continue
                live = [a for a in mine if a.engagement.start <= day <= a.engagement.end]
                if not live or rng.random() < 0.12:  # bench time or unbooked
                    continue
                a = live[(day.toordinal() // 7) % len(live)]
                hours = rng.choice([6.0, 7.0, 7.5, 8.0, 8.0, 8.5])
                task_id = 2 if rng.random() < 0.1 else 1
                stamp = _stamp(day, rng)
                approved = day < approval_cutoff
                out.append(
                    TimeEntry(
                        id=next_id,
                        spent_date=day,
                        hours=hours,
                        notes=f"{TASKS[task_id][0]} for {a.engagement.code}",
                        person=a.person,
                        engagement=a.engagement,
                        task_id=task_id,
                        billable=True,
                        billable_rate=a.hourly_rate,
                        cost_rate=a.person.cost_rate,
                        is_closed=approved,
                        harvest_invoice_id=None,
                        ns_timebill_id=str(next_id - 999_000_000) if approved else None,
                        created_at=stamp,
                        updated_at=stamp + (timedelta(days=8) if approved else timedelta()),
                    )
                )
                next_id += 1
        return out

    def invoices(self, engagements: list[Engagement], entries: list[TimeEntry]) -> list[Invoice]:
        """The monthly cycle: each closed month's approved time is invoiced early the next month."""
        rng = self.rng
        current_month = _month_start(self.as_of)
        by_month: dict[tuple[str, date], list[TimeEntry]] = {}
        for e in entries:
            month = _month_start(e.spent_date)
            if e.is_closed and month < _month_start(current_month - timedelta(days=1)):
                by_month.setdefault((e.engagement.code, month), []).append(e)
        eng_by_code = {e.code: e for e in engagements}
        out: list[Invoice] = []
        for n, (code, month) in enumerate(sorted(by_month)):
            eng, batch = eng_by_code[code], by_month[(code, month)]
            ns_id, harvest_id = str(60_000 + n), 13_000_000 + n
            issue = _next_month(month) + timedelta(days=2)
            lines = self._invoice_lines(eng, batch, month)
            if not lines:
                continue
            for e in batch:
                e.harvest_invoice_id = harvest_id
            age = (self.as_of - issue).days
            total = sum((line.amount for line in lines), Decimal("0.00"))
            paid = total if age > 75 or (age > 35 and rng.random() < 0.7) else Decimal("0.00")
            out.append(
                Invoice(
                    ns_id=ns_id,
                    harvest_invoice_id=harvest_id,
                    number=f"INV-{10_000 + n:06d}",
                    client=eng.client,
                    engagement=eng,
                    issue_date=issue,
                    due_date=issue + timedelta(days=30),
                    period_start=month,
                    period_end=_next_month(month) - timedelta(days=1),
                    lines=lines,
                    amount_paid=paid,
                    modified_at=_stamp(issue, rng),
                )
            )
        return out

    def _invoice_lines(self, eng: Engagement, batch: list[TimeEntry], month: date) -> list[InvoiceLine]:
        label = month.strftime("%B %Y")
        if eng.billing_model == "FIXED_FEE":
            months = max(1, round((eng.end - eng.start).days / 30))
            fee = (eng.contract_value / months).quantize(Decimal("0.01"))
            return [InvoiceLine(f"{eng.code} fixed fee, {label}", 1.0, fee, fee)]
        lines = []
        by_rate: dict[Decimal, float] = {}
        for e in batch:
            if e.billable_rate is not None:
                by_rate[e.billable_rate] = by_rate.get(e.billable_rate, 0.0) + e.hours
        for rate, hours in sorted(by_rate.items()):
            lines.append(
                InvoiceLine(
                    f"{eng.code} professional services, {label}",
                    hours,
                    rate,
                    (rate * Decimal(str(hours))).quantize(Decimal("0.01")),
                )
            )
        return lines

    def seed_drift(
        self,
        clients: list[Client],
        people: list[Person],
        engagements: list[Engagement],
        assignments: list[Assignment],
        entries: list[TimeEntry],
    ) -> None:
        drift = self.drift
        active = [e for e in engagements if e.is_active and e.billing_model == "TIME_AND_MATERIALS"]
        # Approved, unbilled time that never reached the ERP.
        unbilled = [e for e in entries if e.is_closed and e.harvest_invoice_id is None]
        for engagement in active[:2]:
            for e in unbilled:
                if e.engagement is engagement:
                    e.ns_timebill_id = None
                    drift.unposted_entry_ids.append(e.id)
        # A project missing in the ERP, and one inactive there while delivery goes on.
        active[2].ns_job_id = None
        drift.engagement_missing_in_erp = active[2].code
        active[3].erp_inactive = True
        drift.engagement_inactive_in_erp = active[3].code
        # A customer without a legal entity: pick one that has live work.
        target = active[4].client
        target.legal_entity = None
        drift.client_without_legal_entity = target.sf_id
        # A person in the PSA but not in HR.
        ghost = next(p for p in reversed(people) if p.billable)
        ghost.bamboo_id = None
        drift.person_missing_in_hr = ghost.harvest_user_id
        # An assignment with no rate: its time cannot be invoiced.
        gap = next(a for a in assignments if a.engagement is active[5])
        gap.hourly_rate = None
        for e in entries:
            if e.engagement is active[5] and e.person is gap.person:
                e.billable_rate = None
        drift.assignment_without_rate = gap.id
        # A capped engagement whose delivered value has run past its cap.
        capped = next(e for e in engagements if e.is_active and e.billing_model == "CAPPED")
        delivered = sum(
            (e.billable_rate or Decimal(0)) * Decimal(str(e.hours)) for e in entries if e.engagement is capped
        )
        capped.contract_value = (delivered * Decimal("0.9")).quantize(Decimal("1"))
        capped.budget_hours = float(int(capped.contract_value / capped.hourly_rate))
        drift.capped_over_budget = capped.code


def build_world(seed: int = 7, profile: Profile | str = "small", as_of: date = DEFAULT_AS_OF) -> World:
    """Generate the firm. Deterministic in (seed, profile, as_of)."""
    return _Builder(seed, profile, as_of).build()
