"""`postApprovedTime`: approved PSA time of one engagement and period -> ERP time postings.

Validation: the engagement is known to a PSA, its ERP job exists and is active, and no ERP
accounting period the range touches is closed. The plan reads the approved (and billed) entries in
the range, leaves out those the ERP already has (its postings carry the entry id as external id),
and posts the rest in batches, one step per batch on the ERP's write queue. Each posting is an
upsert on the entry's id, so a step resumed after a crash or replayed posts nothing twice.
Compensation deletes the step's postings (a step that failed part way included).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsgraph.model import ErpJob, Role, SourceRef, TimeEntryStatus
from opsgraph.roles.base import Entity
from opsgraph.roles.drafts import TimePostingDraft
from opsgraph.roles.filters import TimeEntryFilter
from opsgraph.workflows.kinds import (
    PlannedStep,
    StepContext,
    SystemEntry,
    Systems,
    WorkflowKind,
    register,
)
from opsgraph.workflows.kinds import (
    erp as erp_port,
)
from opsgraph.workflows.kinds import (
    psa as psa_port,
)
from opsgraph.workflows.records import UserError

BATCH_SIZE = 25
"""Postings per step: a failure undoes at most what was posted, and each step is one queue slot."""


class PostApprovedTimeInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    engagement_code: str = Field(min_length=1)
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> PostApprovedTimeInput:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


@runtime_checkable
class UndoesTimePostings(Protocol):
    """An ERP that can delete the postings of PSA entries (the compensation of `post_time`)."""

    async def delete_time_postings(self, entries: list[SourceRef], *, idempotency_key: str) -> int: ...


class _Located(BaseModel):
    psa: str
    engagement_id: str
    erp: str
    job: ErpJob


async def _locate(systems: Systems, data: PostApprovedTimeInput) -> tuple[_Located | None, list[UserError]]:
    code, field = data.engagement_code, ("engagementCode",)
    psa = None
    for s in systems.of_role(Role.PSA):
        found = (await psa_port(systems, s.name).engagements_by_codes([code])).get(code)
        if found is not None:
            psa, engagement_id = s, found.id
            break
    if psa is None:
        return None, [UserError(field=field, message=f"no PSA has engagement {code}", code="NOT_FOUND")]
    erp, job = None, None
    for s in systems.of_role(Role.ERP):
        job = (await erp_port(systems, s.name).jobs_by_codes([code])).get(code)
        if job is not None:
            erp = s
            break
    if erp is None or job is None:
        return None, [UserError(field=field, message=f"no ERP has a job for {code}", code="NOT_FOUND")]
    errors = []
    if job.is_inactive:
        errors.append(UserError(field=field, message=f"the ERP job of {code} is inactive", code="INACTIVE"))
    periods = await erp_port(systems, erp.name).accounting_periods()
    for period in periods:
        if period.closed and period.start <= data.end and data.start <= period.end:
            errors.append(
                UserError(
                    field=("start",),
                    message=f"the ERP period {period.name} is closed",
                    code="PERIOD_CLOSED",
                )
            )
    located = _Located(psa=psa.name, engagement_id=engagement_id, erp=erp.name, job=job)
    return (None, errors) if errors else (located, [])


def _ref(system: SystemEntry, entry_id: str) -> SourceRef:
    return SourceRef(system=system.name, role=system.role, vendor=system.vendor, id=entry_id)


class PostApprovedTime(WorkflowKind[PostApprovedTimeInput]):
    name = "postApprovedTime"
    input_model = PostApprovedTimeInput

    async def validate(self, systems: Systems, data: PostApprovedTimeInput) -> list[UserError]:
        return (await _locate(systems, data))[1]

    async def plan(
        self, systems: Systems, data: PostApprovedTimeInput, workflow_id: str
    ) -> list[PlannedStep]:
        located, errors = await _locate(systems, data)
        if located is None:
            raise ValueError("; ".join(e.message for e in errors))
        psa = psa_port(systems, located.psa)
        entries = await psa.list_time_entries(
            TimeEntryFilter(start=data.start, end=data.end, engagement_id=located.engagement_id)
        )
        approved = [e for e in entries if e.status is not TimeEntryStatus.UNAPPROVED]
        posted = await erp_port(systems, located.erp).list_time_postings(data.start, data.end)
        already = {p.time_entry_id for p in posted if p.time_entry_id is not None}
        emails = {u.id: u.email for u in await psa.list_users()}
        psa_system = systems.system(located.psa)
        drafts = [
            TimePostingDraft(
                time_entry=_ref(psa_system, e.id),
                job_id=located.job.id,
                person_email=emails[e.user_id],
                date=e.date,
                hours=e.hours,
                memo=f"{data.engagement_code} {e.date}: PSA entry {e.id}",
            )
            for e in sorted(approved, key=lambda e: (e.date, e.id))
            if e.id not in already
        ]
        return [
            PlannedStep(
                name=f"post-time-{n + 1}",
                system=located.erp,
                action="post_time",
                args={"postings": [d.model_dump(mode="json") for d in drafts[at : at + BATCH_SIZE]]},
            )
            for n, at in enumerate(range(0, len(drafts), BATCH_SIZE))
        ]

    @staticmethod
    def _drafts(ctx: StepContext) -> list[TimePostingDraft]:
        """The step's postings, each memo carrying the correlation id (the ERP's reference field)."""
        return [
            TimePostingDraft.model_validate(
                {**p, "memo": f"{p.get('memo') or ''} [correlation {ctx.correlation_id}]".strip()}
            )
            for p in ctx.step.args["postings"]
        ]

    async def execute(
        self, systems: Systems, ctx: StepContext, done: Mapping[str, dict[str, Any]]
    ) -> dict[str, Any]:
        assert ctx.step.system is not None
        erp = erp_port(systems, ctx.step.system)
        drafts = self._drafts(ctx)
        postings = await erp.post_time(drafts, idempotency_key=ctx.idempotency_key)
        return {
            "postings": [
                {"id": p.id, "time_entry_id": p.time_entry_id, "psa": d.time_entry.system, "hours": p.hours}
                for p, d in zip(postings, drafts, strict=True)
            ]
        }

    async def compensate(self, systems: Systems, ctx: StepContext, result: dict[str, Any] | None) -> None:
        assert ctx.step.system is not None
        erp = systems.system(ctx.step.system).client
        if not isinstance(erp, UndoesTimePostings):
            raise RuntimeError(f"ERP system {ctx.step.system} cannot delete time postings")
        entries = [d.time_entry for d in self._drafts(ctx)]
        await erp.delete_time_postings(entries, idempotency_key=f"{ctx.idempotency_key}/undo")

    def written(self, step: PlannedStep, result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        assert step.system is not None
        return [(step.system, Entity.TIME_POSTING.value, p["id"]) for p in result.get("postings", [])]

    def summarize(self, data: PostApprovedTimeInput, results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        postings = [p for r in results.values() for p in r.get("postings", [])]
        return {
            "engagement_code": data.engagement_code,
            "posted": len(postings),
            "hours": round(sum(p["hours"] for p in postings), 2),
            "postings": postings,
        }


POST_APPROVED_TIME = register(PostApprovedTime())
