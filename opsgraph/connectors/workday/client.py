"""The Workday connector (HR port): the tenant's custom reports over Reports-as-a-Service.

Every read is one report request (`?format=json`, no paging): the workers report for people (listing,
lookups by id and change polling) and the time off report, whose date-range, status and worker
prompts push the filter down. Columns and prompts come from the system's settings (`settings.py`).
Auth is an integration system user (Basic; a 401 is final) or an API client's refresh token exchanged
at the tenant's token endpoint (the bearer is refreshed once on a 401).

Change polling: Workday has no change feed for workers, so the workers report's `Updated_Since` prompt
(a date) asks for the workers updated on or after the day before `since` (the tenant's day may lag the
UTC one); the cut strictly after `since` is made here on the report's last-updated moment. A worker is
never deleted in Workday (a termination is a status change), so every change is an upsert.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from opsgraph.clock import Clock
from opsgraph.connectors.base import SourceClient, SourceConfig, SourceDataError, UpstreamResponse
from opsgraph.connectors.shapes import object_with
from opsgraph.connectors.toolkit.auth import BasicAuth, ClientCredentials
from opsgraph.connectors.workday.mapping import (
    ReportRows,
    check_columns,
    last_updated,
    time_off_from_row,
    worker_to_resource,
)
from opsgraph.connectors.workday.resources import REPORT, TIME_OFF_STATUSES, TOKEN_PATH
from opsgraph.connectors.workday.settings import Report, WorkdayCredentials, WorkdayOptions
from opsgraph.model import Resource, Role, TimeOff
from opsgraph.roles.base import Change, ChangeBatch, Entity
from opsgraph.roles.filters import TimeOffFilter

REFERENCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What a Workday reference id (an `Employee_ID`) looks like: anything else is no worker's."""
NO_ONE_UPDATED_SINCE = date(2999, 12, 31)
"""The probe's prompt: a day no worker was updated on, so the report answers no rows."""
RECORDS = REPORT.records_path or "Report_Entry"
_STATUS_PROMPT = {canonical: vendor for vendor, canonical in TIME_OFF_STATUSES.items()}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class WorkdayClient(SourceClient):
    vendor: ClassVar[str] = "workday"
    role: ClassVar[Role] = Role.HR

    def __init__(
        self, config: SourceConfig, *, system: str | None = None, clock: Clock | None = None
    ) -> None:
        super().__init__(config, system=system, clock=clock)
        credentials = WorkdayCredentials.model_validate(config.credentials)
        self.options = WorkdayOptions.model_validate(config.options)
        self.tenant = credentials.tenant
        if credentials.oauth:
            pair = f"{credentials.client_id}:{credentials.client_secret}"
            self.authenticator = ClientCredentials(
                self,
                TOKEN_PATH.format(tenant=self.tenant),
                lambda: {"grant_type": "refresh_token", "refresh_token": str(credentials.refresh_token)},
                expect=object_with("access_token", str),
                headers={"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()},
            )
        else:
            self.authenticator = BasicAuth(str(credentials.username), str(credentials.password))

    def error_detail(self, response: UpstreamResponse) -> tuple[str | None, str]:
        """Workday's `{"error": ..., "errors": [{"error": ...}]}`; the OAuth `error_description`."""
        body = response.body
        if isinstance(body, Mapping):
            code = body.get("error")
            text = body.get("error_description") or code
            errors = body.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
                text = errors[0].get("error") or text
            return (str(code) if code else None), str(text or f"HTTP {response.status}")
        return None, f"HTTP {response.status}"

    # -- the HR port -----------------------------------------------------------------------------

    async def probe(self) -> None:
        """The workers report, prompted for a day no one was updated on: one request, no rows."""
        report = self.options.workers
        await self._report(report, {report.prompts["updated_since"]: NO_ONE_UPDATED_SINCE.isoformat()})

    async def list_resources(self) -> list[Resource]:
        rows = ReportRows(self.system, self.options.workers)
        return [worker_to_resource(row, rows) for row in await self._report(self.options.workers, {})]

    async def resources_by_ids(self, ids: Iterable[str]) -> dict[str, Resource]:
        """Workers by `Employee_ID`, picked from one read of the workers report.

        Workday fails a whole report on a prompt value that is no reference id, so asking by id would let
        one unknown id fail the batch; the report is one request whatever its size.
        """
        wanted = [i for i in dict.fromkeys(ids) if REFERENCE_ID.match(i)]
        if not wanted:
            return {}
        found = {r.id: r for r in await self.list_resources()}
        return {i: found[i] for i in wanted if i in found}

    async def list_time_off(self, filter: TimeOffFilter) -> list[TimeOff]:
        """Time off overlapping the range, of the filter's status (and worker), filtered by the report."""
        report = self.options.time_off
        status = _STATUS_PROMPT.get(filter.status)
        if status is None:
            return []  # a status Workday does not have
        prompts = {
            report.prompts["start"]: filter.start.isoformat(),
            report.prompts["end"]: filter.end.isoformat(),
            report.prompts["status"]: status,
        }
        if filter.resource_id is not None:
            if not REFERENCE_ID.match(filter.resource_id):
                return []
            prompts[report.prompts["employee_id"]] = filter.resource_id
        rows = ReportRows(self.system, report)
        return [time_off_from_row(row, rows) for row in await self._report(report, prompts)]

    async def changed_since(self, entity: Entity, since: datetime) -> ChangeBatch:
        """Workers updated strictly after `since`, from the workers report's `Updated_Since` prompt."""
        if entity is not Entity.RESOURCE:
            raise ValueError(f"Workday polls {Entity.RESOURCE.value} changes only, not {entity!r}")
        since = _utc(since)
        report = self.options.workers
        day = since.astimezone(UTC).date() - timedelta(days=1)
        found = await self._report(report, {report.prompts["updated_since"]: day.isoformat()})
        rows = ReportRows(self.system, report)
        stamped = [(rows.required(row, "id"), last_updated(row, rows)) for row in found]
        kept = sorted(
            (Change(id=i, modified_at=at.astimezone(UTC)) for i, at in stamped if at > since),
            key=lambda c: (c.modified_at, c.id),
        )
        high_water = max((c.modified_at for c in kept if c.modified_at is not None), default=since)
        return ChangeBatch(entity=entity, since=since, high_water=high_water, changes=tuple(kept))

    # -- the report ------------------------------------------------------------------------------

    async def _report(self, report: Report, prompts: Mapping[str, str]) -> list[Mapping[str, Any]]:
        """The rows of one report run with `prompts`, after checking it has the configured columns."""
        path = REPORT.path.format(tenant=self.tenant, owner=report.owner, report=report.name)
        response = await self.request(
            "GET", path, params={**prompts, "format": "json"}, expect=object_with(RECORDS)
        )
        body = response.body
        entries = body.get(RECORDS) if isinstance(body, Mapping) else None
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise SourceDataError(self.system, f"report {report.name} has no {RECORDS!r} array of rows")
        check_columns(self.system, report, entries, complete=not prompts)
        return entries
