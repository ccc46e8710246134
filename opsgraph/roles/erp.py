"""The ERP port: customers, jobs, invoices, time postings, accounting periods, exchange rates.

Change polling covers `Entity.CUSTOMER`, `Entity.JOB`, `Entity.INVOICE` and `Entity.TIME_POSTING`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Protocol, runtime_checkable

from opsgraph.model import (
    AccountingPeriod,
    ErpCustomer,
    ErpJob,
    ExchangeRate,
    Invoice,
    InvoiceTotal,
    Money,
    TimePosting,
)
from opsgraph.roles.base import SystemPort
from opsgraph.roles.drafts import CustomerDraft, InvoiceDraft, JobDraft, TimePostingDraft
from opsgraph.roles.filters import InvoiceFilter


@runtime_checkable
class ErpPort(SystemPort, Protocol):
    async def customers_by_ids(self, ids: Iterable[str]) -> Mapping[str, ErpCustomer]:
        """Customers by ERP id; unknown ids are absent."""
        ...

    async def customers_by_client_ids(self, client_ids: Iterable[str]) -> Mapping[str, ErpCustomer]:
        """Customers by their external id, the CRM client id; unlinked clients are absent."""
        ...

    async def jobs_by_ids(self, ids: Iterable[str]) -> Mapping[str, ErpJob]:
        """Jobs by ERP id; unknown ids are absent."""
        ...

    async def jobs_by_codes(self, codes: Iterable[str]) -> Mapping[str, ErpJob]:
        """Jobs by engagement code; unknown codes are absent."""
        ...

    async def invoices_by_ids(self, ids: Iterable[str]) -> Mapping[str, Invoice]:
        """Invoices with their lines by ERP id; unknown ids are absent."""
        ...

    async def invoices_by_customer_ids(self, ids: Iterable[str]) -> Mapping[str, list[Invoice]]:
        """Each customer's invoices, ordered by id; `[]` for a customer with none or unknown."""
        ...

    async def invoices_by_job_ids(self, ids: Iterable[str]) -> Mapping[str, list[Invoice]]:
        """Each job's invoices, ordered by id; `[]` for a job with none or unknown."""
        ...

    async def list_invoices(
        self, filter: InvoiceFilter | None = None, *, with_lines: bool = True
    ) -> list[Invoice]:
        """Invoices matching `filter`, ordered by id; without lines when only totals are needed."""
        ...

    async def invoice_totals(self, itemised_from: date | None = None) -> list[InvoiceTotal]:
        """Every invoice's value summed per customer, job and currency, by the vendor where it can (one
        request, not a listing); invoices issued on or after `itemised_from` are summed per issue date
        too (`InvoiceTotal.issue_date`), older ones (all, without it) are not. In no promised order."""
        ...

    async def list_time_postings(self, start: date, end: date) -> list[TimePosting]:
        """Time posted with a date in `start..end` (inclusive), ordered by id."""
        ...

    async def accounting_periods(self) -> list[AccountingPeriod]:
        """Every month-long accounting period, ordered by start."""
        ...

    async def exchange_rates(self, period_ids: Iterable[str]) -> list[ExchangeRate]:
        """Consolidated exchange rates of these periods, every currency pair; unknown periods add none."""
        ...

    # -- writes (convertOpportunity, postApprovedTime, prepareInvoice, applyChangeRequest) -----

    async def upsert_customer(self, draft: CustomerDraft, *, idempotency_key: str) -> ErpCustomer:
        """Create or update the customer whose external id is `draft.client`."""
        ...

    async def create_job(self, draft: JobDraft, *, idempotency_key: str) -> ErpJob:
        """Open the engagement's job; a repeat with the same key answers the job already created."""
        ...

    async def deactivate_job(self, job_id: str, *, idempotency_key: str) -> None:
        """Mark the job inactive (compensation of `create_job`; absolute: safe to repeat)."""
        ...

    async def set_job_contract_value(
        self, job_id: str, contract_value: Money, *, idempotency_key: str
    ) -> ErpJob:
        """Apply a change request's contract value."""
        ...

    async def post_time(
        self, postings: Sequence[TimePostingDraft], *, idempotency_key: str
    ) -> list[TimePosting]:
        """Post approved time; each posting is upserted on its PSA entry's external id, so no entry is
        ever posted twice."""
        ...

    async def create_invoice(self, draft: InvoiceDraft, *, idempotency_key: str) -> Invoice:
        """Raise the invoice, upserted on `draft.external_id`: a repeat answers (and updates) the
        invoice already created, never a second one."""
        ...

    async def delete_invoice(self, invoice_id: str, *, idempotency_key: str) -> None:
        """Void the invoice (compensation of `create_invoice`; one that is gone is left so)."""
        ...
