"""The HubSpot CRM v3 connector (the CRM port): private-app bearer auth, cursor paging, batch reads,
search, associations, change polling on `hs_lastmodifieddate`.

`config.base_url` is the API host (`https://api.hubapi.com`); credentials: `access_token`, a private
app's token. Companies are clients, deals are opportunities, a deal's client is its primary company
(associations v4).

Search returns at most `search_cap` (10,000) results per query: a larger answer is read again split
into `hs_lastmodifieddate` windows, halving until each fits. Filters beyond HubSpot's group limits are
refused before any request (`SourceRejected`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from opsgraph.clock import Clock
from opsgraph.connectors.base import (
    SourceClient,
    SourceConfig,
    SourceDataError,
    SourceRejected,
    UpstreamResponse,
)
from opsgraph.connectors.hubspot.crm_writes import HubSpotCrmWrites
from opsgraph.connectors.hubspot.limits import Filter, check_filter_groups, is_object_id
from opsgraph.connectors.hubspot.mapping import (
    company_to_client,
    deal_to_opportunity,
    epoch_ms,
    last_modified,
    primary_company,
)
from opsgraph.connectors.hubspot.resources import (
    ASSOCIATION_BATCH_LIMIT,
    ASSOCIATIONS_PATH,
    BATCH_LIMIT,
    COMPANIES,
    DEAL_TO_COMPANY_PRIMARY,
    DEALS,
    PAGE_LIMIT,
    SEARCH_IN_LIMIT,
    SEARCH_PAGE_LIMIT,
    SEARCH_RESULT_CAP,
    STAGE_BY_LABEL,
)
from opsgraph.connectors.toolkit.auth import BearerToken
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.connectors.toolkit.paging import CursorPaginator, dig
from opsgraph.connectors.toolkit.resources import ResourceSpec
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import Client, Opportunity, Role
from opsgraph.roles import Change, ChangeBatch, Entity
from opsgraph.roles.filters import OpportunityFilter

Record = dict[str, Any]
DAILY_WAIT_S = 3600.0  # a DAILY 429 lasts until the portal's midnight: far beyond any retry budget
_POLLED: dict[Entity, ResourceSpec] = {Entity.CLIENT: COMPANIES, Entity.OPPORTUNITY: DEALS}


def _next_after(body: Mapping[str, Any]) -> Any:
    return dig(body, "paging", "next", "after")


class HubSpotClient(HubSpotCrmWrites, SourceClient):
    vendor: ClassVar[str] = "hubspot"
    role: ClassVar[Role] = Role.CRM
    search_interval_s: ClassVar[float] = 0.25  # 4 searches a second, under the documented 4-5

    def __init__(
        self,
        config: SourceConfig,
        *,
        system: str | None = None,
        search_cap: int = SEARCH_RESULT_CAP,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(config, system=system, clock=clock)
        self.search_cap = search_cap
        self._search_gate = asyncio.Lock()
        self._last_search: float | None = None
        # a private-app token does not expire: a 401 is final
        self.authenticator = BearerToken(lambda: self.config.credentials.get("access_token", ""))

    async def _pace_search(self) -> None:
        """Keep search calls `search_interval_s` apart: search has its own per-second limit per token."""
        async with self._search_gate:
            now = self.clock.monotonic()
            if self._last_search is not None and now - self._last_search < self.search_interval_s:
                await self.clock.sleep(self.search_interval_s - (now - self._last_search))
            self._last_search = self.clock.monotonic()

    # -- hooks -------------------------------------------------------------------------------------

    def retry_after(self, response: UpstreamResponse) -> float | None:
        """Retry-After when sent; a DAILY limit waits past any budget; the rolling one its interval."""
        if response.status != 429:
            return None
        wait = retry_after_header(response.headers, self.clock)
        if wait is not None:
            return wait
        body = response.body if isinstance(response.body, dict) else {}
        if body.get("policyName") == "DAILY":
            return DAILY_WAIT_S
        if body.get("policyName") == "SECONDLY" or "X-HubSpot-RateLimit-Secondly" in response.headers:
            return 1.0
        interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
        try:
            return max(0.0, int(interval) / 1000) if interval is not None else 10.0
        except ValueError:
            return 10.0

    def error_detail(self, response: UpstreamResponse) -> tuple[str | None, str]:
        body = response.body
        if isinstance(body, dict):
            code = body.get("policyName") if body.get("errorType") == "RATE_LIMIT" else body.get("category")
            message = str(body.get("message") or f"HTTP {response.status}")
            if body.get("subCategory"):
                message += f" ({body['subCategory']})"
            return (str(code) if code else None), f"HubSpot: {message}"
        text = f": {body[:200]}" if isinstance(body, str) and body else ""
        return None, f"HubSpot: HTTP {response.status}{text}"

    # -- transport helpers -------------------------------------------------------------------------

    def _records(
        self, response: UpstreamResponse, what: str, records_path: str | None = "results"
    ) -> tuple[list[Record], dict[str, Any]]:
        body = response.body
        key = records_path or "results"
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise SourceDataError(self.system, f"HubSpot {what} response has no {key!r} list")
        return [r for r in body[key] if isinstance(r, dict)], body

    async def _paged(self, resource: ResourceSpec, properties: Sequence[str] = ()) -> list[Record]:
        """Every record of a list endpoint, following `paging.next.after` to the end."""
        params = {"limit": str(PAGE_LIMIT), "archived": "false"}
        if properties:
            params["properties"] = ",".join(properties)
        out: list[Record] = []

        async def fetch(after: str | None) -> dict[str, Any]:
            query = params if after is None else {**params, "after": after}
            response = await self.request("GET", resource.path, params=query)
            records, body = self._records(response, what, resource.records_path)
            out.extend(records)
            return body

        what = f"{resource.name} list"
        await CursorPaginator(_next_after, system=self.system, what=f"HubSpot {what}").pages(fetch)
        return out

    async def _batch_read(
        self, resource: ResourceSpec, ids: Sequence[str], id_property: str | None = None
    ) -> dict[str, Record]:
        """Records by id (or by a unique property's value), 100 per call; missing ones are absent."""
        bodies = [
            {
                "inputs": [{"id": i} for i in chunk],
                "properties": list(resource.fields),
                "propertiesWithHistory": [],
                **({"idProperty": id_property} if id_property else {}),
            }
            for chunk in chunks(ids, BATCH_LIMIT)
        ]
        path = f"{resource.path}/batch/read"
        answers = await asyncio.gather(
            *(self.request("POST", path, json=b, retry=True, ok=(200, 207)) for b in bodies)
        )
        out: dict[str, Record] = {}
        for response in answers:
            for record in self._records(response, f"{resource.name} batch/read", resource.records_path)[0]:
                key = (
                    record.get(resource.id_field)
                    if id_property is None
                    else (record.get("properties") or {}).get(id_property)
                )
                if isinstance(key, str):
                    out[key] = record
        return out

    async def _associations(self, from_kind: str, to_kind: str, ids: Sequence[str]) -> dict[str, Record]:
        """v4 association results by `from` id, 100 ids per call; ids with none are absent."""
        path = ASSOCIATIONS_PATH.format(from_kind=from_kind, to_kind=to_kind)
        answers = await asyncio.gather(
            *(
                self.request(
                    "POST", path, json={"inputs": [{"id": i} for i in chunk]}, retry=True, ok=(200, 207)
                )
                for chunk in chunks(ids, ASSOCIATION_BATCH_LIMIT)
            )
        )
        out: dict[str, Record] = {}
        for response in answers:
            for result in self._records(response, "associations batch/read")[0]:
                from_id = (result.get("from") or {}).get("id")
                if from_id is not None:
                    out[str(from_id)] = result
        return out

    async def _opportunities(self, deals: Sequence[Record]) -> list[Opportunity]:
        """Deals as opportunities, each with its primary company (one association read per 100)."""
        ids = [str(d.get(DEALS.id_field)) for d in deals]
        links = await self._associations("deals", "companies", ids) if ids else {}
        out = []
        for deal, deal_id in zip(deals, ids, strict=True):
            company = primary_company(links.get(deal_id, {}), DEAL_TO_COMPANY_PRIMARY)
            if company is None:
                raise SourceDataError(
                    self.system,
                    "HubSpot deal has no associated company",
                    record_id=deal_id,
                    field="companies",
                )
            out.append(deal_to_opportunity(deal, company, self.system))
        return out

    # -- search ------------------------------------------------------------------------------------

    async def _search_page(
        self, resource: ResourceSpec, body: dict[str, Any]
    ) -> tuple[list[Record], dict[str, Any]]:
        await self._pace_search()
        response = await self.request("POST", f"{resource.path}/search", json=body, retry=True)
        records, raw = self._records(response, f"{resource.name} search", resource.records_path)
        if not isinstance(raw.get("total"), int):
            raise SourceDataError(self.system, f"HubSpot {resource.name} search response has no 'total'")
        return records, raw

    async def search(
        self,
        resource: ResourceSpec,
        filters: Sequence[Filter],
        *,
        lo_ms: int | None = None,
        hi_ms: int | None = None,
        properties: Sequence[str] | None = None,
    ) -> list[Record]:
        """Every record matching all `filters` (one AND group), oldest change first.

        Over the result cap, the `[lo_ms, hi_ms)` window of the change field is halved until each
        half fits; a single millisecond over the cap is reported as `SourceDataError`. `properties`
        defaults to the resource's declared fields.
        """
        change = resource.change_field or "hs_object_id"
        window: list[Filter] = []
        if lo_ms is not None:
            window.append({"propertyName": change, "operator": "GTE", "value": str(lo_ms)})
        if hi_ms is not None:
            window.append({"propertyName": change, "operator": "LT", "value": str(hi_ms)})
        groups = [[*filters, *window]]
        try:
            check_filter_groups(groups)
        except ValueError as exc:
            raise SourceRejected(self.system, f"HubSpot search too complex: {exc}") from None
        body: dict[str, Any] = {
            "filterGroups": [{"filters": g} for g in groups],
            "sorts": [{"propertyName": change, "direction": "ASCENDING"}],
            "properties": list(resource.fields if properties is None else properties),
            "limit": SEARCH_PAGE_LIMIT,
        }
        records, raw = await self._search_page(resource, body)
        if raw["total"] > self.search_cap:
            lo = 0 if lo_ms is None else lo_ms
            hi = int(self.clock.time() * 1000) + 1 if hi_ms is None else hi_ms
            if hi - lo <= 1:
                raise SourceDataError(
                    self.system,
                    f"HubSpot search: {raw['total']} {resource.name} changed in one millisecond, over the "
                    f"{self.search_cap}-result cap",
                )
            mid = (lo + hi) // 2
            first = await self.search(resource, filters, lo_ms=lo, hi_ms=mid, properties=properties)
            return first + await self.search(resource, filters, lo_ms=mid, hi_ms=hi, properties=properties)
        out = list(records)

        async def fetch(after: str | None) -> dict[str, Any]:
            more, page = await self._search_page(resource, {**body, "after": after})
            out.extend(more)
            return page

        what = f"HubSpot {resource.name} search"
        await CursorPaginator(_next_after, system=self.system, what=what).pages(fetch, first=raw)
        return out

    # -- the CRM port ------------------------------------------------------------------------------

    async def probe(self) -> None:
        """One cheap authenticated read: a batch read of company id 0 (found or not, a 200)."""
        await self._batch_read(COMPANIES, ["0"])

    async def clients_by_ids(self, ids: Iterable[str]) -> dict[str, Client]:
        found = await self._batch_read(COMPANIES, [i for i in dict.fromkeys(ids) if is_object_id(i)])
        return {i: company_to_client(r, self.system) for i, r in found.items()}

    async def opportunities_by_ids(self, ids: Iterable[str]) -> dict[str, Opportunity]:
        found = await self._batch_read(DEALS, [i for i in dict.fromkeys(ids) if is_object_id(i)])
        return {o.id: o for o in await self._opportunities(list(found.values()))}

    async def list_clients(self) -> list[Client]:
        records = await self._paged(COMPANIES, COMPANIES.fields)
        return sorted((company_to_client(r, self.system) for r in records), key=lambda c: int(c.id))

    async def list_opportunities(self, filter: OpportunityFilter | None = None) -> list[Opportunity]:
        """All deals, or those matching `filter`, pushed down to the search API; ordered by id."""
        filters: list[Filter] = []
        if filter is not None and filter.is_closed is not None:
            filters.append(
                {"propertyName": "hs_is_closed", "operator": "EQ", "value": str(filter.is_closed).lower()}
            )
        if filter is not None and filter.stage is not None:
            known = STAGE_BY_LABEL.get(filter.stage)
            if known is None:
                return []  # not a stage of the pipeline: nothing can match
            filters.append({"propertyName": "dealstage", "operator": "EQ", "value": known.id})
        deals = await (self.search(DEALS, filters) if filters else self._paged(DEALS, DEALS.fields))
        return sorted(await self._opportunities(deals), key=lambda o: int(o.id))

    async def opportunities_by_client_ids(self, client_ids: Iterable[str]) -> dict[str, list[Opportunity]]:
        """Each company's deals by id (`[]` where it has none or none exists): associations, a batch read."""
        unique = list(dict.fromkeys(client_ids))
        out: dict[str, list[Opportunity]] = {i: [] for i in unique}
        links = await self._associations("companies", "deals", [i for i in unique if is_object_id(i)])
        deal_company: dict[str, str] = {}
        for company, result in links.items():
            for target in result.get("to") or []:
                if isinstance(target, dict) and target.get("toObjectId") is not None:
                    deal_company.setdefault(str(target["toObjectId"]), company)
        if not deal_company:
            return out
        deals = await self._batch_read(DEALS, list(deal_company))
        for deal_id in sorted(deals, key=int):
            company = deal_company[deal_id]
            out[company].append(deal_to_opportunity(deals[deal_id], company, self.system))
        return out

    async def opportunities_by_engagement_codes(self, codes: Iterable[str]) -> dict[str, Opportunity]:
        """The deal carrying each engagement code (case-insensitive; several deals: the lowest id).

        A batch read with `idProperty=engagement_code` finds the codes as stored; HubSpot looks unique
        values up exactly as sent, so the codes it misses are searched with `IN` (which compares
        string values in lower case), in chunks of the operator's 100 values.
        """
        unique = [c for c in dict.fromkeys(codes) if c]
        raw = list((await self._batch_read(DEALS, unique, id_property="engagement_code")).values())
        found = {str(r.get("properties", {}).get("engagement_code") or "").lower() for r in raw}
        missing = sorted({c.lower() for c in unique} - found)
        for chunk in chunks(missing, SEARCH_IN_LIMIT):
            values = {"propertyName": "engagement_code", "operator": "IN", "values": list(chunk)}
            raw += await self.search(DEALS, [values])
        by_code: dict[str, Opportunity] = {}
        for opportunity in sorted(await self._opportunities(raw), key=lambda o: int(o.id)):
            by_code.setdefault((opportunity.engagement_code or "").lower(), opportunity)
        return {c: by_code[c.lower()] for c in unique if c.lower() in by_code}

    async def changed_since(self, entity: Entity, since: datetime) -> ChangeBatch:
        """Companies or deals whose `hs_lastmodifieddate` is after `since`, oldest first.

        Search filters on whole milliseconds: it asks from `since`'s millisecond (GTE) and the
        results at or before `since` are dropped here.
        """
        spec = _POLLED.get(entity)
        if spec is None or spec.change_field is None:
            raise ValueError(f"{self.system} polls {sorted(_POLLED)}, not {entity!r}")
        records = await self.search(spec, [], lo_ms=epoch_ms(since), properties=[spec.change_field])
        latest: dict[str, datetime] = {}
        for record in records:
            record_id, modified_at = last_modified(record, self.system)
            if modified_at > since:
                latest.pop(record_id, None)
                latest[record_id] = modified_at
        changes = tuple(Change(id=i, modified_at=at) for i, at in latest.items())
        high_water = max((c.modified_at for c in changes if c.modified_at), default=since)
        return ChangeBatch(entity=entity, since=since, high_water=max(high_water, since), changes=changes)
