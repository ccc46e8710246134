"""The Kantata OX API v1 client: the PSA port (`opsgraph.roles.psa.PsaPort`) over workspaces, users,
participations and time entries.

Reads by ids are listings with `only=` (chunked to `ONLY_CHUNK` ids), each with the associations it
needs included in the same answer: a workspace's custom field values (its engagement code and billing
model) and group (its client), a time entry's user and story (the person's name and the task). A
participation or time entry names its workspace by id only, so their engagement codes come from one
`only=` read of the workspaces they name (a call per 200 workspaces, not per record). Kantata has no
time report: totals per engagement are summed from the time entry listing of the range. Listings ask
for `per_page=200` and fetch pages 2..N at once after the first tells `meta.page_count`. Writes are in
`writes.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from opsgraph.clock import Clock
from opsgraph.connectors.base import SourceClient, SourceConfig, UpstreamResponse
from opsgraph.connectors.kantata.mapping import (
    TotalsBuilder,
    after_param,
    engagement_code,
    kantata_id,
    participation_to_assignment,
    record_change,
    time_entry_from_record,
    user_to_psa_user,
    workspace_to_engagement,
)
from opsgraph.connectors.kantata.resources import (
    CHANGE_PARAM,
    ONLY_CHUNK,
    PARTICIPATIONS,
    PER_PAGE,
    TIME_ENTRIES,
    USERS,
    WORKSPACES,
)
from opsgraph.connectors.kantata.writes import KantataWrites
from opsgraph.connectors.shapes import object_with
from opsgraph.connectors.toolkit.auth import BearerToken
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.connectors.toolkit.paging import PageNumberPaginator, dig
from opsgraph.connectors.toolkit.resources import ResourceSpec
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import (
    Assignment,
    Engagement,
    EngagementTimeTotals,
    PsaUser,
    Role,
    TimeEntry,
    TimeEntryStatus,
    UnbilledTime,
)
from opsgraph.roles.base import Change, ChangeBatch, Entity
from opsgraph.roles.filters import AssignmentFilter, EngagementFilter, TimeEntryFilter

RATE_WAIT_S = 10.0  # "retry after a short delay": the wait when a 429 names none
WORKSPACE_INCLUDE = {"include": "custom_field_values,workspace_groups", "include_archived": "true"}
ENTRY_INCLUDE = {"include": "user,story"}

POLLED: dict[Entity, tuple[ResourceSpec, dict[str, str]]] = {
    Entity.ENGAGEMENT: (WORKSPACES, {"include_archived": "true"}),
    Entity.ASSIGNMENT: (PARTICIPATIONS, {}),
    Entity.TIME_ENTRY: (TIME_ENTRIES, {}),
}
"""The listing each polled entity's changes come from, filtered by `updated_after`."""

Raw = dict[str, Any]
Page = Mapping[str, Any]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def records(pages: Sequence[Page], key: str) -> list[Raw]:
    """The primary records of `pages`, in `results` order."""
    out: list[Raw] = []
    for page in pages:
        objects = page.get(key) or {}
        for ref in page.get("results") or ():
            if isinstance(ref, Mapping) and ref.get("key") == key:
                record = objects.get(str(ref.get("id"))) if isinstance(objects, Mapping) else None
                if isinstance(record, dict):
                    out.append(record)
    return out


def included(pages: Sequence[Page], key: str) -> dict[str, Raw]:
    """The objects of type `key` across `pages`, by id (the included associations)."""
    out: dict[str, Raw] = {}
    for page in pages:
        objects = page.get(key)
        if isinstance(objects, Mapping):
            out.update(objects)
    return out


