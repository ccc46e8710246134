"""NetSuite writes of the ERP port used by prepareInvoice: the invoice, and voiding it.

`NetSuiteInvoiceWrites` is a mixin of `NetSuiteClient`, like `writes.NetSuiteWrites`. The invoice is
upserted with `PUT record/v1/invoice/eid:<external id>` (the external id derives from the engagement
and billing period), so a step resumed after a crash updates the invoice it made instead of raising
a second one. Its lines are the `item` sublist; the correlation id goes in the `X-Correlation-ID`
header (the transport) and in the invoice's `memo`. Voiding deletes the transaction
(`DELETE record/v1/invoice/<id>`): NetSuite refuses it in a closed period or once it is paid.
"""

from __future__ import annotations

from typing import Any

from opsgraph.connectors.errors import SourceDataError, SourceRejected
from opsgraph.connectors.netsuite.host import NetSuiteHost
from opsgraph.model import Invoice
from opsgraph.roles.drafts import InvoiceDraft


def invoice_body(draft: InvoiceDraft, currency_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity": {"id": draft.customer_id},
        "tranDate": draft.issue_date.isoformat(),
        "dueDate": draft.due_date.isoformat(),
        "currency": {"id": currency_id},
        "item": {
            "items": [
                {"description": li.description, "quantity": li.quantity, "rate": float(li.rate.amount)}
                for li in draft.lines
            ]
        },
    }
    if draft.job_id is not None:
        body["custbody_job"] = {"id": draft.job_id}
    if draft.memo:
        body["memo"] = draft.memo
    return body


class NetSuiteInvoiceWrites:
    async def create_invoice(self: NetSuiteHost, draft: InvoiceDraft, *, idempotency_key: str) -> Invoice:
        """Upsert the invoice on its external id and answer it as read back."""
        by_code = {symbol: cid for cid, symbol in (await self.currencies()).items()}
        if draft.currency not in by_code:
            raise SourceRejected(self.system, f"the ERP has no currency {draft.currency}")
        rid = await self.upsert("invoice", draft.external_id, invoice_body(draft, by_code[draft.currency]))
        found = (await self.invoices_by_ids([rid])).get(rid)
        if found is None:
            raise SourceDataError(self.system, f"invoice {rid} written but not found")
        return found

    async def delete_invoice(self: NetSuiteHost, invoice_id: str, *, idempotency_key: str) -> None:
        """Delete the invoice (absolute: one already gone is left so)."""
        try:
            await self.request("DELETE", f"record/v1/invoice/{invoice_id}", retry=True, ok=(204,))
        except SourceRejected as exc:
            if exc.status != 404:
                raise
