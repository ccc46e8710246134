"""The Harvest API v2 connector: projects, people, assignments, time entries and invoices.

Harvest has no batch-by-ids endpoint, so batches are list filters (one date-range listing of time for
many projects) or parallel GETs bounded by the base's concurrency bulkhead. Listings always ask for
`per_page=2000` and follow `links.next` to the end, whether the resource pages by cursor or by page.
Writes are not retried; `create_time_entry` is made idempotent by its `external_reference`.
Totals per project come from the Time Reports API, whose timeframe is capped at 365 days: longer ranges
are split into consecutive windows fetched concurrently and summed.
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
from opsgraph.connectors.harvest.mapping import (
    assignment_from_record,
    engagement_to_project_payload,
    project_time_totals_from_result,
    project_to_engagement,
    time_entry_from_record,
    time_entry_to_payload,
    user_to_psa_user,
)
from opsgraph.connectors.shapes import json_object, object_with
from opsgraph.connectors.toolkit.auth import BearerToken
from opsgraph.connectors.toolkit.paging import CursorPaginator, PageNumberPaginator
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import (
    Assignment,
    Engagement,
    ProjectTimeTotals,
    PsaUser,
    SourceName,
    TimeEntry,
)

PER_PAGE = "2000"
DEFAULT_USER_AGENT = "opsgraph (ops@opsgraph.example)"
RATE_WINDOW_S = 15.0  # Harvest's documented window, when a 429 comes without Retry-After
REPORT_WINDOW_DAYS = 365  # the Time Reports timeframe "cannot exceed 1 year (365 days)"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _add(a: float, b: float) -> float:
    """Hours summed in decimal, so that 0.1 + 0.2 stays 0.3."""
    return float(Decimal(str(a)) + Decimal(str(b)))


def report_windows(start: date, end: date, days: int = REPORT_WINDOW_DAYS) -> list[tuple[date, date]]:
    """Consecutive inclusive `(from, to)` windows of at most `days` days covering `start..end`."""
    windows: list[tuple[date, date]] = []
    while start <= end:
        stop = min(end, start + timedelta(days=days - 1))
        windows.append((start, stop))
        start = stop + timedelta(days=1)
    return windows


class HarvestClient(SourceClient):
    source: ClassVar[SourceName] = SourceName.HARVEST

    def __init__(self, config: SourceConfig, *, clock: Clock | None = None) -> None:
        super().__init__(config, clock=clock)
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

    # -- paging ------------------------------------------------------------------------------------

    async def _collect(
        self, path: str, key: str, params: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Every record of a listing. Page-numbered listings fetch pages 2..N concurrently once the
        first page gives `total_pages`; cursor listings follow `links.next` until it is null."""
        query = {**(params or {}), "per_page": PER_PAGE}
        listing = object_with(key)

        async def page(link: str | None, params: Mapping[str, str] | None = None) -> Mapping[str, Any]:
            response = await self.request("GET", link or path, params=params, expect=listing)
            return self._records(path, key, response.body)[0]

        first = await page(None, query)
        total_pages = first.get("total_pages")
        next_link = _next_link(first)
        if next_link is not None and isinstance(total_pages, int) and "cursor=" not in next_link:
            count: int = total_pages
            numbered = PageNumberPaginator(lambda _: count)
            pages = await numbered.pages(lambda n: page(None, {**query, "page": str(n)}), first=first)
        else:
            cursor = CursorPaginator(_next_link, source=self.source, what=f"listing {path}")
            pages = await cursor.pages(page, first=first)
        return [record for body in pages for record in body[key]]

    def _records(self, path: str, key: str, body: Any) -> tuple[Mapping[str, Any], list[dict[str, Any]]]:
        if not isinstance(body, Mapping) or not isinstance(body.get(key), list):
            raise SourceDataError(self.source, f"listing {path} has no {key!r} array", field=key)
        return body, list(body[key])

    # -- reads -------------------------------------------------------------------------------------

    async def list_projects(self, *, is_active: bool | None = None) -> list[Engagement]:
        params = {} if is_active is None else {"is_active": _flag(is_active)}
        return [project_to_engagement(r) for r in await self._collect("/v2/projects", "projects", params)]

    async def get_project(self, project_id: int) -> Engagement:
        return project_to_engagement(
            (await self.request("GET", f"/v2/projects/{project_id}", expect=json_object)).body
        )

    async def list_users(self) -> list[PsaUser]:
        return [user_to_psa_user(r) for r in await self._collect("/v2/users", "users")]

    async def list_clients(self) -> list[dict[str, Any]]:
        return await self._collect("/v2/clients", "clients")

    async def list_user_assignments(self, *, is_active: bool | None = None) -> list[Assignment]:
        params = {} if is_active is None else {"is_active": _flag(is_active)}
        records = await self._collect("/v2/user_assignments", "user_assignments", params)
        return [assignment_from_record(r) for r in records]

    async def user_assignments_by_project_ids(self, ids: Iterable[int]) -> dict[int, list[Assignment]]:
        """One listing per project, concurrently (bounded by the bulkhead); an unknown project maps to []."""
        unique = list(dict.fromkeys(ids))

        async def one(project_id: int) -> list[Assignment]:
            try:
                path = f"/v2/projects/{project_id}/user_assignments"
                return [assignment_from_record(r) for r in await self._collect(path, "user_assignments")]
            except SourceRejected as exc:
                if exc.status == 404:
                    return []
                raise

        results = await asyncio.gather(*(one(p) for p in unique))
        return dict(zip(unique, results, strict=True))

    async def time_entries(
        self,
        *,
        start: date,
        end: date,
        project_id: int | None = None,
        user_id: int | None = None,
        is_billed: bool | None = None,
        updated_since: datetime | None = None,
    ) -> list[TimeEntry]:
        """Every entry with `start <= spent_date <= end` matching the filters, newest first."""
        params = {"from": start.isoformat(), "to": end.isoformat()}
        if project_id is not None:
            params["project_id"] = str(project_id)
        if user_id is not None:
            params["user_id"] = str(user_id)
        if is_billed is not None:
            params["is_billed"] = _flag(is_billed)
        if updated_since is not None:
            moment = updated_since if updated_since.tzinfo else updated_since.replace(tzinfo=UTC)
            params["updated_since"] = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return [
            time_entry_from_record(r) for r in await self._collect("/v2/time_entries", "time_entries", params)
        ]

    async def time_entries_by_external_reference(self, ref_id: str) -> list[TimeEntry]:
        records = await self._collect("/v2/time_entries", "time_entries", {"external_reference_id": ref_id})
        return [time_entry_from_record(r) for r in records]

    async def time_entry(self, entry_id: int) -> TimeEntry | None:
        """One entry by id; None when Harvest has no such entry (404)."""
        try:
            response = await self.request("GET", f"/v2/time_entries/{entry_id}", expect=json_object)
        except SourceRejected as exc:
            if exc.status == 404:
                return None
            raise
        return time_entry_from_record(response.body)

    async def list_invoices(self) -> list[dict[str, Any]]:
        return await self._collect("/v2/invoices", "invoices")

    async def project_time_totals(self, start: date, end: date) -> dict[int, ProjectTimeTotals]:
        """Hours and billable amount per project with time in `start..end` (inclusive), fixed-fee included.

        One Time Reports listing per window of at most 365 days, concurrently; per-project results are
        summed across windows. A project absent from the result tracked no time in the range.
        """
        reports = await asyncio.gather(
            *(self._projects_time_report(a, b) for a, b in report_windows(start, end))
        )
        totals: dict[int, ProjectTimeTotals] = {}
        for report in reports:
            for row in report:
                seen = totals.get(row.harvest_project_id)
                if seen is None:
                    totals[row.harvest_project_id] = row
                    continue
                if seen.currency != row.currency:
                    raise SourceDataError(
                        self.source,
                        f"project reports time in {seen.currency} and {row.currency}",
                        record_id=row.harvest_project_id,
                        field="currency",
                    )
                totals[row.harvest_project_id] = seen.model_copy(
                    update={
                        "total_hours": _add(seen.total_hours, row.total_hours),
                        "billable_hours": _add(seen.billable_hours, row.billable_hours),
                        "billable_amount": seen.billable_amount + row.billable_amount,
                    }
                )
        return totals

    async def _projects_time_report(self, start: date, end: date) -> list[ProjectTimeTotals]:
        params = {
            "from": start.strftime("%Y%m%d"),
            "to": end.strftime("%Y%m%d"),
            "include_fixed_fee": "true",
        }
        records = await self._collect("/v2/reports/time/projects", "results", params)
        return [project_time_totals_from_result(r) for r in records]

    # -- writes ------------------------------------------------------------------------------------

    async def create_time_entry(
        self,
        *,
        project_id: int,
        task_id: int,
        spent_date: date,
        hours: float,
        notes: str | None = None,
        user_id: int | None = None,
        external_reference: Mapping[str, str] | None = None,
    ) -> TimeEntry:
        """Create an entry; with an `external_reference` whose id already exists, return that entry."""
        payload = time_entry_to_payload(
            project_id=project_id,
            task_id=task_id,
            spent_date=spent_date,
            hours=hours,
            notes=notes,
            user_id=user_id,
            external_reference=external_reference,
        )
        if external_reference is not None:
            existing = await self.time_entries_by_external_reference(str(external_reference["id"]))
            if existing:
                return existing[0]
        response = await self.request("POST", "/v2/time_entries", json=payload, ok=(201,))
        return time_entry_from_record(response.body)

    async def update_time_entry(self, entry_id: int, fields: Mapping[str, Any]) -> TimeEntry:
        """PATCH `hours`, `notes`, `spent_date` (a date or ISO string), `task_id` or `external_reference`."""
        body = {k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()}
        response = await self.request("PATCH", f"/v2/time_entries/{entry_id}", json=body)
        return time_entry_from_record(response.body)

    async def delete_time_entry(self, entry_id: int) -> None:
        await self.request("DELETE", f"/v2/time_entries/{entry_id}")

    async def create_invoice_from_time(
        self,
        client_id: int,
        project_ids: Iterable[int],
        start: date,
        end: date,
        *,
        issue_date: date | None = None,
        due_date: date | None = None,
        subject: str | None = None,
        summary_type: str = "task",
    ) -> dict[str, Any]:
        """A draft invoice importing the approved, unbilled billable time; Harvest marks it billed."""
        body: dict[str, Any] = {
            "client_id": client_id,
            "line_items_import": {
                "project_ids": list(project_ids),
                "time": {"summary_type": summary_type, "from": start.isoformat(), "to": end.isoformat()},
            },
        }
        for name, value in (("issue_date", issue_date), ("due_date", due_date)):
            if value is not None:
                body[name] = value.isoformat()
        if subject is not None:
            body["subject"] = subject
        response = await self.request("POST", "/v2/invoices", json=body, ok=(201,))
        invoice: dict[str, Any] = response.body
        return invoice

    async def create_project(
        self, engagement: Engagement, *, contract_value: Decimal | None = None
    ) -> Engagement:
        payload = engagement_to_project_payload(engagement, contract_value=contract_value)
        response = await self.request("POST", "/v2/projects", json=payload, ok=(201,))
        return project_to_engagement(response.body)

    async def update_project(self, project_id: int, fields: Mapping[str, Any]) -> Engagement:
        response = await self.request("PATCH", f"/v2/projects/{project_id}", json=dict(fields))
        return project_to_engagement(response.body)

    async def create_user_assignment(
        self,
        project_id: int,
        user_id: int,
        *,
        hourly_rate: Decimal | None = None,
        budget_hours: float | None = None,
    ) -> Assignment:
        body: dict[str, Any] = {"user_id": user_id}
        if hourly_rate is not None:
            body["use_default_rates"], body["hourly_rate"] = False, float(hourly_rate)
        if budget_hours is not None:
            body["budget"] = budget_hours
        path = f"/v2/projects/{project_id}/user_assignments"
        response = await self.request("POST", path, json=body, ok=(201,))
        return assignment_from_record(response.body)


def _next_link(body: Mapping[str, Any]) -> str | None:
    links = body.get("links")
    link = links.get("next") if isinstance(links, Mapping) else None
    return link if isinstance(link, str) else None
