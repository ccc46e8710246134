"""NetSuite's wire: OAuth 2.0 M2M token, error shapes, SuiteQL paging and REST record calls.

SuiteQL (`POST query/v1/suiteql`, `Prefer: transient`, 1000 rows a page): queries carry `ORDER BY`
on a unique key, because NetSuite only pages reliably over a stable order; pages after the first
are fetched concurrently (the base bulkhead caps it). A batch of keys becomes one `IN (...)` query
per 1000 keys, never one call per key. REST record writes: create answers 204 with a `Location`
naming the new id; an `X-NetSuite-Idempotency-Key` makes a create safe to retry, and an upsert on
`eid:` is idempotent by construction.

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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from opsgraph.clock import Clock
from opsgraph.connectors.base import SourceClient, SourceConfig, UpstreamResponse
from opsgraph.connectors.errors import SourceDataError
from opsgraph.connectors.ids import is_digits
from opsgraph.connectors.netsuite.mapping import required
from opsgraph.connectors.netsuite.resources import CURRENCIES, IN_LIMIT, PAGE_SIZE, SUITEQL_PATH, columns
from opsgraph.connectors.shapes import json_object, object_with
from opsgraph.connectors.toolkit.auth import ClientCredentials
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.connectors.toolkit.paging import OffsetPaginator
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import Role

Row = dict[str, Any]

TOKEN_PATH = "auth/oauth2/v1/token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def sql_string(value: str) -> str:
    """A SuiteQL string literal: quotes doubled, so no value can end the literal early."""
    return "'" + value.replace("'", "''") + "'"


def sql_date(day: date) -> str:
    return f"TO_DATE('{day.isoformat()}', 'YYYY-MM-DD')"


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


class NetSuiteTransport(SourceClient):
    """The NetSuite wire under the ERP port (`client.NetSuiteClient`)."""

    vendor: ClassVar[str] = "netsuite"
    role: ClassVar[Role] = Role.ERP

    def __init__(
        self, config: SourceConfig, *, system: str | None = None, clock: Clock | None = None
    ) -> None:
        super().__init__(config, system=system, clock=clock)
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
                    rows = await self.suiteql(
                        f"SELECT {columns(CURRENCIES)} FROM {CURRENCIES.path} ORDER BY id"
                    )
                    self._currencies = {
                        required(r, "id", self.system): required(r, "symbol", self.system) for r in rows
                    }
        return self._currencies

    # -- REST records (the building blocks of the ERP port's writes) ------------------------------

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
            raise SourceDataError(self.system, f"no record id in Location {location!r}", field="Location")
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
