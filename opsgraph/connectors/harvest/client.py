"""The Harvest API v2 client: the PSA port (`opsgraph.roles.psa.PsaPort`) over projects, people,
assignments, time entries and the time report.

Harvest has no batch-by-ids endpoint. Engagements by ids are fetched one GET per id when only a few
are asked for (`FEW_IDS`) and picked from the project listing otherwise: the listing is one call per
2000 projects, so it is the cheaper read for more than a handful, while a node lookup of one
engagement stays one small call. Time entries by ids are one GET per id, concurrently (bounded by the
base's bulkhead), and a 404 is an absent id. Listings ask for `per_page=2000` and follow `links.next`
to the end, whether the resource pages by cursor or by page. Totals per engagement come from the Time
Reports API, whose timeframe is capped at 365 days: longer ranges are split into consecutive windows
fetched concurrently and summed. Resource paths, id and change fields are declared in `resources.py`;
the vendor's writes are in `writes.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from opsgraph.clock import Clock
from opsgraph.connectors.base import (
    SourceClient,
    SourceConfig,
    SourceDataError,
    SourceRejected,
    UpstreamResponse,
)
from opsgraph.connectors.harvest.billing_writes import HarvestBillingWrites
from opsgraph.connectors.harvest.mapping import (
    assignment_from_record,
    engagement_totals_from_result,
    format_timestamp,
    harvest_id,
    project_to_engagement,
    record_change,
    time_entry_from_record,
    unbilled_from_result,
    user_to_psa_user,
)
from opsgraph.connectors.harvest.project_writes import HarvestProjectWrites
from opsgraph.connectors.harvest.resources import (
    CHANGE_PARAM,
    PER_PAGE,
    PROJECT_USER_ASSIGNMENTS,
    PROJECTS,
    REPORT_WINDOW_DAYS,
    TASKS,
    TIME_ENTRIES,
    TIME_REPORT,
    UNINVOICED_REPORT,
    USER_ASSIGNMENTS,
    USERS,
)
from opsgraph.connectors.harvest.time_writes import HarvestTimeWrites
from opsgraph.connectors.shapes import json_object, object_with
from opsgraph.connectors.toolkit.auth import BearerToken
from opsgraph.connectors.toolkit.paging import CursorPaginator, PageNumberPaginator
from opsgraph.connectors.toolkit.resources import ResourceSpec
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import (
    Assignment,
    Engagement,
    EngagementTimeTotals,
    PsaUser,
    Role,
    TimeEntry,
    UnbilledTime,
)
from opsgraph.roles.base import Change, ChangeBatch, Entity
from opsgraph.roles.filters import AssignmentFilter, EngagementFilter, TimeEntryFilter

DEFAULT_USER_AGENT = "opsgraph (ops@opsgraph.example)"
RATE_WINDOW_S = 15.0  # Harvest's documented window, when a 429 comes without Retry-After
FEW_IDS = 3  # up to this many engagements by ids: one GET each; more: one project listing

POLLED: dict[Entity, ResourceSpec] = {
    Entity.ENGAGEMENT: PROJECTS,
    Entity.ASSIGNMENT: USER_ASSIGNMENTS,
    Entity.TIME_ENTRY: TIME_ENTRIES,
}
"""The listing each polled entity's changes come from, filtered by `updated_since`."""

Raw = dict[str, Any]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _add(a: float, b: float) -> float:
    """Hours summed in decimal, so that 0.1 + 0.2 stays 0.3."""
    return float(Decimal(str(a)) + Decimal(str(b)))


def _by_id(record: Assignment | Engagement) -> int:
    return int(record.id)


def report_windows(start: date, end: date, days: int = REPORT_WINDOW_DAYS) -> list[tuple[date, date]]:
    """Consecutive inclusive `(from, to)` windows of at most `days` days covering `start..end`."""
    windows: list[tuple[date, date]] = []
    while start <= end:
        stop = min(end, start + timedelta(days=days - 1))
        windows.append((start, stop))
        start = stop + timedelta(days=1)
    return windows


