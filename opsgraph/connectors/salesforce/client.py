"""The Salesforce REST connector: OAuth client credentials, SOQL paging, composite reads, writes.

`config.base_url` is the login (My Domain) URL that issues tokens; API calls go to the token's
`instance_url`. Credentials: `client_id` and `client_secret` of a connected app.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from opsgraph.clock import Clock
from opsgraph.connectors.base import (
    SourceClient,
    SourceConfig,
    SourceDataError,
    UpstreamResponse,
)
from opsgraph.connectors.salesforce.mapping import (
    ACCOUNT_FIELDS,
    OPPORTUNITY_FIELDS,
    account_to_client,
    is_salesforce_id,
    opportunity_from_record,
    soql_datetime,
    soql_quote,
    to_18,
    to_sf_value,
)
from opsgraph.connectors.shapes import object_with
from opsgraph.connectors.toolkit.auth import ClientCredentials
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.connectors.toolkit.paging import CursorPaginator
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import Client, Opportunity, SourceName

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_FIELDS_BY_SOBJECT = {"Account": ACCOUNT_FIELDS, "Opportunity": OPPORTUNITY_FIELDS}


def _token_shape(body: Any) -> str | None:
    if not isinstance(body, dict) or not body.get("access_token") or not body.get("instance_url"):
        return "the token response lacks access_token or instance_url"
    return None


def _next_records_url(body: Mapping[str, Any]) -> Any:
    return None if body.get("done", True) else body.get("nextRecordsUrl")


def _name(value: str, what: str) -> str:
    """An sObject or field API name, checked so that it cannot change a URL path or a query."""
    if not _NAME.fullmatch(value):
        raise ValueError(f"not a Salesforce {what} name: {value!r}")
    return value


class SalesforceClient(SourceClient):
    source: ClassVar[SourceName] = SourceName.SALESFORCE
    api_version: ClassVar[str] = "v60.0"
    retrieve_chunk: ClassVar[int] = 2000  # sObject Collections read limit per request
    rate_limit_backoff_s: ClassVar[float] = 1.0  # REQUEST_LIMIT_EXCEEDED carries no Retry-After

    def __init__(self, config: SourceConfig, *, soql_in_chunk: int = 300, clock: Clock | None = None) -> None:
        super().__init__(config, clock=clock)
        self.soql_in_chunk = soql_in_chunk  # ids per `IN (...)`: 300 quoted ids keep the URL near 9 KB
        self.authenticator = self._oauth = ClientCredentials(
            self, "/services/oauth2/token", self._token_form, expect=_token_shape
        )

    # -- auth ------------------------------------------------------------------------------------

    def _token_form(self) -> dict[str, str]:
        creds = self.config.credentials
        return {
            "grant_type": "client_credentials",
            "client_id": creds.get("client_id", ""),
            "client_secret": creds.get("client_secret", ""),
        }

    # -- vendor signals --------------------------------------------------------------------------

    def retry_after(self, response: UpstreamResponse) -> float | None:
        seconds = retry_after_header(response.headers, self.clock)
        if response.status == 403 and self.error_detail(response)[0] == "REQUEST_LIMIT_EXCEEDED":
            return seconds if seconds is not None else self.rate_limit_backoff_s
        if response.status in (429, 503) and seconds is not None:
            return seconds
        return super().retry_after(response)

    def error_detail(self, response: UpstreamResponse) -> tuple[str | None, str]:
        body = response.body
        if response.status == 300 and isinstance(body, list):
            return "MULTIPLE_CHOICES", f"the external id matches several records: {', '.join(map(str, body))}"
        if isinstance(body, list) and body and isinstance(body[0], dict):
            first = body[0]
            code = first.get("errorCode") or first.get("statusCode")
            return (str(code) if code else None), str(first.get("message") or f"HTTP {response.status}")
        if isinstance(body, dict) and "error" in body:
            return str(body["error"]), str(body.get("error_description") or body["error"])
        return None, f"HTTP {response.status}" + (f": {body[:200]}" if isinstance(body, str) and body else "")

    # -- transport helpers -----------------------------------------------------------------------

    async def _api(self, path: str) -> str:
        """An absolute URL on the instance: `path` below `/services/data/vXX.X/`, or a server path."""
        instance_url = str((await self._oauth.token()).body["instance_url"]).rstrip("/")
        if path.startswith("/services/"):
            return instance_url + path
        return f"{instance_url}/services/data/{self.api_version}/{path.lstrip('/')}"

    # -- reads -----------------------------------------------------------------------------------

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """Run SOQL and follow `nextRecordsUrl` to the end; records as Salesforce returns them."""
        shape = object_with("records")

        async def fetch(next_url: str | None) -> dict[str, Any]:
            if next_url is None:
                first = await self.request("GET", await self._api("query"), params={"q": soql}, expect=shape)
                return dict(first.body)
            return dict((await self.request("GET", await self._api(next_url), expect=shape)).body)

        paginator = CursorPaginator(_next_records_url, source=self.source, what="SOQL query")
        return [record for page in await paginator.pages(fetch) for record in page["records"]]

    async def _retrieve(self, sobject: str, ids: Sequence[str], fields: Sequence[str]) -> list[Any]:
        url = await self._api(f"composite/sobjects/{sobject}")

        def one_per_id(body: Any) -> str | None:
            if not isinstance(body, list) or len(body) != len(ids):
                return f"composite read of {len(ids)} {sobject} ids gave a malformed answer"
            return None

        response = await self.request(
            "POST", url, json={"ids": list(ids), "fields": list(fields)}, retry=True, expect=one_per_id
        )
        body: list[Any] = response.body
        return body

    async def _by_ids(
        self, sobject: str, prefix: str, ids: Iterable[str]
    ) -> dict[str, dict[str, Any] | None]:
        """Records by id in as few sObject Collections calls as possible; None where missing."""
        unique = list(dict.fromkeys(ids))
        out: dict[str, dict[str, Any] | None] = dict.fromkeys(unique)
        wanted = [i for i in unique if is_salesforce_id(i, prefix)]  # anything else cannot exist
        parts = chunks(wanted, self.retrieve_chunk)
        fields = _FIELDS_BY_SOBJECT[sobject]
        answers = await asyncio.gather(*(self._retrieve(sobject, chunk, fields) for chunk in parts))
        for chunk, records in zip(parts, answers, strict=True):
            for record_id, record in zip(chunk, records, strict=True):
                out[record_id] = record if isinstance(record, dict) else None
        return out

    async def accounts_by_ids(self, ids: Iterable[str]) -> dict[str, Client | None]:
        found = await self._by_ids("Account", "001", ids)
        return {i: account_to_client(r) if r else None for i, r in found.items()}

    async def opportunities_by_ids(self, ids: Iterable[str]) -> dict[str, Opportunity | None]:
        found = await self._by_ids("Opportunity", "006", ids)
        return {i: opportunity_from_record(r) if r else None for i, r in found.items()}

    async def list_accounts(self) -> list[Client]:
        records = await self.query(f"SELECT {', '.join(ACCOUNT_FIELDS)} FROM Account ORDER BY Id")
        return [account_to_client(r) for r in records]

    async def _opportunities_where_in(self, field: str, values: Sequence[str]) -> list[Opportunity]:
        select = f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity"
        queries = [
            f"{select} WHERE {field} IN ({', '.join(soql_quote(v) for v in chunk)}) ORDER BY Id"
            for chunk in chunks(values, self.soql_in_chunk)
        ]
        batches = await asyncio.gather(*(self.query(q) for q in queries))
        return [opportunity_from_record(r) for batch in batches for r in batch]

    async def opportunities_by_account_ids(self, account_ids: Iterable[str]) -> dict[str, list[Opportunity]]:
        """Each account's opportunities (an empty list where it has none or does not exist)."""
        unique = list(dict.fromkeys(account_ids))
        out: dict[str, list[Opportunity]] = {i: [] for i in unique}
        keys: dict[str, list[str]] = {}
        for i in unique:
            if is_salesforce_id(i, "001"):
                keys.setdefault(to_18(i), []).append(i)
        for opportunity in await self._opportunities_where_in("AccountId", list(keys)):
            for key in keys.get(opportunity.client_id, []):
                out[key].append(opportunity)
        return out

    async def opportunities_by_engagement_codes(self, codes: Iterable[str]) -> dict[str, Opportunity | None]:
        """The opportunity carrying each engagement code (matched case-insensitively, as SOQL does)."""
        unique = list(dict.fromkeys(codes))
        out: dict[str, Opportunity | None] = dict.fromkeys(unique)
        by_lower: dict[str, list[str]] = {}
        for code in unique:
            by_lower.setdefault(code.lower(), []).append(code)
        for opportunity in await self._opportunities_where_in("Engagement_Code__c", list(by_lower)):
            for code in by_lower.get((opportunity.engagement_code or "").lower(), []):
                if out[code] is None:  # several opportunities with one code: the lowest Id wins
                    out[code] = opportunity
        return out

    async def list_opportunities(
        self, *, is_closed: bool | None = None, stage: str | None = None
    ) -> list[Opportunity]:
        conditions = []
        if is_closed is not None:
            conditions.append(f"IsClosed = {'true' if is_closed else 'false'}")
        if stage is not None:
            conditions.append(f"StageName = {soql_quote(stage)}")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        records = await self.query(
            f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity{where} ORDER BY Id"
        )
        return [opportunity_from_record(r) for r in records]

    async def changed_since(self, sobject: str, since: datetime) -> list[dict[str, Any]]:
        """Records whose SystemModstamp is after `since` (floored to the second), oldest first."""
        fields = _FIELDS_BY_SOBJECT.get(sobject)
        if fields is None:
            raise ValueError(f"changed_since supports {sorted(_FIELDS_BY_SOBJECT)}, not {sobject!r}")
        return await self.query(
            f"SELECT {', '.join(fields)} FROM {sobject} WHERE SystemModstamp > {soql_datetime(since)} "
            "ORDER BY SystemModstamp, Id"
        )

    # -- writes ----------------------------------------------------------------------------------

    @staticmethod
    def _body(fields: Mapping[str, Any]) -> dict[str, Any]:
        return {_name(k, "field"): to_sf_value(v) for k, v in fields.items()}

    async def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Create a record; never retried (a retry could create it twice: prefer `upsert`)."""
        url = await self._api(f"sobjects/{_name(sobject, 'sObject')}")
        response = await self.request("POST", url, json=self._body(fields), ok=(201,), retry=False)
        return self._saved_id(response)

    async def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Set fields on a record; retried, since writing the same values twice is harmless."""
        if not is_salesforce_id(record_id):
            raise ValueError(f"not a Salesforce id: {record_id!r}")
        url = await self._api(f"sobjects/{_name(sobject, 'sObject')}/{record_id}")
        await self.request("PATCH", url, json=self._body(fields), ok=(204,), retry=True)

    async def upsert(
        self, sobject: str, ext_field: str, value: str, fields: Mapping[str, Any]
    ) -> tuple[str, bool]:
        """Create or update by external id; returns (id, created). Idempotent, so it is retried."""
        path = f"sobjects/{_name(sobject, 'sObject')}/{_name(ext_field, 'field')}/{quote(value, safe='')}"
        response = await self.request(
            "PATCH", await self._api(path), json=self._body(fields), ok=(200, 201), retry=True
        )
        return self._saved_id(response), response.status == 201

    async def delete(self, sobject: str, record_id: str) -> None:
        if not is_salesforce_id(record_id):
            raise ValueError(f"not a Salesforce id: {record_id!r}")
        url = await self._api(f"sobjects/{_name(sobject, 'sObject')}/{record_id}")
        await self.request("DELETE", url, ok=(204,), retry=False)

    def _saved_id(self, response: UpstreamResponse) -> str:
        body = response.body
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("id"), str)
            or body.get("success") is not True
        ):
            raise SourceDataError(self.source, f"write response is not a success result: {body!r:.200}")
        return str(body["id"])
