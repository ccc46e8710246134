"""`prepareInvoice`: an engagement's billing period -> ERP invoice -> PSA entries marked billed.

Validation is the invoice readiness view itself (`Views.readiness` for the period: one rule set for
the graph and the mutation), each blocker a user error, plus: the period has ended, and no ERP
invoice exists for this engagement and period. A capped contract that the invoice would take past
its cap is no user error: the workflow starts and parks at `finance-review` (`NeedsReview`), to be
replayed once the cap is raised or resolved by hand.

The ERP invoice carries the approved, unbilled billable time up to the period's end (time and
materials: one line per bill rate) or the period's fixed-fee instalment, and is upserted on an
external id derived from the engagement and the period; the PSA marks the entries it counts billed
(check before write). The ERP and PSA are those owning the engagement (its job's ERP, its PSA).
Compensation deletes the invoice; marking entries billed is the last step, so nothing after it
needs undoing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsgraph.model import BillingModel, Engagement, ErpJob, Money, SourceRef, TimeEntry, record_key
from opsgraph.resolvers.loaders import Loaders
from opsgraph.resolvers.sources import Sources
from opsgraph.resolvers.views.readiness import Readiness, cap_exceeded, readiness_window
from opsgraph.resolvers.views.service import Views
from opsgraph.roles.base import Entity
from opsgraph.roles.drafts import InvoiceDraft, InvoiceLineDraft
from opsgraph.workflows.kinds import PlannedStep, StepContext, Systems, WorkflowKind, erp, psa, register
from opsgraph.workflows.records import NeedsReview, UserError

PAYMENT_DAYS = 30
CAP = "CAP_EXCEEDED"


class PrepareInvoiceInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    engagement_code: str = Field(min_length=1)
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> PrepareInvoiceInput:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def external_id(self) -> str:
        """The ERP invoice's external id: one invoice per engagement and period, whatever the retries."""
        return f"OG-{self.engagement_code}-{self.start:%Y%m%d}-{self.end:%Y%m%d}"


def _sources(systems: Systems) -> Sources:
    if not isinstance(systems, Sources):
        raise TypeError("prepareInvoice reads readiness through the gateway's Sources")
    return systems


class _Check:
    """Readiness of one engagement and period, read through loaders of its own (no cache)."""

    def __init__(self, systems: Systems) -> None:
        sources = _sources(systems)
        self.loaders = Loaders(sources)
        self.views = Views(self.loaders, sources.clock)

    @property
    def today(self) -> date:
        return self.views.today

    async def engagement(self, code: str) -> Engagement | None:
        return (await self.loaders.engagement_by_code()).get(code)

    async def readiness(self, engagement: Engagement, data: PrepareInvoiceInput) -> Readiness:
        return await self.views.readiness(engagement, (data.start, data.end))

    async def job(self, engagement: Engagement) -> ErpJob | None:
        return await self.loaders.job_by_code.load(engagement.code)

    async def invoiced(self, job: ErpJob, external_id: str) -> bool:
        return any(i.psa_invoice_id == external_id for i in await self.loaders.invoices_by_job.load(job.key))

    async def entries(self, engagement: Engagement, r: Readiness) -> list[TimeEntry]:
        """The entries readiness counted, from the view's own read (no second request)."""
        start, end = readiness_window(self.today, (r.period_start, r.period_end))
        listed = await self.loaders.time_entries.load((engagement.key, start, end, False))
        wanted = set(r.billed_entries)
        return sorted((e for e in listed if e.key in wanted), key=lambda e: (e.date, e.id))


def _error(field: str, message: str, code: str) -> UserError:
    return UserError(field=(field,), message=message, code=code)


async def _validate(
    systems: Systems, data: PrepareInvoiceInput
) -> tuple[_Check, Engagement | None, Readiness | None, list[UserError]]:
    check = _Check(systems)
    engagement = await check.engagement(data.engagement_code)
    if engagement is None:
        message = f"no PSA has engagement {data.engagement_code}"
        return check, None, None, [_error("engagementCode", message, "NOT_FOUND")]
    errors = []
    if data.end >= check.today:
        errors.append(
            _error("end", f"the billing period ends {data.end}, not before today", "PERIOD_NOT_ENDED")
        )
    readiness = await check.readiness(engagement, data)
    errors += [_error("engagementCode", b.message, b.code) for b in readiness.blockers if b.code != CAP]
    job = await check.job(engagement)
    if job is not None and await check.invoiced(job, data.external_id):
        message = f"{job.system} has an invoice for {data.engagement_code} {data.start}..{data.end} already"
        errors.append(_error("engagementCode", message, "ALREADY_INVOICED"))
    return check, engagement, readiness, errors


def _lines(model: BillingModel, r: Readiness, entries: list[TimeEntry], label: str) -> list[InvoiceLineDraft]:
    currency = r.amount.currency
    if model is BillingModel.FIXED_FEE:
        rate = Money.of(r.amount.amount, currency)
        return [InvoiceLineDraft(description=f"{label}: fixed fee instalment", quantity=1.0, rate=rate)]
    hours: dict[Decimal, float] = defaultdict(float)
    for e in entries:
        if e.bill_rate is not None and e.currency == currency:
            hours[e.bill_rate] += e.hours
    return [
        InvoiceLineDraft(
            description=f"{label}: time at {rate} {currency}/h",
            quantity=round(h, 2),
            rate=Money(amount=rate, currency=currency),
        )
        for rate, h in sorted(hours.items())
    ]


