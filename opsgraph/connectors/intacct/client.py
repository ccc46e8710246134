"""The Sage Intacct connector (ERP port) over the XML gateway: every read is `readByQuery`.

Batch reads are `<key> IN (...)` queries of at most 500 keys, up to ten in one request; an invoice
listing reads its heads, then the lines of all of them (`ARINVOICEITEM` by `RECORDKEY`) in one
request of several functions. Results come back in `RECORDNO` order and are sorted here again (the
port promises id order). Change polling filters `WHENMODIFIED` to the second and cuts to the instant
here. The wire is in `transport.py`; the writes in `writes.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar

from opsgraph.connectors.ids import is_digits
from opsgraph.connectors.intacct import mapping
from opsgraph.connectors.intacct.resources import (
    CUSTOMERS,
    INVOICE_LINES,
    INVOICES,
    OPEN_STATES,
    PERIODS,
    PROJECTS,
    RATES,
    TIME_ENTRIES,
    ObjectSpec,
)
from opsgraph.connectors.intacct.transport import IN_LIMIT, IntacctTransport, quote, read_by_query
from opsgraph.connectors.intacct.writes import IntacctWrites
from opsgraph.connectors.intacct.xmlwire import Record
from opsgraph.connectors.toolkit.invoice_totals import sum_invoices
from opsgraph.model import (
    AccountingPeriod,
    ErpCustomer,
    ErpJob,
    ExchangeRate,
    Invoice,
    InvoiceTotal,
    TimePosting,
)
from opsgraph.roles.base import Change, ChangeBatch, Entity
from opsgraph.roles.filters import InvoiceFilter

MAX_KEY_DIGITS = 18
CHANGE_SOURCES: dict[Entity, ObjectSpec] = {
    Entity.CUSTOMER: CUSTOMERS,
    Entity.JOB: PROJECTS,
    Entity.INVOICE: INVOICES,
    Entity.TIME_POSTING: TIME_ENTRIES,
}
T = TypeVar("T")


def is_record_no(text: str) -> bool:
    return 0 < len(text) <= MAX_KEY_DIGITS and is_digits(text)


def _ids(values: Iterable[str]) -> list[str]:
    return [v for v in dict.fromkeys(values) if is_record_no(v)]


def _keys(values: Iterable[str]) -> list[str]:
    return [v for v in dict.fromkeys(values) if v.strip()]


def _by_id(records: Iterable[T], key: Callable[[T], str]) -> list[T]:
    return sorted(records, key=lambda r: (len(key(r)), key(r)))


class IntacctClient(IntacctWrites, IntacctTransport):
    # -- system ----------------------------------------------------------------------------------

    async def probe(self) -> None:
        """A session (logging in when needed) and one read that matches nothing."""
        await self.query(PERIODS.name, ("RECORDNO",), "RECORDNO = 0")

    async def changed_since(self, entity: Entity, since: datetime) -> ChangeBatch:
        """Records of `entity` with `WHENMODIFIED` after `since`, oldest first (every change an upsert:
        deletions would be read from `AUDITHISTORY`, which this kit does not poll)."""
        if entity not in CHANGE_SOURCES:
            raise ValueError(f"Intacct polls {sorted(e.value for e in CHANGE_SOURCES)}, not {entity!r}")
        spec = CHANGE_SOURCES[entity]
        field = spec.change_field or "WHENMODIFIED"
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        floor = since.astimezone(UTC).replace(microsecond=0)
        rows = await self.query(
            spec.name, ("RECORDNO", field), f"{field} >= {quote(mapping.wire_datetime(floor))}"
        )
        changes = [
            Change(id=mapping.reader(self.system).required_text(r, "RECORDNO"), modified_at=moment)
            for r in rows
            if (moment := mapping.modified_at(r, field, self.system)) > since
        ]
        changes.sort(key=lambda c: (c.modified_at, len(c.id), c.id))
        high_water = max((c.modified_at for c in changes if c.modified_at is not None), default=since)
        return ChangeBatch(entity=entity, since=since, high_water=high_water, changes=tuple(changes))

    # -- batched reads ---------------------------------------------------------------------------

    async def _where_in(self, spec: ObjectSpec, field: str, literals: Sequence[str]) -> list[Record]:
        queries = [
            read_by_query(spec.name, spec.fields, f"{field} IN ({', '.join(literals[at : at + IN_LIMIT])})")
            for at in range(0, len(literals), IN_LIMIT)
        ]
        return [r for part in await self.read_all(queries) for r in part]

    async def customers_by_ids(self, ids: Iterable[str]) -> dict[str, ErpCustomer]:
        wanted = _ids(ids)
        found = {c.id: c for c in self._customers(await self._where_in(CUSTOMERS, "RECORDNO", wanted))}
        return {k: found[k] for k in wanted if k in found}

    async def customers_by_client_ids(self, client_ids: Iterable[str]) -> dict[str, ErpCustomer]:
        """Customers by `CUSTOMERID`, which is the CRM client's id."""
        wanted = _keys(client_ids)
        records = await self._where_in(CUSTOMERS, "CUSTOMERID", [quote(k) for k in wanted])
        found = {c.client_id: c for c in self._customers(records) if c.client_id is not None}
        return {k: found[k] for k in wanted if k in found}

    def _customers(self, records: Iterable[Record]) -> list[ErpCustomer]:
        return [mapping.customer(r, self.system) for r in records]

    async def jobs_by_ids(self, ids: Iterable[str]) -> dict[str, ErpJob]:
        wanted = _ids(ids)
        found = {j.id: j for j in self._jobs(await self._where_in(PROJECTS, "RECORDNO", wanted))}
        return {k: found[k] for k in wanted if k in found}

    async def jobs_by_codes(self, codes: Iterable[str]) -> dict[str, ErpJob]:
        wanted = _keys(codes)
        found = {
            j.code: j
            for j in self._jobs(await self._where_in(PROJECTS, "PROJECTID", [quote(k) for k in wanted]))
        }
        return {k: found[k] for k in wanted if k in found}

    def _jobs(self, records: Iterable[Record]) -> list[ErpJob]:
        return [mapping.job(r, self.system) for r in records]

    # -- invoices ----------------------------------------------------------------------------------

    async def _with_lines(self, heads: list[Record], with_lines: bool = True) -> list[Invoice]:
        ids = [mapping.reader(self.system).required_text(h, "RECORDNO") for h in heads] if with_lines else []
        by_invoice: dict[str, list[Record]] = {}
        for line in await self._where_in(INVOICE_LINES, "RECORDKEY", ids):
            by_invoice.setdefault(line.get("RECORDKEY", ""), []).append(line)
        invoices = [mapping.invoice(h, self.system, by_invoice.get(h.get("RECORDNO", ""), [])) for h in heads]
        return _by_id(invoices, lambda i: i.id)

    async def _grouped(
        self, ids: Iterable[str], field: str, parent: Callable[[Invoice], str | None]
    ) -> dict[str, list[Invoice]]:
        asked = list(dict.fromkeys(ids))
        grouped: dict[str, list[Invoice]] = {k: [] for k in asked}
        for invoice in await self._with_lines(await self._where_in(INVOICES, field, _ids(asked))):
            key = parent(invoice)
            if key in grouped:
                grouped[key].append(invoice)
        return grouped

    async def invoices_by_customer_ids(self, ids: Iterable[str]) -> dict[str, list[Invoice]]:
        return await self._grouped(ids, "CUSTOMERKEY", lambda invoice: invoice.customer_id)

    async def invoices_by_job_ids(self, ids: Iterable[str]) -> dict[str, list[Invoice]]:
        return await self._grouped(ids, "PROJECTKEY", lambda invoice: invoice.job_id)

    async def invoices_by_ids(self, ids: Iterable[str]) -> dict[str, Invoice]:
        wanted = _ids(ids)
        found = {i.id: i for i in await self._with_lines(await self._where_in(INVOICES, "RECORDNO", wanted))}
        return {k: found[k] for k in wanted if k in found}

    async def list_invoices(
        self, filter: InvoiceFilter | None = None, *, with_lines: bool = True
    ) -> list[Invoice]:
        open_only = filter is not None and filter.open_only
        where = f"STATE IN ({', '.join(quote(s) for s in OPEN_STATES)})" if open_only else ""
        return await self._with_lines(await self.query(INVOICES.name, INVOICES.fields, where), with_lines)

    async def invoice_totals(self, itemised_from: date | None = None) -> list[InvoiceTotal]:
        """Summed here from every invoice head (`readByQuery`, no lines): `readByQuery` has no
        aggregates, and the XML `query` function's documented `sum` is another function, which this
        connector (and its simulator) does not speak yet. Exact, but one row per invoice on the wire."""
        heads = await self.query(INVOICES.name, INVOICES.fields, "")
        return sum_invoices((mapping.invoice(h, self.system, []) for h in heads), itemised_from)

    # -- time, periods, rates ------------------------------------------------------------------------

    async def list_time_postings(self, start: date, end: date) -> list[TimePosting]:
        where = (
            f"ENTRYDATE >= {quote(mapping.wire_date(start))} AND ENTRYDATE <= {quote(mapping.wire_date(end))}"
        )
        records = await self.query(TIME_ENTRIES.name, TIME_ENTRIES.fields, where)
        return _by_id((mapping.time_posting(r, self.system) for r in records), lambda p: p.id)

    async def accounting_periods(self) -> list[AccountingPeriod]:
        records = await self.query(PERIODS.name, PERIODS.fields, "")
        return sorted((mapping.period(r, self.system) for r in records), key=lambda p: (p.start, p.id))

    async def exchange_rates(self, period_ids: Iterable[str]) -> list[ExchangeRate]:
        records = await self._where_in(RATES, "PERIODKEY", _ids(period_ids))
        return [mapping.exchange_rate(r, self.system) for r in records]
