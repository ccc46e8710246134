"""The HubSpot CRM v3 connector: private-app bearer auth, cursor paging, batch reads, search, associations.

`config.base_url` is the API host (`https://api.hubapi.com`); credentials: `access_token`, a private
app's token. Reads speak canonical terms (the same methods as the Salesforce connector): companies
are clients, deals are opportunities, a deal's client is its primary company (associations v4).

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
from opsgraph.connectors.hubspot.mapping import (
    company_to_client,
    deal_to_opportunity,
    epoch_ms,
    primary_company,
)
from opsgraph.connectors.hubspot.resources import (
    ASSOCIATION_BATCH_LIMIT,
    BATCH_LIMIT,
    COMPANIES,
    DEAL_TO_COMPANY_PRIMARY,
    DEALS,
    OWNERS,
    PAGE_LIMIT,
    RESOURCES,
    SEARCH_MAX_FILTERS,
    SEARCH_MAX_FILTERS_PER_GROUP,
    SEARCH_MAX_GROUPS,
    SEARCH_PAGE_LIMIT,
    SEARCH_RESULT_CAP,
    STAGE_BY_LABEL,
    SYSTEM,
    Resource,
)
from opsgraph.connectors.toolkit.auth import BearerToken
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.connectors.toolkit.paging import CursorPaginator, dig
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import Client, Opportunity, SourceName

Filter = dict[str, Any]
Record = dict[str, Any]
DAILY_WAIT_S = 3600.0  # a DAILY 429 lasts until the portal's midnight: far beyond any retry budget


def check_filter_groups(groups: Sequence[Sequence[Filter]]) -> None:
    """Raise ValueError when a search would break HubSpot's filter-group limits."""
    total = sum(len(g) for g in groups)
    if len(groups) > SEARCH_MAX_GROUPS:
        raise ValueError(f"{len(groups)} filter groups; HubSpot allows {SEARCH_MAX_GROUPS}")
    if any(len(g) > SEARCH_MAX_FILTERS_PER_GROUP for g in groups):
        raise ValueError(f"more than {SEARCH_MAX_FILTERS_PER_GROUP} filters in one group")
    if total > SEARCH_MAX_FILTERS:
        raise ValueError(f"{total} filters; HubSpot allows {SEARCH_MAX_FILTERS} in total")


def _next_after(body: Mapping[str, Any]) -> Any:
    return dig(body, "paging", "next", "after")


def _is_object_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 20  # "¹".isdigit() is True


