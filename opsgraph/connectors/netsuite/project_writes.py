"""NetSuite writes of the ERP port used by convertOpportunity and applyChangeRequest: the customer, the
job, undoing the job, and its contract value.

`NetSuiteProjectWrites` is a mixin of `NetSuiteClient`, like `writes.NetSuiteWrites`. Every write is
an upsert on an external id (`PUT record/v1/<type>/eid:<id>`), so a repeat updates what the first
made: the customer's external id is the CRM client's id, the job's the opportunity's id (or its
code, without one). NetSuite refuses a second job with the same `entityId` (the engagement code)
with a 400 USER_ERROR (`SourceRejected`).
"""

from __future__ import annotations

from typing import Any

from opsgraph.connectors.errors import SourceDataError, SourceRejected
from opsgraph.connectors.netsuite.host import NetSuiteHost
from opsgraph.connectors.netsuite.mapping import BILLING_MODEL_LABELS
from opsgraph.model import ErpCustomer, ErpJob, Money
from opsgraph.roles.drafts import CustomerDraft, JobDraft


async def _currency_id(host: NetSuiteHost, code: str) -> str:
    by_code = {symbol: cid for cid, symbol in (await host.currencies()).items()}
    if code not in by_code:
        raise SourceRejected(host.system, f"the ERP has no currency {code}")
    return by_code[code]


def job_external_id(draft: JobDraft) -> str:
    """The opportunity's id (the join key of ARCHITECTURE section 3), else the engagement code."""
    return draft.opportunity.id if draft.opportunity is not None else draft.code


class NetSuiteProjectWrites:
    async def upsert_customer(
        self: NetSuiteHost, draft: CustomerDraft, *, idempotency_key: str
    ) -> ErpCustomer:
        """Create or update the customer whose external id is the CRM client's id."""
        fields = {
            "companyName": draft.name,
            "custentity_legal_entity": draft.legal_entity,
            "currency": {"id": await _currency_id(self, draft.currency)},
        }
        rid = await self.upsert("customer", draft.client.id, fields)
        found = (await self.customers_by_ids([rid])).get(rid)
        if found is None:
            raise SourceDataError(self.system, f"customer {rid} written but not found")
        return found

    async def create_job(self: NetSuiteHost, draft: JobDraft, *, idempotency_key: str) -> ErpJob:
        """Open the job (upserted on its external id: a repeat answers the same job)."""
        fields: dict[str, Any] = {
            "entityId": draft.code,
            "companyName": draft.name,
            "parent": {"id": draft.customer_id},
            "custentity_billing_model": BILLING_MODEL_LABELS[draft.billing_model],
            "isInactive": False,
        }
        if draft.contract_value is not None:
            fields["custentity_contract_value"] = float(draft.contract_value.amount)
            fields["currency"] = {"id": await _currency_id(self, draft.contract_value.currency)}
        if draft.practice:
            fields["custentity_practice"] = draft.practice
        if draft.start_date:
            fields["startDate"] = draft.start_date.isoformat()
        if draft.end_date:
            fields["projectedEndDate"] = draft.end_date.isoformat()
        rid = await self.upsert("job", job_external_id(draft), fields)
        found = (await self.jobs_by_ids([rid])).get(rid)
        if found is None:
            raise SourceDataError(self.system, f"job {rid} written but not found")
        return found

    async def deactivate_job(self: NetSuiteHost, job_id: str, *, idempotency_key: str) -> None:
        """Mark the job inactive (absolute: safe to repeat; a job that is gone is left so)."""
        try:
            await self.request(
                "PATCH",
                f"record/v1/job/{job_id}",
                json={"isInactive": True},
                headers={"X-NetSuite-PropertyNameValidation": "error"},
                retry=True,
                ok=(204,),
            )
        except SourceRejected as exc:
            if exc.status != 404:
                raise

    async def set_job_contract_value(
        self: NetSuiteHost, job_id: str, contract_value: Money, *, idempotency_key: str
    ) -> ErpJob:
        """Apply a change request's contract value, in its currency (absolute: safe to repeat)."""
        fields = {
            "custentity_contract_value": float(contract_value.amount),
            "currency": {"id": await _currency_id(self, contract_value.currency)},
        }
        await self.request(
            "PATCH",
            f"record/v1/job/{job_id}",
            json=fields,
            headers={"X-NetSuite-PropertyNameValidation": "error"},
            retry=True,
            ok=(204,),
        )
        found = (await self.jobs_by_ids([job_id])).get(job_id)
        if found is None:
            raise SourceDataError(self.system, f"job {job_id} written but not found")
        return found
