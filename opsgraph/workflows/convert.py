"""`convertOpportunity`: a closed-won CRM opportunity -> ERP customer and job -> PSA project and its
people -> the engagement code written back to the CRM.

Validation (before any write): the opportunity exists and is won, it has no engagement code yet, the
code is used by no PSA project and no ERP job, the client has a legal entity, the opportunity a
billing model (and an amount unless time and materials), and each person is an active PSA user.
The ERP and PSA written to are those owning the client's region (else the role's unscoped system).

Each write is idempotent by itself: the customer and the job are upserted on external ids (the CRM
client's and the opportunity's), the project is looked up by code before it is made, a person
already assigned is left as is, the code is written absolutely. Compensation deactivates the job and
archives the project (a customer is left: others may use it); the code goes back last, so nothing
after it needs undoing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from opsgraph.model import BillingModel, Client, Opportunity, Role, SourceRef, split_key
from opsgraph.roles.base import Entity
from opsgraph.roles.drafts import AssignmentDraft, CustomerDraft, EngagementDraft, JobDraft
from opsgraph.workflows.kinds import (
    PlannedStep,
    StepContext,
    SystemEntry,
    Systems,
    WorkflowKind,
    crm,
    erp,
    psa,
    register,
)
from opsgraph.workflows.records import UserError

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


@runtime_checkable
class OpensInSteps(Protocol):
    """A PSA whose `create_engagement` is several writes (Kantata: the workspace, then its code): one
    that failed between them leaves an engagement no code finds, which this answers by the key."""

    async def engagement_opened(self, *, idempotency_key: str) -> str | None: ...


class PersonInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str = Field(min_length=3)
    hourly_rate: Decimal | None = Field(None, ge=0)
    budget_hours: float | None = Field(None, ge=0)


class ConvertOpportunityInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    opportunity: str = Field(min_length=3)
    """The opportunity's canonical key, `<crm system>:<id>`."""
    engagement_code: str = Field(pattern=CODE_PATTERN)
    engagement_name: str | None = Field(None, min_length=1)
    budget_hours: float | None = Field(None, ge=0)
    hourly_rate: Decimal | None = Field(None, ge=0)
    start_date: date | None = None
    end_date: date | None = None
    people: tuple[PersonInput, ...] = ()


class _Found(BaseModel):
    crm: str
    opportunity: Opportunity
    client: Client
    erp: str
    psa: str
    user_ids: dict[str, str]


def _owner(systems: Systems, role: Role, region: str | None) -> SystemEntry | None:
    """The role's system owning `region` (a system's `scope`), else its unscoped one, else its first."""
    candidates = list(systems.of_role(role))
    wanted = (region or "").casefold()
    for s in candidates:
        scope = getattr(s, "scope", None)
        if scope and wanted in {v.casefold() for v in scope}:
            return s
    unscoped = [s for s in candidates if getattr(s, "scope", None) is None]
    pick = unscoped or candidates
    return pick[0] if pick else None


async def _books_of(systems: Systems, client: Client | None) -> SystemEntry | None:
    """The ERP system that already keeps the client's customer (the legal entity booking it), if any:
    with one ERP per legal entity, a client's engagements go to the books that hold its account."""
    candidates = list(systems.of_role(Role.ERP))
    if client is None or len(candidates) < 2:
        return None
    for s in candidates:
        if client.id in await erp(systems, s.name).customers_by_client_ids([client.id]):
            return s
    return None


def _error(field: str, message: str, code: str) -> UserError:
    return UserError(field=(field,), message=message, code=code)


