"""The BambooHR connector (HR port): HTTP Basic with the API key, JSON by `Accept`, errors in a header.

Reads many employees at once through the cursor-paged list endpoint
(`GET /employees?filter[ids]=...`, 250 ids per request to keep the URL short). Treats
503 + `Retry-After` (today's signal) and 429 + `Retry-After` (from 2026-09-16) as rate limits;
a bare 503 is an outage. Change polling reads `GET /employees/changed?since=`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlparse

from opsgraph.clock import Clock
from opsgraph.connectors.bamboohr.mapping import employee_to_resource, time_off_from_record
from opsgraph.connectors.bamboohr.resources import (
    EMPLOYEE_CHANGES,
    EMPLOYEES,
    IDS_PER_REQUEST,
    LIST_PAGE_LIMIT,
    TIME_OFF_REQUESTS,
)
from opsgraph.connectors.base import SourceClient, SourceConfig, SourceDataError, UpstreamResponse
from opsgraph.connectors.ids import is_digits
from opsgraph.connectors.shapes import json_list, object_with
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.connectors.toolkit.paging import CursorPaginator, dig
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import Resource, Role, TimeOff
from opsgraph.roles.base import Change, ChangeBatch, ChangeKind, Entity
from opsgraph.roles.filters import TimeOffFilter

ERROR_HEADER = "X-BambooHR-Error-Message"
MAX_EMPLOYEE_ID_DIGITS = 18  # BambooHR ids are database integers: a longer run of digits is no id
CHANGE_KINDS = {
    "Inserted": ChangeKind.UPSERTED,
    "Updated": ChangeKind.UPSERTED,
    "Deleted": ChangeKind.DELETED,
}


def is_employee_id(text: str) -> bool:
    """Shaped like a BambooHR employee id: ASCII digits, not absurdly long."""
    return 0 < len(text) <= MAX_EMPLOYEE_ID_DIGITS and is_digits(text)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class BambooHRClient(SourceClient):
    vendor: ClassVar[str] = "bamboohr"
    role: ClassVar[Role] = Role.HR

    def __init__(
        self, config: SourceConfig, *, system: str | None = None, clock: Clock | None = None
    ) -> None:
        super().__init__(config, system=system, clock=clock)
        key = config.credentials.get("api_key")
        if not key:
            raise ValueError("BambooHR needs credentials.api_key")
        self._auth = "Basic " + base64.b64encode(f"{key}:x".encode()).decode()
        self._api_root = _api_root(config.base_url, config.credentials.get("company_domain"))
        self._employee_pages = CursorPaginator(
            lambda body: dig(body, "meta", "page", "nextCursor"), system=self.system, what="employee list"
        )

    # -- hooks ---------------------------------------------------------------------------------

    async def auth_headers(self) -> dict[str, str]:
        return {"Authorization": self._auth, "Accept": "application/json"}

    def retry_after(self, response: UpstreamResponse) -> float | None:
        wait = retry_after_header(response.headers, self.clock)
        if response.status == 429:
            return wait if wait is not None else 1.0
        if response.status == 503 and wait is not None:
            return wait
        return None

    def error_detail(self, response: UpstreamResponse) -> tuple[str | None, str]:
        message = response.headers.get(ERROR_HEADER) or f"HTTP {response.status}"
        return None, message

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self._api_root}/{path.lstrip('/')}"

    # -- the HR port -----------------------------------------------------------------------------

    async def probe(self) -> None:
        """One authenticated page of the employee list, filtered to an id no one has."""
        await self.request(
            "GET",
            EMPLOYEES.path,
            params={"filter[ids]": "0", "page[limit]": "1"},
            expect=object_with(EMPLOYEES.records_path or "data"),
        )

    async def list_resources(self) -> list[Resource]:
        """Every employee (active and inactive) with the fields a `Resource` needs.

        Uses the list endpoint, not `/employees/directory`: the directory lists active
        employees only and has no status, supervisor id, hire date or custom fields.
        """
        records = await self._list({"page[limit]": str(LIST_PAGE_LIMIT)})
        return [employee_to_resource(r, self.system) for r in records]

    async def resources_by_ids(self, ids: Iterable[str]) -> dict[str, Resource]:
        """Employees by id, 250 ids per request (in parallel); an id BambooHR does not have is absent.

        Employee ids are numbers, so any other id is absent without asking.
        """
        wanted = [i for i in dict.fromkeys(ids) if is_employee_id(i)]
        pages = await asyncio.gather(
            *(
                self._list({"filter[ids]": ",".join(chunk), "page[limit]": str(IDS_PER_REQUEST)})
                for chunk in chunks(wanted, IDS_PER_REQUEST)
            )
        )
        found = {r.id: r for page in pages for r in (employee_to_resource(x, self.system) for x in page)}
        return {i: found[i] for i in wanted if i in found}

    async def list_time_off(self, filter: TimeOffFilter) -> list[TimeOff]:
        """Time off requests overlapping the filter's range, with its status (pushed down)."""
        params = {"start": filter.start.isoformat(), "end": filter.end.isoformat(), "status": filter.status}
        if filter.resource_id is not None:
            if not is_employee_id(filter.resource_id):
                return []
            params["employeeId"] = filter.resource_id
        response = await self.request("GET", TIME_OFF_REQUESTS.path, params=params, expect=json_list)
        if not isinstance(response.body, list):
            raise SourceDataError(self.system, "time off response is not a JSON array")
        return [time_off_from_record(r, self.system) for r in response.body]

    async def changed_since(self, entity: Entity, since: datetime) -> ChangeBatch:
        """Employees inserted, updated or deleted after `since`, from BambooHR's changed feed.

        The feed takes `since` to the second; the exact cut (strictly after `since`) is made here.
        """
        if entity is not Entity.RESOURCE:
            raise ValueError(f"BambooHR polls {Entity.RESOURCE.value} changes only, not {entity!r}")
        since = _utc(since)
        spec = EMPLOYEE_CHANGES
        records_key, change_field = spec.records_path or "employees", spec.change_field or "lastChanged"
        body = self._object(
            await self.request(
                "GET",
                spec.path,
                params={"since": since.astimezone(UTC).isoformat(timespec="seconds")},
                expect=object_with(records_key, Mapping, optional=True),
            )
        )
        entries = body.get(records_key) or {}
        if not isinstance(entries, Mapping):
            raise SourceDataError(
                self.system, f"changed response has no {records_key!r} object", field=records_key
            )
        changes = [self._change(key, entry, change_field) for key, entry in entries.items()]
        kept = sorted(
            (c for c in changes if c.modified_at is not None and c.modified_at > since),
            key=lambda c: (c.modified_at, int(c.id)),
        )
        high_water = max((c.modified_at for c in kept if c.modified_at is not None), default=since)
        return ChangeBatch(entity=entity, since=since, high_water=high_water, changes=tuple(kept))

    def _change(self, key: str, entry: Any, change_field: str) -> Change:
        if not isinstance(entry, Mapping):
            raise SourceDataError(self.system, "change is not an object", record_id=key)
        employee_id = str(entry.get(EMPLOYEE_CHANGES.id_field) or key)
        kind = CHANGE_KINDS.get(str(entry.get("action")))
        if kind is None or not is_employee_id(employee_id):
            raise SourceDataError(
                self.system,
                f"change has no known action: {entry.get('action')!r}",
                record_id=key,
                field="action",
            )
        try:
            stamp = datetime.fromisoformat(str(entry.get(change_field)).replace("Z", "+00:00"))
        except ValueError:
            raise SourceDataError(
                self.system, "change has no valid timestamp", record_id=employee_id, field=change_field
            ) from None
        return Change(id=employee_id, kind=kind, modified_at=_utc(stamp))

    # -- paging --------------------------------------------------------------------------------

    async def _list(self, params: Mapping[str, str]) -> list[Mapping[str, Any]]:
        """All records of `GET /employees`, following `meta.page.nextCursor`."""
        spec = EMPLOYEES
        records_key = spec.records_path or "data"
        query = {**params, "fields": ",".join(spec.fields)}
        records: list[Mapping[str, Any]] = []

        async def fetch(cursor: str | None) -> Mapping[str, Any]:
            page = query if cursor is None else {**query, "page[after]": cursor}
            body = self._object(
                await self.request("GET", spec.path, params=page, expect=object_with(records_key))
            )
            data = body.get(records_key)
            if not isinstance(data, list):
                raise SourceDataError(
                    self.system, f"employee list response has no {records_key!r} array", field=records_key
                )
            records.extend(data)
            return body

        await self._employee_pages.pages(fetch)
        return records

    def _object(self, response: UpstreamResponse) -> Mapping[str, Any]:
        if not isinstance(response.body, Mapping):
            raise SourceDataError(self.system, f"expected a JSON object from {urlparse(response.url).path}")
        return response.body


def _api_root(base_url: str, company_domain: str | None) -> str:
    """The v1 API root: `base_url` as given when it names the gateway, else built from the company domain."""
    root = base_url.rstrip("/")
    if "/api/gateway.php/" in root:
        return root
    if not company_domain:
        raise ValueError("BambooHR needs credentials.company_domain when base_url is the bare host")
    return f"{root}/api/gateway.php/{company_domain}/v1"
