"""NetSuite connector: OAuth 2.0 M2M token, SuiteQL batch reads, REST record writes.

Reads go through SuiteQL (`POST query/v1/suiteql`, `Prefer: transient`, 1000 rows a page): a batch
of keys becomes one `IN (...)` query per 1000 keys, never one call per key. Invoice lines come from
a second SuiteQL on `transactionline`, batched for every invoice of the first query. Queries carry
`ORDER BY` on a unique key, because NetSuite only pages reliably over a stable order; pages after
the first are fetched concurrently (the base bulkhead caps it). Writes use the REST record API:
create answers 204 with a `Location` naming the new id; an `X-NetSuite-Idempotency-Key` makes a
create safe to retry, and an upsert on `eid:` is idempotent by construction.

Credentials: `account_id`, `client_id`, `client_secret` and optionally `certificate_id` (the JWT
`kid`). The client-credentials token request carries a JWT client assertion; `sign_assertion` signs
it HS256 with the client secret, which is what the simulator verifies. A real account maps a
certificate instead: override `sign_assertion` to sign PS256/RS256 with its private key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit

from opsgraph.clock import Clock
from opsgraph.connectors.base import SourceClient, SourceConfig, UpstreamResponse
from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.ids import is_digits
from opsgraph.connectors.netsuite import mapping
from opsgraph.connectors.shapes import json_object, object_with
from opsgraph.connectors.toolkit.auth import ClientCredentials
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.connectors.toolkit.paging import OffsetPaginator
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import (
    AccountingPeriod,
    ErpCustomer,
    ErpJob,
    ErpTimeBill,
    ExchangeRate,
    Invoice,
    SourceName,
)

T = TypeVar("T")
Row = dict[str, Any]

TOKEN_PATH = "auth/oauth2/v1/token"
SUITEQL_PATH = "query/v1/suiteql"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PAGE_SIZE = 1000
IN_LIMIT = 1000
CHANGE_TABLES = frozenset({"customer", "job", "employee", "transaction", "timebill", "accountingperiod"})

CUSTOMER_COLUMNS = "id, companyname, externalid, custentity_legal_entity, currency, balance"
JOB_COLUMNS = (
    "id, entityid, companyname, parent, externalid, isinactive, custentity_contract_value, "
    "custentity_billing_model, custentity_practice, startdate, projectedenddate, currency"
)
INVOICE_COLUMNS = (
    "id, tranid, entity, custbody_job, trandate, duedate, status, foreigntotal, foreignamountremaining, "
    "currency, externalid"
)
LINE_COLUMNS = "transaction, linesequencenumber, memo, quantity, rate, foreignamount"


def sql_string(value: str) -> str:
    """A SuiteQL string literal: quotes doubled, so no value can end the literal early."""
    return "'" + value.replace("'", "''") + "'"


def sql_date(day: date) -> str:
    return f"TO_DATE('{day.isoformat()}', 'YYYY-MM-DD')"


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _token_shape(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        return "the token response has no access_token"
    return None


def _total(first: Mapping[str, Any]) -> int | None:
    """All rows when the first page says there are more (`hasMore`, `totalResults`), else None."""
    return int(first.get("totalResults") or 0) if first.get("hasMore") else None


_PAGES = OffsetPaginator(PAGE_SIZE, _total)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class NetSuiteClient(SourceClient):
    source: ClassVar[SourceName] = SourceName.NETSUITE

    def __init__(self, config: SourceConfig, *, clock: Clock | None = None) -> None:
        super().__init__(config, clock=clock)
        missing = [k for k in ("client_id", "client_secret") if not config.credentials.get(k)]
        if missing:
            raise ValueError(f"netsuite credentials are missing: {', '.join(missing)}")
        self.authenticator = ClientCredentials(
            self,
            TOKEN_PATH,
            self._token_form,
            expect=_token_shape,
            refused="token request failed",
            headers={"Accept": "application/json"},
            default_lifetime_s=3600.0,
            refresh_early_s=60.0,  # refresh a minute early
        )
        self._currencies: dict[str, str] | None = None
        self._currency_lock = asyncio.Lock()

    # -- auth ------------------------------------------------------------------------------------

    def sign_assertion(self, signing_input: bytes) -> tuple[str, bytes]:
        """(JWT `alg`, signature) for the client assertion. Override for a certificate (PS256)."""
        secret = self.config.credentials["client_secret"].encode()
        return "HS256", hmac.new(secret, signing_input, hashlib.sha256).digest()

    def client_assertion(self) -> str:
        creds = self.config.credentials
        now = int(time.time())  # the vendor checks iat/exp against its own clock: always real time
        claims = {
            "iss": creds["client_id"],
            "scope": ["rest_webservices"],
            "aud": self.url(TOKEN_PATH),
            "iat": now,
            "exp": now + 300,
        }
        alg, _ = self.sign_assertion(b"")
        header = {"typ": "JWT", "alg": alg, "kid": creds.get("certificate_id", creds["client_id"])}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        _, signature = self.sign_assertion(signing_input.encode())
        return f"{signing_input}.{_b64url(signature)}"

    def _token_form(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": self.client_assertion(),
        }

    def retry_after(self, response: UpstreamResponse) -> float | None:
        """429 `CONCURRENCY_LIMIT_EXCEEDED`: NetSuite sends no Retry-After, so wait a second unless told."""
        if response.status != 429:
            return None
        wait = retry_after_header(response.headers, self.clock)
        return 1.0 if wait is None else wait

    def error_detail(self, response: UpstreamResponse) -> tuple[str | None, str]:
        body = response.body
        if isinstance(body, dict):
            details = body.get("o:errorDetails")
            if isinstance(details, list) and details and isinstance(details[0], dict):
                first = details[0]
                return first.get("o:errorCode"), str(first.get("detail") or body.get("title") or "")
            if "error" in body:  # OAuth token endpoint
                return str(body["error"]), str(body.get("error_description") or body["error"])
        if isinstance(body, str) and body:
            return None, body[:200]
        return None, f"HTTP {response.status}"

    # -- SuiteQL ---------------------------------------------------------------------------------

    async def _page(self, q: str, offset: int) -> dict[str, Any]:
        response = await self.request(
            "POST",
            SUITEQL_PATH,
            params={"limit": str(PAGE_SIZE), "offset": str(offset)},
            json={"q": q},
            headers={"Prefer": "transient"},
            retry=True,
            expect=object_with("items"),
        )
        body: dict[str, Any] = response.body
        return body

    async def suiteql(self, q: str) -> list[Row]:
        """Every row of a SuiteQL query (all pages), without the per-item `links`."""
        pages = await _PAGES.pages(lambda offset: self._page(q, offset))
        return [{k: v for k, v in item.items() if k != "links"} for page in pages for item in page["items"]]

    async def _batched(self, values: Sequence[str], build: Callable[[str], str]) -> list[Row]:
        """One SuiteQL per chunk of at most 1000 IN-list entries, the chunks run concurrently."""
        parts: list[Awaitable[list[Row]]] = [
            self.suiteql(build(", ".join(c))) for c in chunks(values, IN_LIMIT)
        ]
        return [row for rows in await asyncio.gather(*parts) for row in rows]

    async def currencies(self) -> dict[str, str]:
        """The account's currencies, internal id -> ISO code; read once per client."""
        if self._currencies is None:
            async with self._currency_lock:
                if self._currencies is None:
                    rows = await self.suiteql("SELECT id, symbol FROM currency ORDER BY id")
                    self._currencies = {
                        mapping.required(r, "id"): mapping.required(r, "symbol") for r in rows
                    }
        return self._currencies

    # -- batch reads -----------------------------------------------------------------------------

    async def _customers(self, column: str, keys: Sequence[str], literal: Callable[[str], str]) -> list[Row]:
        return await self._batched(
            [literal(k) for k in keys],
            lambda in_list: (
                f"SELECT {CUSTOMER_COLUMNS} FROM customer WHERE {column} IN ({in_list}) ORDER BY id"
            ),
        )

    async def customers_by_account_ids(self, account_ids: Iterable[str]) -> dict[str, ErpCustomer | None]:
        keys = _unique(account_ids)
        rows = await self._customers("externalid", keys, sql_string)
        currencies = await self.currencies()
        found = {c.account_id: c for c in (mapping.customer_from_row(r, currencies) for r in rows)}
        return {k: found.get(k) for k in keys}

    async def customers_by_ids(self, ids: Iterable[str]) -> dict[str, ErpCustomer | None]:
        keys = _unique(ids)
        rows = await self._customers("id", [k for k in keys if is_digits(k)], str)
        currencies = await self.currencies()
        found = {c.id: c for c in (mapping.customer_from_row(r, currencies) for r in rows)}
        return {k: found.get(k) for k in keys}

    async def _jobs(self, column: str, keys: Sequence[str], literal: Callable[[str], str]) -> list[ErpJob]:
        rows = await self._batched(
            [literal(k) for k in keys],
            lambda in_list: f"SELECT {JOB_COLUMNS} FROM job WHERE {column} IN ({in_list}) ORDER BY id",
        )
        currencies = await self.currencies()
        return [mapping.job_from_row(r, currencies) for r in rows]

    async def jobs_by_codes(self, codes: Iterable[str]) -> dict[str, ErpJob | None]:
        keys = _unique(codes)
        found = {j.code: j for j in await self._jobs("entityid", keys, sql_string)}
        return {k: found.get(k) for k in keys}

    async def jobs_by_ids(self, ids: Iterable[str]) -> dict[str, ErpJob | None]:
        keys = _unique(ids)
        found = {j.id: j for j in await self._jobs("id", [k for k in keys if is_digits(k)], str)}
        return {k: found.get(k) for k in keys}

    async def _invoices(
        self, where: str | None, keys: Sequence[str] | None = None, *, with_lines: bool = True
    ) -> list[Invoice]:
        """Invoices matching `where` (with `{keys}` for a batched IN list), then all their lines at once
        (unless `with_lines` is False: totals only, for the views that need no lines)."""
        conditions = " AND ".join(["type = 'CustInvc'", *([where] if where else [])])
        query = f"SELECT {INVOICE_COLUMNS} FROM transaction WHERE {conditions} ORDER BY id"
        if keys is None:
            heads = await self.suiteql(query)
        else:
            heads = await self._batched(list(keys), lambda in_list: query.replace("{keys}", in_list))
        ids = [mapping.required(h, "id") for h in heads] if with_lines else []
        lines = await self._batched(
            ids,
            lambda in_list: (
                f"SELECT {LINE_COLUMNS} FROM transactionline WHERE mainline = 'F' AND taxline = 'F' "
                f"AND transaction IN ({in_list}) ORDER BY uniquekey"
            ),
        )
        by_invoice: dict[str, list[Row]] = {}
        for line in lines:
            by_invoice.setdefault(mapping.required(line, "transaction"), []).append(line)
        currencies = await self.currencies()
        return [mapping.invoice_from_row(h, by_invoice.get(h["id"], []), currencies) for h in heads]

    async def invoices_by_customer_ids(self, ids: Iterable[str]) -> dict[str, list[Invoice]]:
        keys = _unique(ids)
        grouped: dict[str, list[Invoice]] = {k: [] for k in keys}
        for inv in await self._invoices("entity IN ({keys})", [k for k in keys if is_digits(k)]):
            grouped.setdefault(inv.customer_id, []).append(inv)
        return grouped

    async def invoices_by_job_ids(self, ids: Iterable[str]) -> dict[str, list[Invoice]]:
        keys = _unique(ids)
        grouped: dict[str, list[Invoice]] = {k: [] for k in keys}
        for inv in await self._invoices("custbody_job IN ({keys})", [k for k in keys if is_digits(k)]):
            if inv.job_id is not None:
                grouped.setdefault(inv.job_id, []).append(inv)
        return grouped

    async def invoices_by_ids(self, ids: Iterable[str]) -> dict[str, Invoice | None]:
        """Invoices by internal id (batched IN lists); None for an id NetSuite does not have."""
        keys = _unique(ids)
        found = {i.id: i for i in await self._invoices("id IN ({keys})", [k for k in keys if k.isdigit()])}
        return {k: found.get(k) for k in keys}

    async def list_invoices(self, *, open_only: bool = False, with_lines: bool = True) -> list[Invoice]:
        return await self._invoices("status = 'A'" if open_only else None, with_lines=with_lines)

    async def timebills(self, start: date, end: date) -> list[ErpTimeBill]:
        rows = await self.suiteql(
            "SELECT id, externalid, customer, trandate, hours FROM timebill "
            f"WHERE trandate >= {sql_date(start)} AND trandate <= {sql_date(end)} ORDER BY id"
        )
        return [mapping.timebill_from_row(r) for r in rows]

    async def accounting_periods(self) -> list[AccountingPeriod]:
        rows = await self.suiteql(
            "SELECT id, periodname, startdate, enddate, closed FROM accountingperiod "
            "WHERE isquarter = 'F' AND isyear = 'F' ORDER BY startdate"
        )
        return [mapping.period_from_row(r) for r in rows]

    async def exchange_rates(self, period_ids: Iterable[str]) -> list[ExchangeRate]:
        """The consolidated exchange rates of these accounting periods, every currency pair, one query."""
        ids = [p for p in _unique(period_ids) if is_digits(p)]
        rows = await self._batched(
            ids,
            lambda in_list: (
                "SELECT id, postingperiod, fromcurrency, tocurrency, averagerate, currentrate, "
                f"historicalrate FROM consolidatedexchangerate WHERE postingperiod IN ({in_list}) ORDER BY id"
            ),
        )
        currencies = await self.currencies()
        return [mapping.exchange_rate_from_row(r, currencies) for r in rows]

    async def changed_since(self, table: str, since: datetime) -> list[Row]:
        """Rows of `table` modified after `since`: SuiteQL filters by day, the exact cut is made here."""
        if table not in CHANGE_TABLES:
            raise ValueError(f"unknown table {table!r}; choose one of {sorted(CHANGE_TABLES)}")
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        day = since.astimezone(UTC).date()
        rows = await self.suiteql(
            f"SELECT * FROM {table} WHERE lastmodifieddate >= {sql_date(day)} ORDER BY id"
        )
        return [r for r in rows if mapping.parse_datetime(r, "lastmodifieddate") > since]

    # -- REST records ----------------------------------------------------------------------------

    @staticmethod
    def _record_path(record_type: str, key: str | None = None) -> str:
        return f"record/v1/{record_type}" + ("" if key is None else f"/{quote(key, safe=':')}")

    async def get_record(
        self, record_type: str, record_id: str, *, fields: Sequence[str] | None = None, expand: bool = False
    ) -> Row:
        """One record by internal id or `eid:<externalId>` as the REST API returns it."""
        params = {"expandSubResources": "true"} if expand else {}
        if fields:
            params["fields"] = ",".join(fields)
        response = await self.request(
            "GET", self._record_path(record_type, record_id), params=params, expect=json_object
        )
        body: Row = response.body
        return body

    def _location_id(self, response: UpstreamResponse) -> str:
        location = response.headers.get("Location", "")
        rid = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
        if not is_digits(rid):
            raise SourceDataError(self.source, f"no record id in Location {location!r}", field="Location")
        return rid

    async def create(self, record_type: str, fields: Row, idempotency_key: str | None = None) -> str:
        """Create a record; returns its internal id. With an idempotency key the call is retried safely."""
        headers = {"X-NetSuite-PropertyNameValidation": "error"}
        if idempotency_key:
            headers["X-NetSuite-Idempotency-Key"] = idempotency_key
        response = await self.request(
            "POST",
            self._record_path(record_type),
            json=fields,
            headers=headers,
            retry=idempotency_key is not None,
            ok=(204,),
        )
        return self._location_id(response)

    async def update(self, record_type: str, record_id: str, fields: Row) -> None:
        await self.request(
            "PATCH",
            self._record_path(record_type, record_id),
            json=fields,
            headers={"X-NetSuite-PropertyNameValidation": "error"},
            ok=(204,),
        )

    async def upsert(self, record_type: str, external_id: str, fields: Row) -> str:
        """Create or update the record with this external id (idempotent, so retried); returns its id."""
        response = await self.request(
            "PUT",
            self._record_path(record_type, f"eid:{external_id}"),
            json=fields,
            headers={"X-NetSuite-PropertyNameValidation": "error"},
            retry=True,
            ok=(204,),
        )
        return self._location_id(response)
