"""Sage Intacct writes of the ERP port (convertOpportunity, applyChangeRequest, postApprovedTime,
prepareInvoice): `create`, `update` and `delete` functions of the XML gateway.

Idempotency: every record is found first by the key the vendor holds for it (a customer's
`CUSTOMERID` = the CRM client id, a project's `PROJECTID` = the engagement code, a time sheet
entry's `PSA_ENTRY_ID`, an invoice's `DOCNUMBER` = the draft's external id), and only created when
absent. The create itself goes with `uniqueid=true` and a control id derived from the idempotency
key: should its answer be lost and the step run again, the gateway refuses the repeat
(`DuplicateControl`) and the record is read back by its key. Nothing is written twice.

`IntacctWrites` is a mixin of `IntacctClient`; `_Host` names what it uses of the client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from opsgraph.connectors.errors import SourceDataError, SourceRejected
from opsgraph.connectors.intacct import mapping
from opsgraph.connectors.intacct.resources import EMPLOYEES, INVOICES, TIME_ENTRIES
from opsgraph.connectors.intacct.transport import IN_LIMIT, DuplicateControl, quote
from opsgraph.connectors.intacct.xmlwire import Record, Result, element
from opsgraph.connectors.netsuite.mapping import BILLING_MODEL_LABELS
from opsgraph.model import ErpCustomer, ErpJob, Invoice, Money, SourceRef, TimePosting
from opsgraph.roles.drafts import CustomerDraft, InvoiceDraft, JobDraft, TimePostingDraft

NOT_FOUND = "BL01001973"  # the record named by the function's key does not exist
REVENUE_ACCOUNT = "4000"
CENTS = Decimal("0.01")


class _Host(Protocol):
    @property
    def system(self) -> str: ...

    async def call(self, functions: Sequence[Any], *, write_key: str | None = None) -> list[Result]: ...

    def succeeded(self, result: Result) -> Result: ...

    async def query(self, obj: str, fields: Sequence[str], where: str) -> list[Record]: ...

    async def customers_by_ids(self, ids: Iterable[str]) -> Mapping[str, ErpCustomer]: ...

    async def customers_by_client_ids(self, client_ids: Iterable[str]) -> Mapping[str, ErpCustomer]: ...

    async def jobs_by_ids(self, ids: Iterable[str]) -> Mapping[str, ErpJob]: ...

    async def jobs_by_codes(self, codes: Iterable[str]) -> Mapping[str, ErpJob]: ...

    async def invoices_by_ids(self, ids: Iterable[str]) -> Mapping[str, Invoice]: ...


async def _write(host: _Host, function: Any, key: str) -> bool:
    """One write with `uniqueid=true`; False when the gateway says this control id was done before."""
    try:
        host.succeeded((await host.call([function], write_key=key))[0])
    except DuplicateControl:
        return False
    return True


def _one(found: Mapping[str, Any], key: str, what: str, host: _Host) -> Any:
    if key not in found:
        raise SourceDataError(host.system, f"{what} {key} written but not found")
    return found[key]


async def _update(host: _Host, obj: str, record_no: str, fields: Mapping[str, Any], key: str) -> bool:
    """Update a record by `RECORDNO` (absolute values: safe to repeat); False when it is gone."""
    try:
        await _write(host, element("update", {obj: {"RECORDNO": record_no, **fields}}), key)
    except SourceRejected as exc:
        if exc.vendor_code == NOT_FOUND:
            return False
        raise
    return True


async def _by_entry(host: _Host, entry_ids: Sequence[str]) -> dict[str, Record]:
    out: dict[str, Record] = {}
    for at in range(0, len(entry_ids), IN_LIMIT):
        chunk = ", ".join(quote(e) for e in entry_ids[at : at + IN_LIMIT])
        for r in await host.query(TIME_ENTRIES.name, TIME_ENTRIES.fields, f"PSA_ENTRY_ID IN ({chunk})"):
            out.setdefault(r.get("PSA_ENTRY_ID", ""), r)
    return out


class IntacctWrites:
    async def upsert_customer(self: _Host, draft: CustomerDraft, *, idempotency_key: str) -> ErpCustomer:
        """Create the customer whose `CUSTOMERID` is the CRM client's id, or update its name."""
        fields = {"NAME": draft.name, "LEGAL_ENTITY": draft.legal_entity}
        existing = (await self.customers_by_client_ids([draft.client.id])).get(draft.client.id)
        if existing is None:
            body = {"CUSTOMERID": draft.client.id, **fields, "CURRENCY": draft.currency}
            await _write(self, element("create", {"CUSTOMER": body}), f"{idempotency_key}:create")
            existing = _one(
                await self.customers_by_client_ids([draft.client.id]), draft.client.id, "customer", self
            )
        elif (existing.name, existing.legal_entity) != (draft.name, draft.legal_entity):
            await _update(self, "CUSTOMER", existing.id, fields, f"{idempotency_key}:update")
            existing = _one(await self.customers_by_ids([existing.id]), existing.id, "customer", self)
        result: ErpCustomer = existing
        return result

    async def create_job(self: _Host, draft: JobDraft, *, idempotency_key: str) -> ErpJob:
        """Open the project `PROJECTID` = the engagement code; one already there is answered."""
        existing = (await self.jobs_by_codes([draft.code])).get(draft.code)
        if existing is not None:
            if existing.customer_id != draft.customer_id:
                raise SourceRejected(self.system, f"project {draft.code} exists for another customer")
            return existing
        customer = _one(await self.customers_by_ids([draft.customer_id]), draft.customer_id, "customer", self)
        body: dict[str, Any] = {
            "PROJECTID": draft.code,
            "NAME": draft.name,
            "CUSTOMERID": customer.client_id,
            "STATUS": "active",
            "BILLING_MODEL": BILLING_MODEL_LABELS[draft.billing_model],
            "PRACTICE": draft.practice,
            "OPPORTUNITY_ID": draft.opportunity.id if draft.opportunity else None,
            "BEGINDATE": mapping.wire_date(draft.start_date) if draft.start_date else None,
            "ENDDATE": mapping.wire_date(draft.end_date) if draft.end_date else None,
            "CURRENCY": (draft.contract_value.currency if draft.contract_value else customer.currency),
            "CONTRACT_VALUE": str(draft.contract_value.amount) if draft.contract_value else None,
        }
        await _write(self, element("create", {"PROJECT": body}), f"{idempotency_key}:create")
        job: ErpJob = _one(await self.jobs_by_codes([draft.code]), draft.code, "project", self)
        return job

    async def deactivate_job(self: _Host, job_id: str, *, idempotency_key: str) -> None:
        """Mark the project inactive (absolute: safe to repeat; one that is gone is left so)."""
        await _update(self, "PROJECT", job_id, {"STATUS": "inactive"}, idempotency_key)

    async def set_job_contract_value(
        self: _Host, job_id: str, contract_value: Money, *, idempotency_key: str
    ) -> ErpJob:
        fields = {"CONTRACT_VALUE": str(contract_value.amount), "CURRENCY": contract_value.currency}
        if not await _update(self, "PROJECT", job_id, fields, idempotency_key):
            raise SourceRejected(self.system, f"no project {job_id}")
        job: ErpJob = _one(await self.jobs_by_ids([job_id]), job_id, "project", self)
        return job

    async def post_time(
        self: _Host, postings: Sequence[TimePostingDraft], *, idempotency_key: str
    ) -> list[TimePosting]:
        """One time sheet per employee of the entries not posted yet; an entry already posted (by its
        `PSA_ENTRY_ID`) is updated instead. Unknown people are refused before anything is written."""
        emails = sorted({p.person_email.lower() for p in postings})
        employees: dict[str, str] = {}
        if emails:
            where = f"EMAIL1 IN ({', '.join(quote(e) for e in emails)}) AND STATUS = 'active'"
            for r in await self.query(EMPLOYEES.name, EMPLOYEES.fields, where):
                employees.setdefault(r.get("EMAIL1", "").lower(), r.get("EMPLOYEEID", ""))
        unknown = [e for e in emails if not employees.get(e)]
        if unknown:
            raise SourceRejected(self.system, f"no active employee with email {', '.join(unknown)}")
        jobs = await self.jobs_by_ids({p.job_id for p in postings})
        missing = sorted({p.job_id for p in postings} - set(jobs))
        if missing:
            raise SourceRejected(self.system, f"no project {', '.join(missing)}")
        entry_ids = [p.time_entry.id for p in postings]
        posted = await _by_entry(self, entry_ids)
        sheets: dict[str, list[TimePostingDraft]] = {}
        for p in postings:
            fields = {
                "ENTRYDATE": mapping.wire_date(p.date),
                "QTY": str(p.hours),
                "PROJECTID": jobs[p.job_id].code,
                "DESCRIPTION": p.memo,
            }
            if p.time_entry.id in posted:
                record_no = posted[p.time_entry.id]["RECORDNO"]
                await _update(
                    self, "TIMESHEETENTRY", record_no, fields, f"{idempotency_key}:{p.time_entry.id}"
                )
            else:
                sheets.setdefault(employees[p.person_email.lower()], []).append(p)
        for employee, drafts in sorted(sheets.items()):
            sheet = {
                "EMPLOYEEID": employee,
                "BEGINDATE": mapping.wire_date(min(d.date for d in drafts)),
                "DESCRIPTION": drafts[0].memo,
                "TIMESHEETENTRIES": {
                    "TIMESHEETENTRY": [
                        {
                            "ENTRYDATE": mapping.wire_date(d.date),
                            "QTY": str(d.hours),
                            "PROJECTID": jobs[d.job_id].code,
                            "PSA_ENTRY_ID": d.time_entry.id,
                            "DESCRIPTION": d.memo,
                        }
                        for d in drafts
                    ]
                },
            }
            await _write(self, element("create", {"TIMESHEET": sheet}), f"{idempotency_key}:sheet:{employee}")
        now = await _by_entry(self, entry_ids)
        absent = [e for e in entry_ids if e not in now]
        if absent:
            raise SourceDataError(
                self.system, f"time of entries {', '.join(absent[:5])} written but not found"
            )
        return [mapping.time_posting(now[e], self.system) for e in entry_ids]

    async def delete_time_postings(self: _Host, entries: Sequence[SourceRef], *, idempotency_key: str) -> int:
        """Delete the time sheet entries of these PSA entries (compensation of `post_time`); an entry
        not posted is skipped, so it is safe to repeat. Answers how many were deleted."""
        posted = await _by_entry(self, [e.id for e in entries])
        for entry_id, record in posted.items():
            body = element("delete", {"object": "TIMESHEETENTRY", "keys": record["RECORDNO"]})
            await _write(self, body, f"{idempotency_key}:{entry_id}")
        return len(posted)

    async def create_invoice(self: _Host, draft: InvoiceDraft, *, idempotency_key: str) -> Invoice:
        """Raise the invoice whose `DOCNUMBER` is the draft's external id; one already raised is answered."""
        where = f"DOCNUMBER = {quote(draft.external_id)}"
        found = await self.query(INVOICES.name, ("RECORDNO",), where)
        if not found:
            customer = _one(
                await self.customers_by_ids([draft.customer_id]), draft.customer_id, "customer", self
            )
            project = None
            if draft.job_id is not None:
                project = _one(await self.jobs_by_ids([draft.job_id]), draft.job_id, "project", self).code
            body = {
                "CUSTOMERID": customer.client_id,
                "WHENCREATED": mapping.wire_date(draft.issue_date),
                "WHENDUE": mapping.wire_date(draft.due_date),
                "CURRENCY": draft.currency,
                "DOCNUMBER": draft.external_id,
                "DESCRIPTION": draft.memo,
                "PROJECTID": project,
                "ARINVOICEITEMS": {
                    "arinvoiceitem": [
                        {
                            "GLACCOUNTNO": REVENUE_ACCOUNT,
                            "MEMO": line.description,
                            "QUANTITY": str(line.quantity),
                            "PRICE": str(line.rate.amount),
                            "AMOUNT": str((line.rate.amount * Decimal(str(line.quantity))).quantize(CENTS)),
                            "PROJECTID": project,
                        }
                        for line in draft.lines
                    ]
                },
            }
            await _write(self, element("create", {"ARINVOICE": body}), f"{idempotency_key}:create")
            found = await self.query(INVOICES.name, ("RECORDNO",), where)
        if not found:
            raise SourceDataError(self.system, f"invoice {draft.external_id} written but not found")
        rid = found[0]["RECORDNO"]
        invoice: Invoice = _one(await self.invoices_by_ids([rid]), rid, "invoice", self)
        return invoice

    async def delete_invoice(self: _Host, invoice_id: str, *, idempotency_key: str) -> None:
        """Delete the invoice (absolute: one already gone is left so)."""
        try:
            await _write(
                self, element("delete", {"object": "ARINVOICE", "keys": invoice_id}), idempotency_key
            )
        except SourceRejected as exc:
            if exc.vendor_code != NOT_FOUND:
                raise
