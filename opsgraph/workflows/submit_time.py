"""`submitTimeEntries`: one person's time entries -> the PSA system owning each engagement.

Validation (before any write), per entry: the person is active in HR on the entry's date (hired by
then); they have an active user in the engagement's PSA and are assigned to the engagement, and the
date is within the engagement's dates; the engagement is active; the ERP accounting period holding
the date is open (the ERP with the engagement's job, else every ERP); the hours are above zero and
the person's day stays within `MAX_DAY_HOURS` (with what they logged already); and the entry is no
duplicate (same engagement, date, hours and notes) of one in the PSA or earlier in the input.

The plan groups the entries by PSA system and writes them in batches of `BATCH_SIZE`, one step per
batch on that system's write queue. A batch is idempotent by itself: each entry carries an external
reference derived from the step's idempotency key, checked before the write (`PsaPort.
submit_time_entries`). Compensation withdraws the step's entries (a step failed part way included).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from opsgraph.model import AccountingPeriod, Engagement, ResourceStatus, Role, TimeEntry, split_key
from opsgraph.roles.base import Entity
from opsgraph.roles.drafts import TimeEntryDraft
from opsgraph.roles.filters import TimeEntryFilter
from opsgraph.workflows.kinds import PlannedStep, StepContext, Systems, WorkflowKind, erp, hr, psa, register
from opsgraph.workflows.records import UserError

BATCH_SIZE = 25
"""Entries per step: a failure undoes at most what one batch wrote; each batch is one queue slot."""
MAX_DAY_HOURS = 24.0
MAX_ENTRIES = 200


class EntryInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    engagement_code: str = Field(min_length=1)
    date: date
    hours: float
    notes: str | None = Field(None, max_length=2000)
    task: str | None = Field(None, min_length=1)


class SubmitTimeEntriesInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    resource: str = Field(min_length=3)
    """The person's canonical key in HR, `<hr system>:<id>`."""
    entries: tuple[EntryInput, ...] = Field(min_length=1, max_length=MAX_ENTRIES)


@runtime_checkable
class WithdrawsTimeEntries(Protocol):
    """A PSA that can delete the entries a `submit_time_entries` call made (its compensation)."""

    async def withdraw_time_entries(
        self, entries: Sequence[TimeEntryDraft], *, idempotency_key: str
    ) -> list[str]: ...


class _Located(BaseModel):
    """What validation found: each entry's PSA system and draft, in input order."""

    systems: list[str]
    drafts: list[TimeEntryDraft]


def _entry_error(n: int, field: str | None, message: str, code: str) -> UserError:
    path = ("entries", str(n)) if field is None else ("entries", str(n), field)
    return UserError(field=path, message=message, code=code)


def _same(notes: str | None) -> str:
    return " ".join((notes or "").split()).casefold()


