"""Harvest writes of the PSA port used by prepareInvoice: marking time entries billed.

`HarvestBillingWrites` is a mixin of `HarvestClient`, like `project_writes.HarvestProjectWrites`.
Harvest marks time billed only by importing it into one of its invoices (`POST /v2/invoices` with
`line_items_import`, which takes every approved, unbilled billable entry of the projects in a date
range). So the entries are marked by a Harvest invoice numbered after the ERP invoice, made once:
an invoice with that number already there means done (check before write: Harvest has no
idempotency key, and refuses a second invoice with a number in use). Before importing, the
range's unbilled time must be exactly the entries asked for, else the import would bill time the
ERP invoice does not carry (`SourceRejected`, nothing written). The correlation id goes in the
`X-Correlation-ID` header (the transport) and in the Harvest invoice's notes.
"""

from __future__ import annotations

from collections.abc import Sequence

from opsgraph.connectors.errors import SourceRejected
from opsgraph.connectors.harvest.host import HarvestHost
from opsgraph.connectors.harvest.mapping import time_entry_from_record
from opsgraph.connectors.harvest.resources import INVOICES, TIME_ENTRIES
from opsgraph.context import current_correlation_id
from opsgraph.model import SourceRef, TimeEntryStatus


def billing_number(invoice: SourceRef) -> str:
    """The Harvest invoice number that marks entries billed by the ERP invoice `invoice`."""
    return f"{invoice.system}:{invoice.id}"


async def _marked(host: HarvestHost, project_id: str, number: str) -> bool:
    invoices = await host.collect(INVOICES, {"project_id": project_id})
    return any(str(i.get("number")) == number for i in invoices)


async def _unbilled(host: HarvestHost, project_id: str, start: str, end: str) -> set[str]:
    """The approved, unbilled billable entries of the project in `start..end`: what an import takes."""
    params = {"project_id": project_id, "is_billed": "false", "from": start, "to": end}
    entries = [time_entry_from_record(r, host.system) for r in await host.collect(TIME_ENTRIES, params)]
    return {e.id for e in entries if e.billable and e.status is not TimeEntryStatus.UNAPPROVED}


class HarvestBillingWrites:
    async def mark_time_entries_billed(
        self: HarvestHost, entry_ids: Sequence[str], invoice: SourceRef, *, idempotency_key: str
    ) -> None:
        """Mark the entries (of one project) billed by importing them into a Harvest invoice
        numbered after `invoice`; a repeat finds that invoice and writes nothing."""
        wanted = set(entry_ids)
        if not wanted:
            return
        entries = await self.time_entries_by_ids(sorted(wanted))
        if missing := sorted(wanted - set(entries)):
            raise SourceRejected(self.system, f"no time entries {', '.join(missing)}")
        projects = {e.engagement_id for e in entries.values()}
        if len(projects) != 1:
            raise SourceRejected(self.system, "the entries to mark billed span several projects")
        project_id = projects.pop()
        number = billing_number(invoice)
        if await _marked(self, project_id, number):
            return
        if billed := sorted(e.id for e in entries.values() if e.invoice_id is not None):
            raise SourceRejected(self.system, f"time entries {', '.join(billed)} are billed already")
        start = min(e.date for e in entries.values()).isoformat()
        end = max(e.date for e in entries.values()).isoformat()
        if await _unbilled(self, project_id, start, end) != wanted:
            raise SourceRejected(
                self.system, f"the unbilled time of project {project_id} changed: invoice it again"
            )
        project = (await self.engagements_by_ids([project_id])).get(project_id)
        if project is None or project.psa_client_id is None:
            raise SourceRejected(self.system, f"project {project_id} has no client")
        body = {
            "client_id": int(project.psa_client_id),
            "number": number,
            "subject": f"{project.code}: billed by {invoice.system} invoice {invoice.id}",
            "notes": f"[correlation {current_correlation_id()}]",
            "line_items_import": {
                "project_ids": [int(project_id)],
                "time": {"summary_type": "task", "from": start, "to": end},
            },
        }
        await self.request("POST", INVOICES.path, json=body, retry=False, ok=(201,))