class HarvestClient(HarvestProjectWrites, HarvestBillingWrites, HarvestTimeWrites, SourceClient):
    vendor: ClassVar[str] = "harvest"
    role: ClassVar[Role] = Role.PSA

    def __init__(
        self, config: SourceConfig, *, system: str | None = None, clock: Clock | None = None
    ) -> None:
        super().__init__(config, system=system, clock=clock)
        missing = [k for k in ("access_token", "account_id") if not config.credentials.get(k)]
        if missing:
            raise ValueError(f"harvest credentials need {', '.join(missing)}")
        # a personal access token cannot be refreshed: a 401 is a configuration error
        self.authenticator = BearerToken(
            config.credentials["access_token"],
            {
                "Harvest-Account-Id": config.credentials["account_id"],
                "User-Agent": config.credentials.get("user_agent") or DEFAULT_USER_AGENT,
                "Accept": "application/json",
            },
        )

    # -- base hooks --------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Paths are `/v2/...`; the base URL may be the host or already end in `/v2`."""
        base = self.config.base_url.rstrip("/")
        if base.endswith("/v2") and path.startswith("/v2/"):
            path = path[3:]
        return super().url(path)

    def retry_after(self, response: UpstreamResponse) -> float | None:
        if response.status != 429:
            return None
        wait = retry_after_header(response.headers, self.clock)
        return RATE_WINDOW_S if wait is None else wait

    def error_detail(self, response: UpstreamResponse) -> tuple[str | None, str]:
        """Harvest answers `{"error", "error_description"}` (OAuth), `{"message"}` (validation, 400,
        429) or `{"status", "error"}` (404, 5xx)."""
        body = response.body
        if isinstance(body, Mapping):
            if "error_description" in body:
                return str(body.get("error")), str(body["error_description"])
            if "message" in body:
                return None, str(body["message"])
            if "error" in body:
                return None, str(body["error"])
        if isinstance(body, str) and body.strip():
            return None, body.strip()[:300]
        return None, f"HTTP {response.status}"

    # -- paging and single reads -------------------------------------------------------------------

    async def collect(
        self, spec: ResourceSpec, params: Mapping[str, str] | None = None, *, path: str | None = None
    ) -> list[Raw]:
        """Every record of a listing (`path` overrides the spec's, for a nested listing). Page-numbered
        listings fetch pages 2..N concurrently once the first page gives `total_pages`; cursor listings
        follow `links.next` until it is null."""
        path = path or spec.path
        key = spec.records_path
        assert key is not None, spec.name
        query = {**(params or {}), "per_page": str(PER_PAGE)}
        listing = object_with(key)

        async def page(link: str | None, params: Mapping[str, str] | None = None) -> Mapping[str, Any]:
            response = await self.request("GET", link or path, params=params, expect=listing)
            body: Mapping[str, Any] = response.body
            return body

        first = await page(None, query)
        total_pages = first.get("total_pages")
        next_link = _next_link(first)
        if next_link is not None and isinstance(total_pages, int) and "cursor=" not in next_link:
            count: int = total_pages
            numbered = PageNumberPaginator(lambda _: count)
            pages = await numbered.pages(lambda n: page(None, {**query, "page": str(n)}), first=first)
        else:
            cursor = CursorPaginator(_next_link, system=self.system, what=f"listing {path}")
            pages = await cursor.pages(page, first=first)
        return [record for body in pages for record in body[key]]

    async def _one(self, spec: ResourceSpec, record_id: int) -> Raw | None:
        """One record by its Harvest id; None when Harvest has no such record (404)."""
        try:
            response = await self.request("GET", f"{spec.path}/{record_id}", expect=json_object)
        except SourceRejected as exc:
            if exc.status == 404:
                return None
            raise
        record: Raw = response.body
        return record

    async def _by_ids(self, spec: ResourceSpec, ids: Iterable[str]) -> dict[str, Raw]:
        """One GET per well-formed id, concurrently; malformed and unknown ids are absent."""
        wanted = [(i, n) for i in dict.fromkeys(ids) if (n := harvest_id(i)) is not None]
        found = await asyncio.gather(*(self._one(spec, n) for _, n in wanted))
        return {i: record for (i, _), record in zip(wanted, found, strict=True) if record is not None}

    # -- the system port ---------------------------------------------------------------------------

    async def probe(self) -> None:
        """One task: the cheapest authenticated read."""
        assert TASKS.records_path is not None
        await self.request(
            "GET", TASKS.path, params={"per_page": "1"}, expect=object_with(TASKS.records_path)
        )

    async def changed_since(self, entity: Entity, since: datetime) -> ChangeBatch:
        """Projects, user assignments or time entries with `updated_at` after `since` (a naive `since`
        is UTC). Harvest's `updated_since` is inclusive and in whole seconds: the rest is cut here."""
        spec = POLLED.get(entity)
        if spec is None or spec.change_field is None:
            raise ValueError(f"{self.system} does not poll {entity!s}; it polls {', '.join(POLLED)}")
        after = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        records = await self.collect(spec, {CHANGE_PARAM: format_timestamp(after)})
        latest: dict[str, datetime] = {}
        for record in records:
            record_id, moment = record_change(
                record, self.system, id_field=spec.id_field, change_field=spec.change_field
            )
            if moment > latest.get(record_id, after):
                latest[record_id] = moment
        ordered = sorted(latest.items(), key=lambda item: (item[1], int(item[0])))
        changes = tuple(Change(id=i, modified_at=moment) for i, moment in ordered)
        high_water = ordered[-1][1] if ordered else after
        return ChangeBatch(entity=Entity(entity), since=after, high_water=high_water, changes=changes)

    # -- engagements -------------------------------------------------------------------------------

    async def engagements_by_ids(self, ids: Iterable[str]) -> dict[str, Engagement]:
        wanted = [i for i in dict.fromkeys(ids) if harvest_id(i) is not None]
        if len(wanted) <= FEW_IDS:
            found = await self._by_ids(PROJECTS, wanted)
            return {i: project_to_engagement(r, self.system) for i, r in found.items()}
        by_id = {e.id: e for e in await self.list_engagements()}
        return {i: by_id[i] for i in wanted if i in by_id}

    async def engagements_by_codes(self, codes: Iterable[str]) -> dict[str, Engagement]:
        """Picked from the project listing (Harvest cannot filter projects by code); where two projects
        share a code, the one with the lowest id."""
        wanted = {c for c in codes if c}
        if not wanted:
            return {}
        found: dict[str, Engagement] = {}
        for engagement in await self.list_engagements():
            if engagement.code in wanted:
                found.setdefault(engagement.code, engagement)
        return found

    async def list_engagements(self, filter: EngagementFilter | None = None) -> list[Engagement]:
        params = {} if filter is None or filter.is_active is None else {"is_active": _flag(filter.is_active)}
        records = await self.collect(PROJECTS, params)
        return sorted((project_to_engagement(r, self.system) for r in records), key=_by_id)

    # -- people and assignments --------------------------------------------------------------------

    async def list_users(self) -> list[PsaUser]:
        return [user_to_psa_user(r, self.system) for r in await self.collect(USERS)]

    async def list_assignments(self, filter: AssignmentFilter | None = None) -> list[Assignment]:
        params = {} if filter is None or filter.is_active is None else {"is_active": _flag(filter.is_active)}
        records = await self.collect(USER_ASSIGNMENTS, params)
        return sorted((assignment_from_record(r, self.system) for r in records), key=_by_id)

    async def assignments_by_engagement_ids(self, ids: Iterable[str]) -> dict[str, list[Assignment]]:
        """One listing per project, concurrently (bounded by the bulkhead); `[]` for an unknown project,
        and for an id not shaped like a Harvest id, without a request."""
        unique = list(dict.fromkeys(ids))

        async def one(engagement_id: str) -> list[Assignment]:
            project_id = harvest_id(engagement_id)
            if project_id is None:
                return []
            path = PROJECT_USER_ASSIGNMENTS.path.format(project_id=project_id)
            try:
                records = await self.collect(PROJECT_USER_ASSIGNMENTS, path=path)
            except SourceRejected as exc:
                if exc.status == 404:
                    return []
                raise
            return [assignment_from_record(r, self.system) for r in records]

        results = await asyncio.gather(*(one(i) for i in unique))
        return dict(zip(unique, results, strict=True))

    # -- time ----------------------------------------------------------------------------------------

    async def list_time_entries(self, filter: TimeEntryFilter) -> list[TimeEntry]:
        """Every entry with `start <= spent_date <= end` matching the filter, newest first; every field
        is pushed down to Harvest (`updated_since` as Harvest takes it: at or after, to the second). An
        engagement or user id not shaped like a Harvest id matches nothing, without a request."""
        params = {"from": filter.start.isoformat(), "to": filter.end.isoformat()}
        for name, value in (("project_id", filter.engagement_id), ("user_id", filter.user_id)):
            if value is not None:
                vendor_id = harvest_id(value)
                if vendor_id is None:
                    return []
                params[name] = str(vendor_id)
        if filter.is_billed is not None:
            params["is_billed"] = _flag(filter.is_billed)
        if filter.updated_since is not None:
            params[CHANGE_PARAM] = format_timestamp(filter.updated_since)
        records = await self.collect(TIME_ENTRIES, params)
        return [time_entry_from_record(r, self.system) for r in records]

    async def time_entries_by_ids(self, ids: Iterable[str]) -> dict[str, TimeEntry]:
        found = await self._by_ids(TIME_ENTRIES, ids)
        return {i: time_entry_from_record(r, self.system) for i, r in found.items()}

    async def hours_by_engagement(self, start: date, end: date) -> dict[str, EngagementTimeTotals]:
        """Hours and billable amount per engagement with time in `start..end` (inclusive), fixed fee
        included. One Time Reports listing per window of at most 365 days, concurrently; results are
        summed across windows. An engagement absent from the result tracked no time in the range."""
        reports = await asyncio.gather(*(self._time_report(a, b) for a, b in report_windows(start, end)))
        totals: dict[str, EngagementTimeTotals] = {}
        for report in reports:
            for row in report:
                seen = totals.get(row.engagement_id)
                if seen is None:
                    totals[row.engagement_id] = row
                    continue
                if seen.currency != row.currency:
                    raise SourceDataError(
                        self.system,
                        f"project reports time in {seen.currency} and {row.currency}",
                        record_id=row.engagement_id,
                        field="currency",
                    )
                totals[row.engagement_id] = seen.model_copy(
                    update={
                        "total_hours": _add(seen.total_hours, row.total_hours),
                        "billable_hours": _add(seen.billable_hours, row.billable_hours),
                        "billable_amount": seen.billable_amount + row.billable_amount,
                    }
                )
        return totals

    async def unbilled_by_engagement(self, start: date, end: date) -> dict[str, UnbilledTime]:
        """The Uninvoiced Report, one listing per window of at most 365 days, summed across windows."""
        params = [
            {"from": a.strftime("%Y%m%d"), "to": b.strftime("%Y%m%d"), "include_fixed_fee": "true"}
            for a, b in report_windows(start, end)
        ]
        reports = await asyncio.gather(*(self.collect(UNINVOICED_REPORT, p) for p in params))
        totals: dict[str, UnbilledTime] = {}
        for record in (r for report in reports for r in report):
            row = unbilled_from_result(record, self.system)
            seen = totals.get(row.engagement_id)
            if seen is not None and seen.currency != row.currency:
                raise SourceDataError(
                    self.system,
                    f"project reports uninvoiced time in {seen.currency} and {row.currency}",
                    record_id=row.engagement_id,
                    field="currency",
                )
            totals[row.engagement_id] = (
                row
                if seen is None
                else seen.model_copy(
                    update={"hours": _add(seen.hours, row.hours), "amount": seen.amount + row.amount}
                )
            )
        return totals

    async def _time_report(self, start: date, end: date) -> list[EngagementTimeTotals]:
        params = {"from": start.strftime("%Y%m%d"), "to": end.strftime("%Y%m%d"), "include_fixed_fee": "true"}
        records = await self.collect(TIME_REPORT, params)
        return [engagement_totals_from_result(r, self.system) for r in records]


def _next_link(body: Mapping[str, Any]) -> str | None:
    links = body.get("links")
    link = links.get("next") if isinstance(links, Mapping) else None
    return link if isinstance(link, str) else None