async def _find(systems: Systems, data: ConvertOpportunityInput) -> tuple[_Found | None, list[UserError]]:
    try:
        crm_name, opp_id = split_key(data.opportunity)
        crm_system = systems.system(crm_name)
    except (ValueError, KeyError):
        crm_system, opp_id = None, ""
    if crm_system is None or crm_system.role is not Role.CRM:
        return None, [_error("opportunity", f"no CRM opportunity {data.opportunity}", "NOT_FOUND")]
    port = crm(systems, crm_system.name)
    opp = (await port.opportunities_by_ids([opp_id])).get(opp_id)
    if opp is None:
        return None, [_error("opportunity", f"no CRM opportunity {data.opportunity}", "NOT_FOUND")]
    client = (await port.clients_by_ids([opp.client_id])).get(opp.client_id)
    errors = []
    if not opp.is_won:
        errors.append(_error("opportunity", f"opportunity {opp.name} is not closed-won", "NOT_WON"))
    if opp.engagement_code:
        message = f"opportunity {opp.name} was converted already ({opp.engagement_code})"
        errors.append(_error("opportunity", message, "ALREADY_CONVERTED"))
    if opp.billing_model is None:
        errors.append(_error("opportunity", "the opportunity has no billing model", "NO_BILLING_MODEL"))
    elif opp.billing_model is not BillingModel.TIME_AND_MATERIALS and opp.amount is None:
        errors.append(_error("opportunity", "a fixed or capped fee needs the amount", "NO_CONTRACT_VALUE"))
    if client is None or not client.legal_entity:
        errors.append(_error("opportunity", "the client has no legal entity", "NO_LEGAL_ENTITY"))
    region = client.region if client is not None else None
    erp_system = await _books_of(systems, client) or _owner(systems, Role.ERP, region)
    psa_system = _owner(systems, Role.PSA, region)
    if erp_system is None or psa_system is None:
        errors.append(_error("opportunity", "no ERP or PSA system owns the client's region", "NO_SYSTEM"))
        return None, errors
    code, code_field = data.engagement_code, "engagementCode"
    for s in systems.of_role(Role.PSA):
        if code in await psa(systems, s.name).engagements_by_codes([code]):
            errors.append(_error(code_field, f"{s.name} has a project {code} already", "CODE_TAKEN"))
    for s in systems.of_role(Role.ERP):
        if code in await erp(systems, s.name).jobs_by_codes([code]):
            errors.append(_error(code_field, f"{s.name} has a job {code} already", "CODE_TAKEN"))
    users = {u.email.lower(): u for u in await psa(systems, psa_system.name).list_users()}
    user_ids = {}
    for n, person in enumerate(data.people):
        user = users.get(person.email.lower())
        if user is None or not user.is_active:
            errors.append(
                UserError(
                    field=("people", str(n), "email"),
                    message=f"{person.email} is no active user of {psa_system.name}",
                    code="UNKNOWN_PERSON",
                )
            )
        else:
            user_ids[person.email.lower()] = user.id
    if errors or client is None:
        return None, errors
    found = _Found(
        crm=crm_system.name,
        opportunity=opp,
        client=client,
        erp=erp_system.name,
        psa=psa_system.name,
        user_ids=user_ids,
    )
    return found, []


def _ref(systems: Systems, system: str, record_id: str) -> dict[str, Any]:
    s = systems.system(system)
    return SourceRef(system=s.name, role=s.role, vendor=s.vendor, id=record_id).model_dump(mode="json")


