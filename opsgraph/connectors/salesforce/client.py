"""The Salesforce REST connector (the CRM port): OAuth client credentials, SOQL paging, composite
reads, change polling on `SystemModstamp`, and low-level writes.

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
from opsgraph.connectors.salesforce.crm_writes import SalesforceCrmWrites
from opsgraph.connectors.salesforce.mapping import (
    account_to_client,
    is_salesforce_id,
    modstamp,
    opportunity_from_record,
    soql_datetime,
    soql_quote,
    to_18,
    to_sf_value,
)
from opsgraph.connectors.salesforce.resources import ACCOUNT, KEY_PREFIX, OPPORTUNITY
from opsgraph.connectors.shapes import object_with
from opsgraph.connectors.toolkit.auth import ClientCredentials
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.connectors.toolkit.paging import CursorPaginator
from opsgraph.connectors.toolkit.resources import ResourceSpec
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import Client, Opportunity, Role
from opsgraph.roles import Change, ChangeBatch, Entity
from opsgraph.roles.filters import OpportunityFilter

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_POLLED: dict[Entity, ResourceSpec] = {Entity.CLIENT: ACCOUNT, Entity.OPPORTUNITY: OPPORTUNITY}


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


def _select(spec: ResourceSpec, fields: tuple[str, ...] | None = None) -> str:
    return f"SELECT {', '.join(spec.fields if fields is None else fields)} FROM {spec.path}"


class SalesforceClient(SalesforceCrmWrites, SourceClient):
    vendor: ClassVar[str] = "salesforce"
    role: ClassVar[Role] = Role.CRM
    api_version: ClassVar[str] = "v60.0"
    retrieve_chunk: ClassVar[int] = 2000  # sObject Collections read limit per request
    rate_limit_backoff_s: ClassVar[float] = 1.0  # REQUEST_LIMIT_EXCEEDED carries no Retry-After

    def __init__(
        self,
        config: SourceConfig,
        *,
        system: str | None = None,
        soql_in_chunk: int = 300,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(config, system=system, clock=clock)
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

    async def probe(self) -> None:
        """One cheap authenticated read: a token (if none is cached) and a one-row SOQL query."""
        await self.query(f"SELECT {ACCOUNT.id_field} FROM {ACCOUNT.path} LIMIT 1")

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """Run SOQL and follow `nextRecordsUrl` to the end; records as Salesforce returns them."""
        records_path = ACCOUNT.records_path or "records"
        shape = object_with(records_path)

        async def fetch(next_url: str | None) -> dict[str, Any]:
            if next_url is None:
                first = await self.request("GET", await self._api("query"), params={"q": soql}, expect=shape)
                return dict(first.body)
            return dict((await self.request("GET", await self._api(next_url), expect=shape)).body)

        paginator = CursorPaginator(_next_records_url, system=self.system, what="SOQL query")
        return [record for page in await paginator.pages(fetch) for record in page[records_path]]

    async def _retrieve(self, spec: ResourceSpec, ids: Sequence[str]) -> list[Any]:
        url = await self._api(f"composite/sobjects/{spec.name}")

        def one_per_id(body: Any) -> str | None:
            if not isinstance(body, list) or len(body) != len(ids):
                return f"composite read of {len(ids)} {spec.name} ids gave a malformed answer"
            return None

        response = await self.request(
            "POST", url, json={"ids": list(ids), "fields": list(spec.fields)}, retry=True, expect=one_per_id
        )
        body: list[Any] = response.body
        return body

    async def _by_ids(self, spec: ResourceSpec, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Records by id in as few sObject Collections calls as possible; missing ids are absent.

        An id not shaped like one of the sObject's ids cannot exist and is never sent.
        """
        prefix = KEY_PREFIX[spec.name]
        wanted = [i for i in dict.fromkeys(ids) if is_salesforce_id(i, prefix)]
        parts = chunks(wanted, self.retrieve_chunk)
        answers = await asyncio.gather(*(self._retrieve(spec, chunk) for chunk in parts))
        out: dict[str, dict[str, Any]] = {}
        for chunk, records in zip(parts, answers, strict=True):
            for record_id, record in zip(chunk, records, strict=True):
                if isinstance(record, dict):
                    out[record_id] = record
        return out

    async def clients_by_ids(self, ids: Iterable[str]) -> dict[str, Client]:
        found = await self._by_ids(ACCOUNT, ids)
        return {i: account_to_client(r, self.system) for i, r in found.items()}

    async def opportunities_by_ids(self, ids: Iterable[str]) -> dict[str, Opportunity]:
        found = await self._by_ids(OPPORTUNITY, ids)
        return {i: opportunity_from_record(r, self.system) for i, r in found.items()}

    async def list_clients(self) -> list[Client]:
        records = await self.query(f"{_select(ACCOUNT)} ORDER BY {ACCOUNT.id_field}")
        return [account_to_client(r, self.system) for r in records]

    async def _opportunities_where_in(self, field: str, values: Sequence[str]) -> list[Opportunity]:
        queries = [
            f"{_select(OPPORTUNITY)} WHERE {field} IN ({', '.join(soql_quote(v) for v in chunk)}) "
            f"ORDER BY {OPPORTUNITY.id_field}"
            for chunk in chunks(values, self.soql_in_chunk)
        ]
        batches = await asyncio.gather(*(self.query(q) for q in queries))
        return [opportunity_from_record(r, self.system) for batch in batches for r in batch]

    async def opportunities_by_client_ids(self, client_ids: Iterable[str]) -> dict[str, list[Opportunity]]:
        """Each account's opportunities, by id (`[]` where it has none or does not exist)."""
        unique = list(dict.fromkeys(client_ids))
        out: dict[str, list[Opportunity]] = {i: [] for i in unique}
        keys: dict[str, list[str]] = {}
        for i in unique:
            if is_salesforce_id(i, KEY_PREFIX[ACCOUNT.name]):
                keys.setdefault(to_18(i), []).append(i)
        for opportunity in await self._opportunities_where_in("AccountId", list(keys)):
            for key in keys.get(opportunity.client_id, []):
                out[key].append(opportunity)
        return out

    async def opportunities_by_engagement_codes(self, codes: Iterable[str]) -> dict[str, Opportunity]:
        """The opportunity carrying each engagement code (matched case-insensitively, as SOQL does)."""
        by_lower: dict[str, list[str]] = {}
        for code in dict.fromkeys(codes):
            if code:
                by_lower.setdefault(code.lower(), []).append(code)
        out: dict[str, Opportunity] = {}
        for opportunity in await self._opportunities_where_in("Engagement_Code__c", list(by_lower)):
            for code in by_lower.get((opportunity.engagement_code or "").lower(), []):
                out.setdefault(code, opportunity)  # several with one code: the lowest Id wins
        return out

    async def list_opportunities(self, filter: OpportunityFilter | None = None) -> list[Opportunity]:
        """Opportunities matching `filter`, as a SOQL WHERE, ordered by id."""
        conditions = []
        if filter is not None and filter.is_closed is not None:
            conditions.append(f"IsClosed = {'true' if filter.is_closed else 'false'}")
        if filter is not None and filter.stage is not None:
            conditions.append(f"StageName = {soql_quote(filter.stage)}")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        records = await self.query(f"{_select(OPPORTUNITY)}{where} ORDER BY {OPPORTUNITY.id_field}")
        return [opportunity_from_record(r, self.system) for r in records]

    async def changed_since(self, entity: Entity, since: datetime) -> ChangeBatch:
        """Records whose `SystemModstamp` is after `since`, oldest first.

        SOQL datetime literals stop at the second, so the query asks from the floored second and the
        rows at or before `since` are dropped here.
        """
        spec = _POLLED.get(entity)
        if spec is None or spec.change_field is None:
            raise ValueError(f"{self.system} polls {sorted(_POLLED)}, not {entity!r}")
        stamp = spec.change_field
        rows = await self.query(
            f"{_select(spec, (spec.id_field, stamp))} WHERE {stamp} > {soql_datetime(since)} "
            f"ORDER BY {stamp}, {spec.id_field}"
        )
        latest: dict[str, datetime] = {}
        for row in rows:
            record_id, modified_at = modstamp(row, self.system)
            if modified_at > since:
                latest.pop(record_id, None)
                latest[record_id] = modified_at
        changes = tuple(Change(id=i, modified_at=at) for i, at in latest.items())
        high_water = max((c.modified_at for c in changes if c.modified_at), default=since)
        return ChangeBatch(entity=entity, since=since, high_water=max(high_water, since), changes=changes)

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
            raise SourceDataError(self.system, f"write response is not a success result: {body!r:.200}")
        return str(body["id"])
