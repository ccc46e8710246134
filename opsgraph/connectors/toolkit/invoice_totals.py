"""Invoice totals summed here, for an ERP whose API cannot sum (the port's `invoice_totals`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from opsgraph.model import Invoice, InvoiceTotal, Money

__all__ = ["sum_invoices"]


def sum_invoices(invoices: Iterable[Invoice], itemised_from: date | None) -> list[InvoiceTotal]:
    """Per customer, job and currency, and per issue date from `itemised_from` on (the port's
    `invoice_totals`)."""
    sums: dict[tuple[str, str | None, str, date | None], tuple[Decimal, int]] = {}
    for inv in invoices:
        itemised = itemised_from is not None and inv.issue_date >= itemised_from
        key = (inv.customer_id, inv.job_id, inv.total.currency, inv.issue_date if itemised else None)
        amount, count = sums.get(key, (Decimal(0), 0))
        sums[key] = (amount + inv.total.amount, count + 1)
    return [
        InvoiceTotal(
            customer_id=customer,
            job_id=job,
            issue_date=day,
            total=Money(amount=amount, currency=currency),
            invoices=count,
        )
        for (customer, job, currency, day), (amount, count) in sums.items()
    ]