class PrepareInvoice(WorkflowKind[PrepareInvoiceInput]):
    name = "prepareInvoice"
    input_model = PrepareInvoiceInput

    async def validate(self, systems: Systems, data: PrepareInvoiceInput) -> list[UserError]:
        return (await _validate(systems, data))[3]

    async def plan(self, systems: Systems, data: PrepareInvoiceInput, workflow_id: str) -> list[PlannedStep]:
        check, engagement, r, errors = await _validate(systems, data)
        job = None if engagement is None else await check.job(engagement)
        if errors or engagement is None or r is None or job is None:
            raise ValueError("; ".join(e.message for e in errors) or "not ready to invoice")
        model = job.billing_model or engagement.billing_model
        entries = await check.entries(engagement, r)
        label = f"{engagement.code} {data.start}..{data.end}"
        draft = InvoiceDraft(
            external_id=data.external_id,
            customer_id=job.customer_id,
            job_id=job.id,
            issue_date=check.today,
            due_date=check.today + timedelta(days=PAYMENT_DAYS),
            currency=r.amount.currency,
            lines=tuple(_lines(model, r, entries, label)),
            time_entries=tuple(systems_ref(systems, e.system, e.id) for e in entries),
            memo=label,
        )
        steps = []
        if model is BillingModel.CAPPED:
            args = {"engagement_code": engagement.code, "amount": str(r.amount.amount)}
            steps.append(PlannedStep(name="finance-review", action="check_cap", args=args))
        steps.append(
            PlannedStep(
                name="erp-invoice",
                system=job.system,
                action="create_invoice",
                args={"invoice": draft.model_dump(mode="json")},
            )
        )
        if entries:
            steps.append(
                PlannedStep(
                    name="psa-billed",
                    system=engagement.system,
                    action="mark_billed",
                    args={"entry_ids": [e.id for e in entries], "erp": job.system},
                )
            )
        return steps

    async def execute(
        self, systems: Systems, ctx: StepContext, done: Mapping[str, dict[str, Any]]
    ) -> dict[str, Any]:
        step, key = ctx.step, ctx.idempotency_key
        if step.action == "check_cap":
            await _check_cap(systems, step.args["engagement_code"], Decimal(step.args["amount"]))
            return {}
        assert step.system is not None
        if step.action == "create_invoice":
            args = step.args["invoice"]
            memo = f"{args.get('memo') or ''} [correlation {ctx.correlation_id}]".strip()
            draft = InvoiceDraft.model_validate({**args, "memo": memo})
            invoice = await erp(systems, step.system).create_invoice(draft, idempotency_key=key)
            return {
                "invoice_key": invoice.key,
                "invoice_id": invoice.id,
                "number": invoice.number,
                "amount": str(invoice.total.amount),
                "currency": invoice.total.currency,
            }
        invoice_ref = systems_ref(systems, step.args["erp"], done["erp-invoice"]["invoice_id"])
        entry_ids = list(step.args["entry_ids"])
        await psa(systems, step.system).mark_time_entries_billed(entry_ids, invoice_ref, idempotency_key=key)
        return {"entry_ids": entry_ids, "time_entry_keys": [record_key(step.system, i) for i in entry_ids]}

    async def compensate(self, systems: Systems, ctx: StepContext, result: dict[str, Any] | None) -> None:
        step = ctx.step
        if step.action != "create_invoice":
            return
        assert step.system is not None
        port = erp(systems, step.system)
        invoice_id = (result or {}).get("invoice_id")
        if invoice_id is None:  # failed part way: the invoice is there if the ERP made it
            args = step.args["invoice"]
            invoices = (await port.invoices_by_job_ids([args["job_id"]])).get(args["job_id"], [])
            made = [i for i in invoices if i.psa_invoice_id == args["external_id"]]
            invoice_id = made[0].id if made else None
        if invoice_id is not None:
            await port.delete_invoice(invoice_id, idempotency_key=f"{ctx.idempotency_key}/undo")

    def written(self, step: PlannedStep, result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        if step.system is None:
            return []
        out = (
            [(step.system, Entity.INVOICE.value, str(result["invoice_id"]))] if "invoice_id" in result else []
        )
        out += [(step.system, Entity.TIME_ENTRY.value, str(i)) for i in result.get("entry_ids", [])]
        return out

    def summarize(self, data: PrepareInvoiceInput, results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        invoice = results.get("erp-invoice", {})
        keys = results.get("psa-billed", {}).get("time_entry_keys", [])
        return {
            "engagement_code": data.engagement_code,
            "invoice_key": invoice.get("invoice_key"),
            "number": invoice.get("number"),
            "amount": invoice.get("amount"),
            "currency": invoice.get("currency"),
            "billed": len(keys),
            "time_entry_keys": keys,
        }


def systems_ref(systems: Systems, system: str, record_id: str) -> SourceRef:
    return _sources(systems).ref(system, record_id)


async def _check_cap(systems: Systems, code: str, amount: Decimal) -> None:
    """Park for finance review while the invoice would take the capped contract past its cap."""
    check = _Check(systems)
    engagement = await check.engagement(code)
    job = None if engagement is None else await check.job(engagement)
    if engagement is None or job is None:
        raise NeedsReview(f"{code}: the engagement or its ERP job is gone")
    contract = job.contract_value.amount if job.contract_value else None
    model = job.billing_model or engagement.billing_model
    over = cap_exceeded(model, contract, await check.views.billed_to_date(job), amount, job.system)
    if over is not None:
        raise NeedsReview(f"{over.code}: {over.message}")


PREPARE_INVOICE = register(PrepareInvoice())
