"""The BambooHR connector: HTTP Basic with the API key, JSON by `Accept`, errors in a header.

Reads many employees at once through the cursor-paged list endpoint
(`GET /employees?filter[ids]=...`, 250 ids per request to keep the URL short). Treats
503 + `Retry-After` (today's signal) and 429 + `Retry-After` (from 2026-09-16) as rate limits;
a bare 503 is an outage.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from urllib.parse import urlparse

from opsgraph.clock import Clock
from opsgraph.connectors.bamboohr.mapping import EMPLOYEE_FIELDS, employee_to_resource, time_off_from_record
from opsgraph.connectors.base import SourceClient, SourceConfig, SourceDataError, UpstreamResponse
from opsgraph.connectors.ids import is_digits
from opsgraph.connectors.shapes import json_list, json_object, object_with
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.connectors.toolkit.paging import CursorPaginator, dig
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import Resource, SourceName, TimeOff

ERROR_HEADER = "X-BambooHR-Error-Message"
IDS_PER_REQUEST = 250  # the documented default page size; also keeps the URL well under 8 KB
LIST_PAGE_LIMIT = 1000  # within the documented maximum of 2500


@dataclass(frozen=True)
class EmployeeChanges:
    """`GET /employees/changed`: who changed since a time, and the stamp to poll from next."""

    latest: datetime
    actions: dict[str, str]  # employee id -> "Inserted" | "Updated" | "Deleted"


_EMPLOYEE_PAGES = CursorPaginator(
    lambda body: dig(body, "meta", "page", "nextCursor"), source=SourceName.BAMBOOHR, what="employee list"
)


class BambooHRClient(SourceClient):
    source: ClassVar[SourceName] = SourceName.BAMBOOHR

    def __init__(self, config: SourceConfig, *, clock: Clock | None = None) -> None:
        super().__init__(config, clock=clock)
        key = config.credentials.get("api_key")
        if not key:
            raise ValueError("BambooHR needs credentials.api_key")
        self._auth = "Basic " + base64.b64encode(f"{key}:x".encode()).decode()
        self._api_root = _api_root(config.base_url, config.credentials.get("company_domain"))

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

    # -- reads ---------------------------------------------------------------------------------

    async def directory(self) -> list[Resource]:
        """Every employee (active and inactive) with the fields a `Resource` needs.

        Uses the list endpoint, not `/employees/directory`: the directory lists active
        employees only and has no status, supervisor id, hire date or custom fields.
        """
        records = await self._list({"page[limit]": str(LIST_PAGE_LIMIT)})
        return [employee_to_resource(r) for r in records]

    async def company_directory(self) -> list[Resource]:
        """`GET /employees/directory`: active employees, directory fields only (no cost rate or manager)."""
        body = self._object(await self.request("GET", "employees/directory", expect=object_with("employees")))
        employees = body.get("employees")
        if not isinstance(employees, list):
            raise SourceDataError(
                self.source, "directory response has no 'employees' list", field="employees"
            )
        return [employee_to_resource({**e, "status": "Active"}) for e in employees]

    async def employees_by_ids(self, ids: Iterable[str]) -> dict[str, Resource | None]:
        """Employees by id, 250 ids per request (in parallel); None for an id BambooHR does not have.

        Employee ids are numbers, so any other id is None without asking.
        """
        wanted = list(dict.fromkeys(str(i) for i in ids))
        numeric = [i for i in wanted if is_digits(i)]
        pages = await asyncio.gather(
            *(
                self._list({"filter[ids]": ",".join(chunk), "page[limit]": str(IDS_PER_REQUEST)})
                for chunk in chunks(numeric, IDS_PER_REQUEST)
            )
        )
        found = {r.id: r for page in pages for r in map(employee_to_resource, page)}
        return {i: found.get(i) for i in wanted}

    async def employee(self, employee_id: str) -> Resource | None:
        response = await self.request(
            "GET",
            f"employees/{employee_id}",
            params={"fields": ",".join(EMPLOYEE_FIELDS)},
            ok=(200, 404),
            expect=json_object,
        )
        if response.status == 404:
            return None
        return employee_to_resource(self._object(response))

    async def changes(self, since: datetime) -> EmployeeChanges:
        stamp = (since if since.tzinfo else since.replace(tzinfo=UTC)).isoformat(timespec="seconds")
        body = self._object(
            await self.request(
                "GET",
                "employees/changed",
                params={"since": stamp},
                expect=object_with("employees", Mapping, optional=True),
            )
        )
        employees = body.get("employees") or {}
        if not isinstance(employees, Mapping):
            raise SourceDataError(
                self.source, "changed response has no 'employees' object", field="employees"
            )
        actions: dict[str, str] = {}
        for key, entry in employees.items():
            if not isinstance(entry, Mapping) or not entry.get("action"):
                raise SourceDataError(self.source, "change without an action", record_id=key, field="action")
            actions[str(entry.get("id") or key)] = str(entry["action"])
        try:
            latest = datetime.fromisoformat(str(body.get("latest")).replace("Z", "+00:00"))
        except ValueError as exc:
            raise SourceDataError(
                self.source, "changed response has no valid 'latest'", field="latest"
            ) from exc
        return EmployeeChanges(latest if latest.tzinfo else latest.replace(tzinfo=UTC), actions)

    async def changed_since(self, since: datetime) -> dict[str, str]:
        """Employee id -> action ("Inserted", "Updated", "Deleted") for every change after `since`."""
        return (await self.changes(since)).actions

    async def time_off(
        self, start: date, end: date, *, status: str = "approved", employee_id: str | None = None
    ) -> list[TimeOff]:
        """Time off requests overlapping [start, end]."""
        params = {"start": start.isoformat(), "end": end.isoformat(), "status": status}
        if employee_id is not None:
            params["employeeId"] = employee_id
        response = await self.request("GET", "time_off/requests/", params=params, expect=json_list)
        if not isinstance(response.body, list):
            raise SourceDataError(self.source, "time off response is not a JSON array")
        return [time_off_from_record(r) for r in response.body]

    # -- writes --------------------------------------------------------------------------------

    async def update_employee(self, employee_id: str, fields: Mapping[str, str]) -> None:
        """Set fields on one employee. Absolute values, so a retry cannot double-apply: safe to retry."""
        await self.request("POST", f"employees/{employee_id}", json=dict(fields), retry=True)

    async def create_employee(self, fields: Mapping[str, str]) -> str:
        """Create an employee (never retried); returns the new id from the `Location` header."""
        response = await self.request("POST", "employees", json=dict(fields), ok=(201,))
        location = response.headers.get("Location", "")
        new_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not is_digits(new_id):
            raise SourceDataError(self.source, f"create gave no employee id in Location {location!r}")
        return new_id

    # -- paging --------------------------------------------------------------------------------

    async def _list(self, params: Mapping[str, str]) -> list[Mapping[str, Any]]:
        """All records of `GET /employees`, following `meta.page.nextCursor`."""
        query = {**params, "fields": ",".join(EMPLOYEE_FIELDS)}
        records: list[Mapping[str, Any]] = []

        async def fetch(cursor: str | None) -> Mapping[str, Any]:
            params = query if cursor is None else {**query, "page[after]": cursor}
            body = self._object(
                await self.request("GET", "employees", params=params, expect=object_with("data"))
            )
            data = body.get("data")
            if not isinstance(data, list):
                raise SourceDataError(self.source, "employee list response has no 'data' array", field="data")
            records.extend(data)
            return body

        await _EMPLOYEE_PAGES.pages(fetch)
        return records

    def _object(self, response: UpstreamResponse) -> Mapping[str, Any]:
        if not isinstance(response.body, Mapping):
            raise SourceDataError(self.source, f"expected a JSON object from {urlparse(response.url).path}")
        return response.body


def _api_root(base_url: str, company_domain: str | None) -> str:
    """The v1 API root: `base_url` as given when it names the gateway, else built from the company domain."""
    root = base_url.rstrip("/")
    if "/api/gateway.php/" in root:
        return root
    if not company_domain:
        raise ValueError("BambooHR needs credentials.company_domain when base_url is the bare host")
    return f"{root}/api/gateway.php/{company_domain}/v1"
