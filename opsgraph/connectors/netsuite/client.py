"""The NetSuite connector (ERP port): every read is SuiteQL, built from the specs in `resources.py`.

Batch reads by ids are `IN (...)` queries of at most 1000 keys; invoice lines come from a second
SuiteQL on `transactionline`, batched for every invoice of the first query. Change polling filters
`lastmodifieddate` by day (what SuiteQL compares reliably) and cuts to the instant here. The wire
(auth, paging, REST records) is in `transport.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from opsgraph.connectors.ids import is_digits
from opsgraph.connectors.netsuite import mapping
from opsgraph.connectors.netsuite.invoice_writes import NetSuiteInvoiceWrites
from opsgraph.connectors.netsuite.project_writes import NetSuiteProjectWrites
from opsgraph.connectors.netsuite.resources import (
    ACCOUNTING_PERIODS,
    CHANGE_FIELD,
    CUSTOMERS,
    EXCHANGE_RATES,
    INVOICE_LINES,
    INVOICE_TYPE,
    INVOICES,
    JOBS,
    TIME_BILLS,
    columns,
)
from opsgraph.connectors.netsuite.transport import NetSuiteTransport, Row, sql_date, sql_string
from opsgraph.connectors.netsuite.writes import NetSuiteWrites
from opsgraph.connectors.toolkit.resources import ResourceSpec
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

__all__ = ["NetSuiteClient", "is_internal_id", "sql_date", "sql_string"]

MAX_INTERNAL_ID_DIGITS = 18  # internal ids are database integers: a longer run of digits is no id
_INVOICE_ONLY = f"type = {sql_string(INVOICE_TYPE)}"
CHANGE_SOURCES: dict[Entity, tuple[ResourceSpec, str | None]] = {
    Entity.CUSTOMER: (CUSTOMERS, None),
    Entity.JOB: (JOBS, None),
    Entity.INVOICE: (INVOICES, _INVOICE_ONLY),
    Entity.TIME_POSTING: (TIME_BILLS, None),
}
"""The table each polled entity lives in, and the condition that picks it out of a shared table."""


def is_internal_id(text: str) -> bool:
    """Shaped like a NetSuite internal id: ASCII digits, not absurdly long."""
    return 0 < len(text) <= MAX_INTERNAL_ID_DIGITS and is_digits(text)


def _ids(values: Iterable[str]) -> list[str]:
    """The distinct values shaped like internal ids, in the order given (the rest cost no request)."""
    return [v for v in dict.fromkeys(values) if is_internal_id(v)]


def _keys(values: Iterable[str]) -> list[str]:
    """The distinct non-blank text keys (codes, external ids), in the order given."""
    return [v for v in dict.fromkeys(values) if v.strip()]


def _select(spec: ResourceSpec, where: str) -> str:
    return f"SELECT {columns(spec)} FROM {spec.path} WHERE {where} ORDER BY {spec.id_field}"


class NetSuiteClient(NetSuiteWrites, NetSuiteProjectWrites, NetSuiteInvoiceWrites, NetSuiteTransport):
    # -- system ----------------------------------------------------------------------------------

    async def probe(self) -> None:
        """One authenticated SuiteQL that matches nothing."""
        await self.suiteql(f"SELECT id FROM {ACCOUNTING_PERIODS.path} WHERE id = 0")

    async def changed_since(self, entity: Entity, since: datetime) -> ChangeBatch:
        """Records of `entity` whose `lastmodifieddate` is after `since`, oldest first.

        SuiteQL filters by day; the exact cut (strictly after `since`) is made here. NetSuite keeps
        no trace of a deleted record in these tables, so every change is an upsert.
        """
        if entity not in CHANGE_SOURCES:
            raise ValueError(f"NetSuite polls {sorted(e.value for e in CHANGE_SOURCES)}, not {entity!r}")
        spec, condition = CHANGE_SOURCES[entity]
        field = spec.change_field or CHANGE_FIELD
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        # SuiteQL compares dates in the account's time zone: a day earlier covers any zone's offset.
        day = sql_date((since.astimezone(UTC) - timedelta(days=1)).date())
        where = " AND ".join([*([condition] if condition else []), f"{field} >= {day}"])
        rows = await self.suiteql(
            f"SELECT {spec.id_field}, {field} FROM {spec.path} WHERE {where} ORDER BY {spec.id_field}"
        )
        changes = [
            Change(id=mapping.required(r, spec.id_field, self.system), modified_at=moment)
            for r in rows
            if (moment := mapping.parse_datetime(r, field, self.system)) > since
        ]
        changes.sort(key=lambda c: (c.modified_at, len(c.id), c.id))  # ids are numbers: shorter is lower
        high_water = max((c.modified_at for c in changes if c.modified_at is not None), default=since)
        return ChangeBatch(entity=entity, since=since, high_water=high_water, changes=tuple(changes))

    # -- customers and jobs ------------------------------------------------------------------------

    async def _customers(self, column: str, keys: Sequence[str]) -> list[ErpCustomer]:
        rows = await self._batched(keys, lambda in_list: _select(CUSTOMERS, f"{column} IN ({in_list})"))
        currencies = await self.currencies()
        return [mapping.customer_from_row(r, self.system, currencies) for r in rows]

    async def customers_by_ids(self, ids: Iterable[str]) -> dict[str, ErpCustomer]:
        wanted = _ids(ids)
        found = {c.id: c for c in await self._customers(CUSTOMERS.id_field, wanted)}
        return {k: found[k] for k in wanted if k in found}

    async def customers_by_client_ids(self, client_ids: Iterable[str]) -> dict[str, ErpCustomer]:
        """Customers by external id (the CRM client's id)."""
        wanted = _keys(client_ids)
        customers = await self._customers("externalid", [sql_string(k) for k in wanted])
        found = {c.client_id: c for c in customers if c.client_id is not None}
        return {k: found[k] for k in wanted if k in found}

    async def _jobs(self, column: str, keys: Sequence[str]) -> list[ErpJob]:
        rows = await self._batched(keys, lambda in_list: _select(JOBS, f"{column} IN ({in_list})"))
        currencies = await self.currencies()
        return [mapping.job_from_row(r, self.system, currencies) for r in rows]

    async def jobs_by_ids(self, ids: Iterable[str]) -> dict[str, ErpJob]:
        wanted = _ids(ids)
        found = {j.id: j for j in await self._jobs(JOBS.id_field, wanted)}
        return {k: found[k] for k in wanted if k in found}

    async def jobs_by_codes(self, codes: Iterable[str]) -> dict[str, ErpJob]:
        wanted = _keys(codes)
        found = {j.code: j for j in await self._jobs("entityid", [sql_string(k) for k in wanted])}
        return {k: found[k] for k in wanted if k in found}

    # -- invoices ----------------------------------------------------------------------------------

    async def _invoices(
        self, where: str | None, keys: Sequence[str] | None = None, *, with_lines: bool = True
    ) -> list[Invoice]:
        """Invoices matching `where` (with `{keys}` for a batched IN list), then all their lines at once
        (unless `with_lines` is False: totals only, for the views that need no lines)."""
        query = _select(INVOICES, " AND ".join([_INVOICE_ONLY, *([where] if where else [])]))
        if keys is None:
            heads = await self.suiteql(query)
        else:
            heads = await self._batched(keys, lambda in_list: query.replace("{keys}", in_list))
        ids = [mapping.required(h, INVOICES.id_field, self.system) for h in heads] if with_lines else []
        lines = await self._batched(
            ids,
            lambda in_list: (
                f"SELECT {columns(INVOICE_LINES)} FROM {INVOICE_LINES.path} WHERE mainline = 'F' "
                f"AND taxline = 'F' AND transaction IN ({in_list}) ORDER BY uniquekey"
            ),
        )
        by_invoice: dict[str, list[Row]] = {}
        for line in lines:
            by_invoice.setdefault(mapping.required(line, "transaction", self.system), []).append(line)
        currencies = await self.currencies()
        return [
            mapping.invoice_from_row(h, self.system, by_invoice.get(h[INVOICES.id_field], []), currencies)
            for h in heads
        ]

    async def _grouped(
        self, ids: Iterable[str], column: str, parent: Callable[[Invoice], str | None]
    ) -> dict[str, list[Invoice]]:
        asked = list(dict.fromkeys(ids))
        grouped: dict[str, list[Invoice]] = {k: [] for k in asked}
        for invoice in await self._invoices(f"{column} IN ({{keys}})", _ids(asked)):
            key = parent(invoice)
            if key in grouped:
                grouped[key].append(invoice)
        return grouped

    async def invoices_by_customer_ids(self, ids: Iterable[str]) -> dict[str, list[Invoice]]:
        return await self._grouped(ids, "entity", lambda invoice: invoice.customer_id)

    async def invoices_by_job_ids(self, ids: Iterable[str]) -> dict[str, list[Invoice]]:
        return await self._grouped(ids, "custbody_job", lambda invoice: invoice.job_id)

    async def invoices_by_ids(self, ids: Iterable[str]) -> dict[str, Invoice]:
        """Invoices with their lines by internal id (batched IN lists); unknown ids are absent."""
        wanted = _ids(ids)
        found = {i.id: i for i in await self._invoices(f"{INVOICES.id_field} IN ({{keys}})", wanted)}
        return {k: found[k] for k in wanted if k in found}

    async def list_invoices(
        self, filter: InvoiceFilter | None = None, *, with_lines: bool = True
    ) -> list[Invoice]:
        open_only = filter is not None and filter.open_only
        return await self._invoices("status = 'A'" if open_only else None, with_lines=with_lines)

    async def invoice_totals(self, itemised_from: date | None = None) -> list[InvoiceTotal]:
        """One SuiteQL `SUM ... GROUP BY`: the rows on the wire are the groups, not the invoices. The
        issue date is a group key only from `itemised_from` on (a CASE, null before it)."""
        keys = ["entity", "custbody_job", "currency"]
        order = list(keys)
        if itemised_from is not None:
            keys.append(f"CASE WHEN trandate >= {sql_date(itemised_from)} THEN trandate END")
            order.append("issued")
        selected = [*keys[:3], *([f"{keys[3]} AS issued"] if itemised_from is not None else [])]
        rows = await self.suiteql(
            f"SELECT {', '.join(selected)}, SUM(foreigntotal) AS total, COUNT(id) AS invoices "
            f"FROM {INVOICES.path} WHERE {_INVOICE_ONLY} "
            f"GROUP BY {', '.join(keys)} ORDER BY {', '.join(order)}"
        )
        currencies = await self.currencies()
        return [mapping.invoice_total_from_row(r, self.system, currencies) for r in rows]

    # -- time, periods, rates ------------------------------------------------------------------------

    async def list_time_postings(self, start: date, end: date) -> list[TimePosting]:
        rows = await self.suiteql(
            _select(TIME_BILLS, f"trandate >= {sql_date(start)} AND trandate <= {sql_date(end)}")
        )
        return [mapping.time_posting_from_row(r, self.system) for r in rows]

    async def accounting_periods(self) -> list[AccountingPeriod]:
        rows = await self.suiteql(
            f"SELECT {columns(ACCOUNTING_PERIODS)} FROM {ACCOUNTING_PERIODS.path} "
            "WHERE isquarter = 'F' AND isyear = 'F' ORDER BY startdate"
        )
        return [mapping.period_from_row(r, self.system) for r in rows]

    async def exchange_rates(self, period_ids: Iterable[str]) -> list[ExchangeRate]:
        """The consolidated exchange rates of these accounting periods, every currency pair, one query."""
        rows = await self._batched(
            _ids(period_ids), lambda in_list: _select(EXCHANGE_RATES, f"postingperiod IN ({in_list})")
        )
        currencies = await self.currencies()
        return [mapping.exchange_rate_from_row(r, self.system, currencies) for r in rows]