class _Checker:
    """The live rules over the systems, reading each system once."""

    def __init__(self, systems: Systems, data: SubmitTimeEntriesInput) -> None:
        self.systems, self.data = systems, data
        self.errors: list[UserError] = []

    async def engagements(self) -> dict[str, tuple[str, Engagement]]:
        """Each code's (PSA system, engagement): the first system declared that has it."""
        wanted = {e.engagement_code for e in self.data.entries}
        found: dict[str, tuple[str, Engagement]] = {}
        for s in self.systems.of_role(Role.PSA):
            missing = wanted - found.keys()
            if not missing:
                break
            for code, engagement in (await psa(self.systems, s.name).engagements_by_codes(missing)).items():
                found[code] = (s.name, engagement)
        return found

    async def periods(self, codes: set[str]) -> dict[str, list[AccountingPeriod]]:
        """The accounting periods that rule each code: its job's ERP's, else every ERP's."""
        by_system = {
            s.name: await erp(self.systems, s.name).accounting_periods()
            for s in self.systems.of_role(Role.ERP)
        }
        out: dict[str, list[AccountingPeriod]] = {}
        everyone = [p for periods in by_system.values() for p in periods]
        for code in codes:
            out[code] = everyone
            for name in by_system:
                if code in await erp(self.systems, name).jobs_by_codes([code]):
                    out[code] = by_system[name]
                    break
        return out

    async def run(self) -> _Located | None:
        data = self.data
        try:
            hr_name, person_id = split_key(data.resource)
            hr_system = self.systems.system(hr_name)
        except (ValueError, KeyError):
            hr_system, person_id = None, ""
        person = None
        if hr_system is not None and hr_system.role is Role.HR:
            person = (await hr(self.systems, hr_system.name).resources_by_ids([person_id])).get(person_id)
        if person is None:
            self.errors.append(UserError(field=("resource",), message="no such HR person", code="NOT_FOUND"))
            return None
        engagements = await self.engagements()
        periods = await self.periods({c for c in engagements})
        users: dict[str, str | None] = {}
        assigned: dict[str, set[str]] = {}
        logged: dict[str, list[TimeEntry]] = {}
        dates = [e.date for e in data.entries]
        for name in sorted({s for s, _ in engagements.values()}):
            port = psa(self.systems, name)
            user = next(
                (u for u in await port.list_users() if u.email.casefold() == person.email.casefold()), None
            )
            users[name] = user.id if user is not None and user.is_active else None
            ids = [e.id for s, e in engagements.values() if s == name]
            by_engagement = await port.assignments_by_engagement_ids(ids)
            assigned[name] = {
                i
                for i, found in by_engagement.items()
                if any(a.user_id == users[name] and a.is_active for a in found)
            }
            logged[name] = []
            if users[name] is not None:
                window = TimeEntryFilter(start=min(dates), end=max(dates), user_id=users[name])
                logged[name] = await port.list_time_entries(window)
        day_hours: dict[tuple[str, date], float] = defaultdict(float)
        seen: set[tuple[str, str, date, float, str]] = set()
        for name, entries in logged.items():
            for t in entries:
                day_hours[(name, t.date)] += t.hours
                seen.add((name, t.engagement_id, t.date, round(t.hours, 2), _same(t.notes)))
        located = _Located(systems=[], drafts=[])
        for n, entry in enumerate(data.entries):
            self._check(n, entry, person.status, person.hire_date, person.name)
            at = engagements.get(entry.engagement_code)
            if at is None:
                message = f"no PSA has engagement {entry.engagement_code}"
                self.errors.append(_entry_error(n, "engagementCode", message, "NOT_FOUND"))
                continue
            name, engagement = at
            user_id = users.get(name)
            on_it = user_id is not None and engagement.id in assigned[name]
            if self._engagement(n, entry, engagement, on_it):
                continue
            for period in periods.get(entry.engagement_code, []):
                if period.closed and period.start <= entry.date <= period.end:
                    message = f"the ERP period {period.name} is closed"
                    self.errors.append(_entry_error(n, "date", message, "PERIOD_CLOSED"))
                    break
            if user_id is None:
                continue
            key = (name, engagement.id, entry.date, round(entry.hours, 2), _same(entry.notes))
            if key in seen:
                message = f"{entry.hours} h on {entry.engagement_code} on {entry.date} is logged already"
                self.errors.append(_entry_error(n, None, message, "DUPLICATE"))
            seen.add(key)
            if entry.hours > 0:
                day_hours[(name, entry.date)] += entry.hours
                total = day_hours[(name, entry.date)]
                if total > MAX_DAY_HOURS:
                    message = f"{entry.date} would total {total:g} h (at most {MAX_DAY_HOURS:g})"
                    self.errors.append(_entry_error(n, "hours", message, "HOURS_OUT_OF_BOUNDS"))
            located.systems.append(name)
            located.drafts.append(
                TimeEntryDraft(
                    engagement_id=engagement.id,
                    user_id=user_id,
                    date=entry.date,
                    hours=min(max(entry.hours, 0.01), MAX_DAY_HOURS),
                    notes=entry.notes,
                    task=entry.task,
                )
            )
        return None if self.errors else located

    def _check(self, n: int, entry: EntryInput, status: ResourceStatus, hired: date | None, who: str) -> None:
        if status is not ResourceStatus.ACTIVE:
            self.errors.append(_entry_error(n, "date", f"{who} is not active in HR", "NOT_ACTIVE_IN_HR"))
        elif hired is not None and entry.date < hired:
            message = f"{who} joined on {hired}, after {entry.date}"
            self.errors.append(_entry_error(n, "date", message, "NOT_ACTIVE_IN_HR"))
        if not 0 < entry.hours <= MAX_DAY_HOURS:
            message = f"hours must be above 0 and at most {MAX_DAY_HOURS:g}"
            self.errors.append(_entry_error(n, "hours", message, "HOURS_OUT_OF_BOUNDS"))

    def _engagement(self, n: int, entry: EntryInput, engagement: Engagement, assigned: bool) -> bool:
        """Record the engagement's refusals of the entry; whether there were any."""
        code = entry.engagement_code
        before = len(self.errors)
        if not engagement.is_active:
            message = f"engagement {code} is not active"
            self.errors.append(_entry_error(n, "engagementCode", message, "ENGAGEMENT_INACTIVE"))
        if not assigned:
            message = f"the person is not assigned to {code}"
            self.errors.append(_entry_error(n, "engagementCode", message, "NOT_ASSIGNED"))
        elif (engagement.start_date and entry.date < engagement.start_date) or (
            engagement.end_date and entry.date > engagement.end_date
        ):
            message = f"{code} runs {engagement.start_date}..{engagement.end_date}, not on {entry.date}"
            self.errors.append(_entry_error(n, "date", message, "NOT_ASSIGNED"))
        return len(self.errors) > before