class HubSpotClient(SourceClient):
    # SourceName has no HubSpot member until the roles refactor: errors carry the CRM slot's name,
    # and every message this client writes names HubSpot (`system`).
    source: ClassVar[SourceName] = SourceName.SALESFORCE
    system: ClassVar[str] = SYSTEM
    search_interval_s: ClassVar[float] = 0.25  # 4 searches a second, under the documented 4-5

    def __init__(
        self, config: SourceConfig, *, search_cap: int = SEARCH_RESULT_CAP, clock: Clock | None = None
    ) -> None:
        super().__init__(config, clock=clock)
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

    def _records(self, response: UpstreamResponse, what: str) -> tuple[list[Record], dict[str, Any]]:
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise SourceDataError(self.source, f"HubSpot {what} response has no 'results' list")
        return [r for r in body["results"] if isinstance(r, dict)], body

    async def _paged(self, resource: Resource, properties: Sequence[str] = ()) -> list[Record]:
        """Every record of a list endpoint, following `paging.next.after` to the end."""
        params = {"limit": str(PAGE_LIMIT), "archived": "false"}
        if properties:
            params["properties"] = ",".join(properties)
        out: list[Record] = []

        async def fetch(after: str | None) -> dict[str, Any]:
            query = params if after is None else {**params, "after": after}
            records, body = self._records(await self.request("GET", resource.path, params=query), what)
            out.extend(records)
            return body

        what = f"{resource.name} list"
        await CursorPaginator(_next_after, source=self.source, what=f"HubSpot {what}").pages(fetch)
        return out

    async def _batch_read(
        self, resource: Resource, ids: Sequence[str], id_property: str | None = None
    ) -> dict[str, Record]:
        """Records by id (or by a unique property's value), 100 per call; missing ones are absent."""
        bodies = [
            {
                "inputs": [{"id": i} for i in chunk],
                "properties": list(resource.properties),
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
            for record in self._records(response, f"{resource.name} batch/read")[0]:
                key = (
                    record.get("id")
                    if id_property is None
                    else (record.get("properties") or {}).get(id_property)
                )
                if isinstance(key, str):
                    out[key] = record
        return out

    async def _associations(self, from_kind: str, to_kind: str, ids: Sequence[str]) -> dict[str, Record]:
        """v4 association results by `from` id, 100 ids per call; ids with none are absent."""
        path = f"/crm/v4/associations/{from_kind}/{to_kind}/batch/read"
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
        ids = [str(d.get("id")) for d in deals]
        links = await self._associations("deals", "companies", ids) if ids else {}
        out = []
        for deal, deal_id in zip(deals, ids, strict=True):
            company = primary_company(links.get(deal_id, {}), DEAL_TO_COMPANY_PRIMARY)
            if company is None:
                raise SourceDataError(
                    self.source,
                    "HubSpot deal has no associated company",
                    record_id=deal_id,
                    field="companies",
                )
            out.append(deal_to_opportunity(deal, company))
        return out

    # -- search ------------------------------------------------------------------------------------

    async def _search_page(
        self, resource: Resource, body: dict[str, Any]
    ) -> tuple[list[Record], dict[str, Any]]:
        await self._pace_search()
        response = await self.request("POST", f"{resource.path}/search", json=body, retry=True)
        records, raw = self._records(response, f"{resource.name} search")
        if not isinstance(raw.get("total"), int):
            raise SourceDataError(self.source, f"HubSpot {resource.name} search response has no 'total'")
        return records, raw

    async def search(
        self,
        resource: Resource,
        filters: Sequence[Filter],
        *,
        lo_ms: int | None = None,
        hi_ms: int | None = None,
    ) -> list[Record]:
        """Every record matching all `filters` (one AND group), oldest change first.

        Over the result cap, the `[lo_ms, hi_ms)` window of the change field is halved until each
        half fits; a single millisecond over the cap is reported as `SourceDataError`.
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
            raise SourceRejected(self.source, f"HubSpot search too complex: {exc}") from None
        body: dict[str, Any] = {
            "filterGroups": [{"filters": g} for g in groups],
            "sorts": [{"propertyName": change, "direction": "ASCENDING"}],
            "properties": list(resource.properties),
            "limit": SEARCH_PAGE_LIMIT,
        }
        records, raw = await self._search_page(resource, body)
        if raw["total"] > self.search_cap:
            lo = 0 if lo_ms is None else lo_ms
            hi = int(self.clock.time() * 1000) + 1 if hi_ms is None else hi_ms
            if hi - lo <= 1:
                raise SourceDataError(
                    self.source,
                    f"HubSpot search: {raw['total']} {resource.name} changed in one millisecond, over the "
                    f"{self.search_cap}-result cap",
                )
            mid = (lo + hi) // 2
            first = await self.search(resource, filters, lo_ms=lo, hi_ms=mid)
            return first + await self.search(resource, filters, lo_ms=mid, hi_ms=hi)
        out = list(records)

        async def fetch(after: str | None) -> dict[str, Any]:
            more, page = await self._search_page(resource, {**body, "after": after})
            out.extend(more)
            return page

        what = f"HubSpot {resource.name} search"
        await CursorPaginator(_next_after, source=self.source, what=what).pages(fetch, first=raw)
        return out

    # -- reads in canonical terms -------------------------------------------------------------------

    async def accounts_by_ids(self, ids: Iterable[str]) -> dict[str, Client | None]:
        unique = list(dict.fromkeys(ids))
        found = await self._batch_read(COMPANIES, [i for i in unique if _is_object_id(i)])
        return {i: company_to_client(found[i]) if i in found else None for i in unique}

    async def opportunities_by_ids(self, ids: Iterable[str]) -> dict[str, Opportunity | None]:
        unique = list(dict.fromkeys(ids))
        found = await self._batch_read(DEALS, [i for i in unique if _is_object_id(i)])
        mapped = {o.id: o for o in await self._opportunities(list(found.values()))}
        return {i: mapped.get(i) for i in unique}

    async def list_accounts(self) -> list[Client]:
        return [company_to_client(r) for r in await self._paged(COMPANIES, COMPANIES.properties)]

    async def list_opportunities(
        self, *, is_closed: bool | None = None, stage: str | None = None
    ) -> list[Opportunity]:
        """All deals, or those matching the filters, pushed down to the search API."""
        filters: list[Filter] = []
        if is_closed is not None:
            filters.append(
                {"propertyName": "hs_is_closed", "operator": "EQ", "value": str(is_closed).lower()}
            )
        if stage is not None:
            known = STAGE_BY_LABEL.get(stage)
            if known is None:
                return []  # not a stage of the pipeline: nothing can match
            filters.append({"propertyName": "dealstage", "operator": "EQ", "value": known.id})
        deals = await (self.search(DEALS, filters) if filters else self._paged(DEALS, DEALS.properties))
        return sorted(await self._opportunities(deals), key=lambda o: int(o.id))

    async def opportunities_by_account_ids(self, account_ids: Iterable[str]) -> dict[str, list[Opportunity]]:
        """Each company's deals (empty where it has none or does not exist): associations, a batch read."""
        unique = list(dict.fromkeys(account_ids))
        out: dict[str, list[Opportunity]] = {i: [] for i in unique}
        links = await self._associations("companies", "deals", [i for i in unique if _is_object_id(i)])
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
            out[company].append(deal_to_opportunity(deals[deal_id], company))
        return out

    async def opportunities_by_engagement_codes(self, codes: Iterable[str]) -> dict[str, Opportunity | None]:
        """The deal carrying each engagement code: a batch read with `idProperty=engagement_code`."""
        unique = list(dict.fromkeys(c for c in codes))
        found = await self._batch_read(DEALS, [c for c in unique if c], id_property="engagement_code")
        mapped = await self._opportunities(list(found.values()))
        by_code = {o.engagement_code: o for o in mapped}
        return {c: by_code.get(c) for c in unique}

    async def changed_since(self, resource: str, since: datetime) -> list[Record]:
        """Raw records whose `hs_lastmodifieddate` is at or after `since` (to the ms), oldest first."""
        declared = RESOURCES.get(resource)
        if declared is None or declared.change_field is None:
            raise ValueError(f"changed_since supports companies and deals, not {resource!r}")
        return await self.search(declared, [], lo_ms=epoch_ms(since))

    async def list_owners(self) -> list[Record]:
        """The portal's owners (`hubspot_owner_id` on a deal is an owner's `id`, not its `userId`)."""
        return await self._paged(OWNERS)