class KantataClient(KantataWrites, SourceClient):
    vendor: ClassVar[str] = "kantata"
    role: ClassVar[Role] = Role.PSA

    def __init__(
        self, config: SourceConfig, *, system: str | None = None, clock: Clock | None = None
    ) -> None:
        super().__init__(config, system=system, clock=clock)
        if not config.credentials.get("access_token"):
            raise ValueError("kantata credentials need access_token")
        # an OAuth token issued to the integration user: a 401 is a configuration error
        self.authenticator = BearerToken(config.credentials["access_token"], {"Accept": "application/json"})

    # -- base hooks --------------------------------------------------------------------------------

    def retry_after(self, response: UpstreamResponse) -> float | None:
        if response.status != 429:
            return None
        wait = retry_after_header(response.headers, self.clock)
        return RATE_WAIT_S if wait is None else wait

    def error_detail(self, response: UpstreamResponse) -> tuple[str | None, str]:
        """Kantata answers `{"errors": [{"type", "message", "field"?}]}`."""
        errors = dig(response.body, "errors") if isinstance(response.body, Mapping) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            first = errors[0]
            return (str(first["type"]) if first.get("type") else None), str(first.get("message", ""))
        if isinstance(response.body, str) and response.body.strip():
            return None, response.body.strip()[:300]
        return None, f"HTTP {response.status}"

    # -- paging --------------------------------------------------------------------------------------

    async def pages(self, spec: ResourceSpec, params: Mapping[str, str] | None = None) -> list[Page]:
        """Every page of a listing: the first, then pages 2..`meta.page_count` at once."""
        query = {**(params or {}), "per_page": str(PER_PAGE)}
        shape = object_with("results")

        async def page(n: int) -> Page:
            response = await self.request("GET", spec.path, params={**query, "page": str(n)}, expect=shape)
            body: Page = response.body
            return body

        def count(first: Page) -> int | None:
            value = dig(first, "meta", "page_count")
            return value if isinstance(value, int) and value > 1 else None

        return await PageNumberPaginator(count).pages(page)

    async def collect(self, spec: ResourceSpec, params: Mapping[str, str] | None = None) -> list[Raw]:
        assert spec.records_path is not None
        return records(await self.pages(spec, params), spec.records_path)

    async def _only(
        self, spec: ResourceSpec, ids: Iterable[str], params: Mapping[str, str] | None = None
    ) -> list[Page]:
        """Pages of the records with these ids (`only=`, chunked); malformed ids are never sent."""
        wanted = [i for i in dict.fromkeys(ids) if kantata_id(i) is not None]
        results: list[Page] = []
        for chunk in chunks(wanted, ONLY_CHUNK):
            results += await self.pages(spec, {**(params or {}), "only": ",".join(chunk)})
        return results

    async def _codes(self, workspace_ids: Iterable[str]) -> dict[str, str]:
        """The engagement code of each workspace, by id (workspaces that have none are absent)."""
        pages = await self._only(
            WORKSPACES, workspace_ids, {**WORKSPACE_INCLUDE, "include": "custom_field_values"}
        )
        values = included(pages, "custom_field_values")
        coded = ((w["id"], engagement_code(w, values)) for w in records(pages, "workspaces"))
        return {workspace_id: code for workspace_id, code in coded if code is not None}

    # -- the system port ---------------------------------------------------------------------------

    async def probe(self) -> None:
        """The token's own user: the cheapest authenticated read."""
        await self.request("GET", "/users/me.json", expect=object_with("results"))

    async def changed_since(self, entity: Entity, since: datetime) -> ChangeBatch:
        """Workspaces, participations or time entries with `updated_at` after `since` (a naive `since` is
        UTC). Asked from a second before, then cut here to the instant."""
        polled = POLLED.get(entity)
        if polled is None:
            raise ValueError(f"{self.system} does not poll {entity!s}; it polls {', '.join(POLLED)}")
        spec, params = polled
        after = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        latest: dict[str, datetime] = {}
        for record in await self.collect(spec, {**params, CHANGE_PARAM: after_param(after)}):
            record_id, moment = record_change(record, self.system)
            if moment > latest.get(record_id, after):
                latest[record_id] = moment
        ordered = sorted(latest.items(), key=lambda item: (item[1], int(item[0])))
        changes = tuple(Change(id=i, modified_at=moment) for i, moment in ordered)
        high_water = ordered[-1][1] if ordered else after
        return ChangeBatch(entity=Entity(entity), since=after, high_water=high_water, changes=changes)

    # -- engagements -------------------------------------------------------------------------------

    def _engagements(self, pages: Sequence[Page]) -> list[Engagement]:
        """The workspaces that carry an engagement code (`engagement_code`), as engagements."""
        values = included(pages, "custom_field_values")
        found = (
            workspace_to_engagement(r, values, self.system)
            for r in records(pages, "workspaces")
            if engagement_code(r, values) is not None
        )
        return sorted(found, key=lambda e: int(e.id))

    async def engagements_by_ids(self, ids: Iterable[str]) -> dict[str, Engagement]:
        return {e.id: e for e in self._engagements(await self._only(WORKSPACES, ids, WORKSPACE_INCLUDE))}

    async def engagements_by_codes(self, codes: Iterable[str]) -> dict[str, Engagement]:
        """Picked from the workspace listing (a custom field value is no listing filter); where two
        workspaces share a code, the one with the lowest id."""
        wanted = {c for c in codes if c}
        if not wanted:
            return {}
        found: dict[str, Engagement] = {}
        for engagement in await self.list_engagements():
            if engagement.code in wanted:
                found.setdefault(engagement.code, engagement)
        return found

    async def list_engagements(self, filter: EngagementFilter | None = None) -> list[Engagement]:
        params = dict(WORKSPACE_INCLUDE)
        if filter is not None and filter.is_active is not None:
            del params["include_archived"]
            params["archived"] = _flag(not filter.is_active)
        return self._engagements(await self.pages(WORKSPACES, params))

    # -- people and assignments --------------------------------------------------------------------

    async def list_users(self) -> list[PsaUser]:
        return [user_to_psa_user(r, self.system) for r in await self.collect(USERS)]

    async def _assignments(self, params: Mapping[str, str]) -> list[Assignment]:
        found = await self.collect(PARTICIPATIONS, params)
        codes = await self._codes({str(r.get("workspace_id")) for r in found})
        return sorted(
            (participation_to_assignment(r, codes, self.system) for r in found), key=lambda a: int(a.id)
        )

    async def list_assignments(self, filter: AssignmentFilter | None = None) -> list[Assignment]:
        params = {} if filter is None or filter.is_active is None else {"active": _flag(filter.is_active)}
        return await self._assignments(params)

    async def assignments_by_engagement_ids(self, ids: Iterable[str]) -> dict[str, list[Assignment]]:
        """One participation listing per 200 workspaces (`workspace_id=` a comma list); `[]` for an
        unknown workspace, and for an id not shaped like a Kantata id, without a request."""
        unique = list(dict.fromkeys(ids))
        wanted = [i for i in unique if kantata_id(i) is not None]
        out: dict[str, list[Assignment]] = {i: [] for i in unique}
        for chunk in chunks(wanted, ONLY_CHUNK):
            for a in await self._assignments({"workspace_id": ",".join(chunk)}):
                out[a.engagement_id].append(a)
        return out

    # -- time ----------------------------------------------------------------------------------------

    async def _entries(self, pages: Sequence[Page]) -> list[TimeEntry]:
        found = records(pages, "time_entries")
        codes = await self._codes({str(r.get("workspace_id")) for r in found})
        users, stories = included(pages, "users"), included(pages, "stories")
        return [time_entry_from_record(r, codes, users, stories, self.system) for r in found]

    async def list_time_entries(self, filter: TimeEntryFilter) -> list[TimeEntry]:
        """Every entry with `start <= date_performed <= end` matching the filter, newest first; every
        field is pushed down (`updated_since` from a second before, cut here to the instant). An
        engagement or user id not shaped like a Kantata id matches nothing, without a request."""
        params = {**ENTRY_INCLUDE, "date_performed_between": f"{filter.start}:{filter.end}"}
        for name, value in (("workspace_id", filter.engagement_id), ("user_id", filter.user_id)):
            if value is not None:
                if kantata_id(value) is None:
                    return []
                params[name] = value
        if filter.is_billed is not None:
            params["is_invoiced"] = _flag(filter.is_billed)
        if filter.updated_since is not None:
            params[CHANGE_PARAM] = after_param(filter.updated_since)
        entries = await self._entries(await self.pages(TIME_ENTRIES, params))
        since = filter.updated_since
        if since is not None:
            since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
            entries = [e for e in entries if e.updated_at is None or e.updated_at >= since]
        entries.sort(key=lambda e: e.date, reverse=True)  # stable: Kantata's order within a day
        return entries

    async def time_entries_by_ids(self, ids: Iterable[str]) -> dict[str, TimeEntry]:
        return {e.id: e for e in await self._entries(await self._only(TIME_ENTRIES, ids, ENTRY_INCLUDE))}

    async def hours_by_engagement(self, start: date, end: date) -> dict[str, EngagementTimeTotals]:
        """Hours and billable amount per workspace with time in `start..end` (inclusive), summed from the
        time entry listing of the range (Kantata has no time report)."""
        totals = TotalsBuilder(self.system)
        for record in await self.collect(TIME_ENTRIES, {"date_performed_between": f"{start}:{end}"}):
            totals.add(record)
        return totals.totals()

    async def unbilled_by_engagement(self, start: date, end: date) -> dict[str, UnbilledTime]:
        """Summed from the listing of the range's approved, billable, uninvoiced entries, every condition
        pushed down (Kantata has no uninvoiced report)."""
        params = {
            **ENTRY_INCLUDE,
            "date_performed_between": f"{start}:{end}",
            "approved": "true",
            "billable": "true",
            "is_invoiced": "false",
        }
        out: dict[str, UnbilledTime] = {}
        for e in await self._entries(await self.pages(TIME_ENTRIES, params)):
            if e.status is not TimeEntryStatus.APPROVED or not e.billable:
                continue
            amount = e.bill_rate * Decimal(str(e.hours)) if e.bill_rate else Decimal(0)
            seen = out.get(e.engagement_id)
            out[e.engagement_id] = (
                UnbilledTime(engagement_id=e.engagement_id, hours=e.hours, amount=amount, currency=e.currency)
                if seen is None
                else seen.model_copy(update={"hours": seen.hours + e.hours, "amount": seen.amount + amount})
            )
        return out