async def _locate(systems: Systems, data: SubmitTimeEntriesInput) -> tuple[_Located | None, list[UserError]]:
    checker = _Checker(systems, data)
    located = await checker.run()
    return located, checker.errors


class SubmitTimeEntries(WorkflowKind[SubmitTimeEntriesInput]):
    name = "submitTimeEntries"
    input_model = SubmitTimeEntriesInput

    async def validate(self, systems: Systems, data: SubmitTimeEntriesInput) -> list[UserError]:
        return (await _locate(systems, data))[1]

    async def plan(
        self, systems: Systems, data: SubmitTimeEntriesInput, workflow_id: str
    ) -> list[PlannedStep]:
        located, errors = await _locate(systems, data)
        if located is None:
            raise ValueError("; ".join(e.message for e in errors))
        by_system: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for name, draft in zip(located.systems, located.drafts, strict=True):
            by_system[name].append(draft.model_dump(mode="json"))
        steps: list[PlannedStep] = []
        for name, drafts in by_system.items():
            for at in range(0, len(drafts), BATCH_SIZE):
                steps.append(
                    PlannedStep(
                        name=f"psa-time-{len(steps) + 1}",
                        system=name,
                        action="submit_time_entries",
                        args={"entries": drafts[at : at + BATCH_SIZE]},
                    )
                )
        return steps

    @staticmethod
    def _drafts(ctx: StepContext) -> list[TimeEntryDraft]:
        return [TimeEntryDraft.model_validate(e) for e in ctx.step.args["entries"]]

    async def execute(
        self, systems: Systems, ctx: StepContext, done: Mapping[str, dict[str, Any]]
    ) -> dict[str, Any]:
        assert ctx.step.system is not None
        made = await psa(systems, ctx.step.system).submit_time_entries(
            self._drafts(ctx), idempotency_key=ctx.idempotency_key
        )
        return {"entries": [{"system": e.system, "id": e.id, "hours": e.hours} for e in made]}

    async def compensate(self, systems: Systems, ctx: StepContext, result: dict[str, Any] | None) -> None:
        assert ctx.step.system is not None
        client = systems.system(ctx.step.system).client
        if not isinstance(client, WithdrawsTimeEntries):
            raise RuntimeError(f"PSA system {ctx.step.system} cannot withdraw time entries")
        await client.withdraw_time_entries(self._drafts(ctx), idempotency_key=ctx.idempotency_key)

    def written(self, step: PlannedStep, result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        assert step.system is not None
        return [(step.system, Entity.TIME_ENTRY.value, e["id"]) for e in result.get("entries", [])]

    def summarize(
        self, data: SubmitTimeEntriesInput, results: Mapping[str, dict[str, Any]]
    ) -> dict[str, Any]:
        entries = [e for r in results.values() for e in r.get("entries", [])]
        return {
            "resource": data.resource,
            "submitted": len(entries),
            "hours": round(sum(e["hours"] for e in entries), 2),
            "entries": entries,
        }


SUBMIT_TIME_ENTRIES = register(SubmitTimeEntries())
