"""`applyChangeRequest`: an engagement's new budget hours and/or contract value, with a reason ->
the CRM opportunity's amount, the PSA project's budget and the ERP job's contract value.

Validation (before any write): the engagement is known to a PSA and active; a new contract value
needs the engagement's ERP job, active, and is in the job's currency; a capped engagement's hours
follow its cap (change the contract value instead); and the request changes something. The
opportunity carrying the engagement code (in any CRM) gets the amount when there is one.

The plan records each system's value before the change (the PSA's contract value is the ERP
job's, the canonical one), and each step writes absolutely (a repeat writes the same values).
Compensation restores the value recorded before; it reads first and leaves a value that is already
back (a step that failed before writing writes nothing when undone). The reason and the correlation
id stay on the workflow record; every write carries the correlation id in its header.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsgraph.model import BillingModel, Engagement, ErpJob, Money, Opportunity, Role
from opsgraph.roles.base import Entity
from opsgraph.roles.drafts import BudgetChange
from opsgraph.workflows.kinds import PlannedStep, StepContext, Systems, WorkflowKind, crm, erp, psa, register
from opsgraph.workflows.records import UserError


class ChangeRequestInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    engagement_code: str = Field(min_length=1)
    budget_hours: float | None = Field(None, ge=0)
    contract_value: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    """The contract value's currency; default: the ERP job's."""
    reason: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _something(self) -> ChangeRequestInput:
        if self.budget_hours is None and self.contract_value is None:
            raise ValueError("a change request needs budget hours or a contract value")
        if not self.reason.strip():
            raise ValueError("a change request needs a reason")
        return self


class _Found(BaseModel):
    psa: str
    engagement: Engagement
    erp: str | None = None
    job: ErpJob | None = None
    crm: str | None = None
    opportunity: Opportunity | None = None
    value: Money | None = None


def _error(field: str, message: str, code: str) -> UserError:
    return UserError(field=(field,), message=message, code=code)


async def _find(systems: Systems, data: ChangeRequestInput) -> tuple[_Found | None, list[UserError]]:
    code = data.engagement_code
    found: _Found | None = None
    for s in systems.of_role(Role.PSA):
        engagement = (await psa(systems, s.name).engagements_by_codes([code])).get(code)
        if engagement is not None:
            found = _Found(psa=s.name, engagement=engagement)
            break
    if found is None:
        return None, [_error("engagementCode", f"no PSA has engagement {code}", "NOT_FOUND")]
    errors = []
    if not found.engagement.is_active:
        errors.append(_error("engagementCode", f"engagement {code} is not active", "ENGAGEMENT_INACTIVE"))
    for s in systems.of_role(Role.ERP):
        job = (await erp(systems, s.name).jobs_by_codes([code])).get(code)
        if job is not None:
            found.erp, found.job = s.name, job
            break
    for s in systems.of_role(Role.CRM):
        opportunity = (await crm(systems, s.name).opportunities_by_engagement_codes([code])).get(code)
        if opportunity is not None:
            found.crm, found.opportunity = s.name, opportunity
            break
    model = found.engagement.billing_model
    if data.budget_hours is not None and model is BillingModel.CAPPED:
        message = f"{code} is capped: its hours follow the cap, change the contract value"
        errors.append(_error("budgetHours", message, "DERIVED_BUDGET"))
    if data.contract_value is not None:
        job = found.job
        if job is None:
            errors.append(_error("contractValue", f"no ERP has a job for {code}", "NOT_FOUND"))
        else:
            if job.is_inactive:
                errors.append(_error("contractValue", f"the ERP job of {code} is inactive", "INACTIVE"))
            currency = job.contract_value.currency if job.contract_value is not None else data.currency
            currency = currency or "USD"
            if data.currency is not None and data.currency != currency:
                message = f"the contract of {code} is in {currency}, not {data.currency}"
                errors.append(_error("currency", message, "CURRENCY_MISMATCH"))
            found.value = Money(amount=data.contract_value, currency=currency)
    if not errors and _unchanged(found, data):
        errors.append(_error("engagementCode", f"{code} has these values already", "NO_CHANGE"))
    return (None, errors) if errors else (found, [])


def _unchanged(found: _Found, data: ChangeRequestInput) -> bool:
    same_hours = data.budget_hours is None or data.budget_hours == found.engagement.budget_hours
    current = found.job.contract_value if found.job is not None else None
    same_value = found.value is None or (current is not None and current.amount == found.value.amount)
    return same_hours and same_value


def _money(value: Money | None) -> dict[str, Any] | None:
    return None if value is None else value.model_dump(mode="json")


def _same(value: Money | None, raw: dict[str, Any] | None) -> bool:
    if value is None or raw is None:
        return value is None and raw is None
    other = Money.model_validate(raw)
    return (value.amount, value.currency) == (other.amount, other.currency)


class ApplyChangeRequest(WorkflowKind[ChangeRequestInput]):
    name = "applyChangeRequest"
    input_model = ChangeRequestInput

    async def validate(self, systems: Systems, data: ChangeRequestInput) -> list[UserError]:
        return (await _find(systems, data))[1]

    async def plan(self, systems: Systems, data: ChangeRequestInput, workflow_id: str) -> list[PlannedStep]:
        found, errors = await _find(systems, data)
        if found is None:
            raise ValueError("; ".join(e.message for e in errors))
        engagement, job, value = found.engagement, found.job, found.value
        steps = []
        if value is not None and found.crm is not None and found.opportunity is not None:
            held = found.opportunity.amount
            amount = Money(amount=value.amount, currency=held.currency if held else value.currency)
            steps.append(
                PlannedStep(
                    name="crm-amount",
                    system=found.crm,
                    action="set_opportunity_amount",
                    args={
                        "opportunity_id": found.opportunity.id,
                        "value": _money(amount),
                        "previous": _money(held),
                    },
                )
            )
        fee = engagement.billing_model is not BillingModel.TIME_AND_MATERIALS
        change = BudgetChange(budget_hours=data.budget_hours, contract_value=value if fee else None)
        if change.budget_hours is not None or change.contract_value is not None:
            previous = BudgetChange(
                budget_hours=engagement.budget_hours if data.budget_hours is not None else None,
                contract_value=job.contract_value if fee and job is not None and value is not None else None,
            )
            steps.append(
                PlannedStep(
                    name="psa-budget",
                    system=found.psa,
                    action="set_engagement_budget",
                    args={
                        "engagement_id": engagement.id,
                        "value": change.model_dump(mode="json"),
                        "previous": previous.model_dump(mode="json"),
                    },
                )
            )
        if value is not None and found.erp is not None and job is not None:
            steps.append(
                PlannedStep(
                    name="erp-contract",
                    system=found.erp,
                    action="set_job_contract_value",
                    args={"job_id": job.id, "value": _money(value), "previous": _money(job.contract_value)},
                )
            )
        return steps

    async def _write(self, systems: Systems, step: PlannedStep, which: str, key: str) -> dict[str, Any]:
        """Write the step's `value` or `previous` (None: nothing to write)."""
        assert step.system is not None
        raw = step.args[which]
        if raw is None:
            return {}
        if step.action == "set_opportunity_amount":
            opportunity_id = step.args["opportunity_id"]
            port = crm(systems, step.system)
            await port.set_opportunity_amount(opportunity_id, Money.model_validate(raw), idempotency_key=key)
            return {"opportunity_id": opportunity_id}
        if step.action == "set_engagement_budget":
            engagement_id = step.args["engagement_id"]
            await psa(systems, step.system).set_engagement_budget(
                engagement_id, BudgetChange.model_validate(raw), idempotency_key=key
            )
            return {"engagement_id": engagement_id}
        job = await erp(systems, step.system).set_job_contract_value(
            step.args["job_id"], Money.model_validate(raw), idempotency_key=key
        )
        return {"job_id": job.id}

    async def execute(
        self, systems: Systems, ctx: StepContext, done: Mapping[str, dict[str, Any]]
    ) -> dict[str, Any]:
        return await self._write(systems, ctx.step, "value", ctx.idempotency_key)

    async def compensate(self, systems: Systems, ctx: StepContext, result: dict[str, Any] | None) -> None:
        step = ctx.step
        assert step.system is not None
        if not await self._restored(systems, step):
            await self._write(systems, step, "previous", f"{ctx.idempotency_key}/undo")

    @staticmethod
    async def _restored(systems: Systems, step: PlannedStep) -> bool:
        """Whether the system holds the value from before already (read before an undo writes)."""
        assert step.system is not None
        previous = step.args["previous"]
        if step.action == "set_opportunity_amount":
            opportunity_id = step.args["opportunity_id"]
            opportunities = await crm(systems, step.system).opportunities_by_ids([opportunity_id])
            found = opportunities.get(opportunity_id)
            return found is not None and _same(found.amount, previous)
        if step.action == "set_job_contract_value":
            job_id = step.args["job_id"]
            job = (await erp(systems, step.system).jobs_by_ids([job_id])).get(job_id)
            return job is not None and _same(job.contract_value, previous)
        return False  # the PSA's fee is not read back: restore it absolutely

    def written(self, step: PlannedStep, result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        assert step.system is not None
        ids = {
            "opportunity_id": Entity.OPPORTUNITY,
            "engagement_id": Entity.ENGAGEMENT,
            "job_id": Entity.JOB,
        }
        key = next((k for k in ids if k in step.args), None)
        return [] if key is None else [(step.system, ids[key].value, str(step.args[key]))]

    def summarize(self, data: ChangeRequestInput, results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            "engagement_code": data.engagement_code,
            "budget_hours": data.budget_hours,
            "contract_value": None if data.contract_value is None else str(data.contract_value),
            "reason": data.reason,
            "written": sorted(results),
        }


APPLY_CHANGE_REQUEST = register(ApplyChangeRequest())