class ConvertOpportunity(WorkflowKind[ConvertOpportunityInput]):
    name = "convertOpportunity"
    input_model = ConvertOpportunityInput

    async def validate(self, systems: Systems, data: ConvertOpportunityInput) -> list[UserError]:
        return (await _find(systems, data))[1]

    async def plan(
        self, systems: Systems, data: ConvertOpportunityInput, workflow_id: str
    ) -> list[PlannedStep]:
        found, errors = await _find(systems, data)
        if found is None:
            raise ValueError("; ".join(e.message for e in errors))
        opp, client = found.opportunity, found.client
        client_ref = _ref(systems, found.crm, client.id)
        opp_ref = _ref(systems, found.crm, opp.id)
        name = data.engagement_name or opp.name
        value = None if opp.amount is None else opp.amount.model_dump(mode="json")
        customer = CustomerDraft.model_validate(
            {
                "client": client_ref,
                "name": client.name,
                "legal_entity": client.legal_entity,
                "currency": client.currency,
            }
        )
        dates = {"start_date": data.start_date, "end_date": data.end_date}
        job = {
            "code": data.engagement_code,
            "name": name,
            "opportunity": opp_ref,
            "billing_model": opp.billing_model,
            "contract_value": value,
            "practice": opp.practice,
            **dates,
        }
        engagement = EngagementDraft.model_validate(
            {
                "code": data.engagement_code,
                "name": name,
                "client": client_ref,
                "client_name": client.name,
                "opportunity": opp_ref,
                "billing_model": opp.billing_model,
                "hourly_rate": data.hourly_rate,
                "budget_hours": data.budget_hours,
                "contract_value": value,
                **dates,
            }
        )
        people = [
            AssignmentDraft(
                user_id=found.user_ids[p.email.lower()],
                hourly_rate=p.hourly_rate,
                budget_hours=p.budget_hours,
            ).model_dump(mode="json")
            for p in data.people
        ]
        steps = [
            PlannedStep(
                name="erp-customer", system=found.erp, action="upsert_customer", args=_json(customer)
            ),
            PlannedStep(name="erp-job", system=found.erp, action="create_job", args={"job": _plain(job)}),
            PlannedStep(
                name="psa-engagement", system=found.psa, action="create_engagement", args=_json(engagement)
            ),
        ]
        if people:
            steps.append(
                PlannedStep(name="psa-assign", system=found.psa, action="assign", args={"people": people})
            )
        steps.append(
            PlannedStep(
                name="crm-code",
                system=found.crm,
                action="set_engagement_code",
                args={"opportunity_id": opp.id, "code": data.engagement_code},
            )
        )
        return steps

    async def execute(
        self, systems: Systems, ctx: StepContext, done: Mapping[str, dict[str, Any]]
    ) -> dict[str, Any]:
        step, key = ctx.step, ctx.idempotency_key
        assert step.system is not None
        if step.action == "upsert_customer":
            customer = await erp(systems, step.system).upsert_customer(
                CustomerDraft.model_validate(step.args), idempotency_key=key
            )
            return {"customer_id": customer.id}
        if step.action == "create_job":
            draft = JobDraft.model_validate(
                {**step.args["job"], "customer_id": done["erp-customer"]["customer_id"]}
            )
            job = await erp(systems, step.system).create_job(draft, idempotency_key=key)
            return {"job_id": job.id}
        if step.action == "create_engagement":
            engagement = await psa(systems, step.system).create_engagement(
                EngagementDraft.model_validate(step.args), idempotency_key=key
            )
            return {"engagement_id": engagement.id}
        if step.action == "assign":
            drafts = [AssignmentDraft.model_validate(p) for p in step.args["people"]]
            engagement_id = done["psa-engagement"]["engagement_id"]
            made = await psa(systems, step.system).assign(engagement_id, drafts, idempotency_key=key)
            return {"engagement_id": engagement_id, "assignment_ids": [a.id for a in made]}
        await crm(systems, step.system).set_engagement_code(
            step.args["opportunity_id"], step.args["code"], idempotency_key=key
        )
        return {"opportunity_id": step.args["opportunity_id"]}

    async def compensate(self, systems: Systems, ctx: StepContext, result: dict[str, Any] | None) -> None:
        step, key = ctx.step, f"{ctx.idempotency_key}/undo"
        assert step.system is not None
        if step.action == "create_job":
            job_id = (result or {}).get("job_id")
            if job_id is None:  # failed part way: the job is there if the ERP made it
                code = step.args["job"]["code"]
                found = (await erp(systems, step.system).jobs_by_codes([code])).get(code)
                job_id = None if found is None else found.id
            if job_id is not None:
                await erp(systems, step.system).deactivate_job(job_id, idempotency_key=key)
        elif step.action == "create_engagement":
            engagement_id = (result or {}).get("engagement_id")
            if engagement_id is None:  # failed part way: the engagement is there if the PSA made it
                code = step.args["code"]
                project = (await psa(systems, step.system).engagements_by_codes([code])).get(code)
                engagement_id = None if project is None else project.id
            client = systems.system(step.system).client
            if engagement_id is None and isinstance(client, OpensInSteps):
                engagement_id = await client.engagement_opened(idempotency_key=ctx.idempotency_key)
            if engagement_id is not None:
                await psa(systems, step.system).archive_engagement(engagement_id, idempotency_key=key)

    def written(self, step: PlannedStep, result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        assert step.system is not None
        ids = {
            "customer_id": Entity.CUSTOMER,
            "job_id": Entity.JOB,
            "engagement_id": Entity.ENGAGEMENT,
            "opportunity_id": Entity.OPPORTUNITY,
        }
        out = [(step.system, entity.value, str(result[k])) for k, entity in ids.items() if k in result]
        out += [(step.system, Entity.ASSIGNMENT.value, str(i)) for i in result.get("assignment_ids", [])]
        return out

    def summarize(
        self, data: ConvertOpportunityInput, results: Mapping[str, dict[str, Any]]
    ) -> dict[str, Any]:
        merged: dict[str, Any] = {"engagement_code": data.engagement_code}
        for result in results.values():
            merged.update(result)
        return merged


def _json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON values only (a plan is checkpointed)."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        out[k] = v.isoformat() if isinstance(v, date) else v.value if isinstance(v, BillingModel) else v
    return out


CONVERT_OPPORTUNITY = register(ConvertOpportunity())
