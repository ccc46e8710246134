"""Helpers of the workflow tests: a simulator's `/_sim/` admin routes, and the engine's test settings."""

from __future__ import annotations

from typing import Any

import httpx

from opsgraph.workflows import WorkflowSettings


class SimAdmin:
    """One simulator's `/_sim/` routes."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.request(method, path, json=body)
            response.raise_for_status()
            return response.json()

    async def clear_counts(self) -> None:
        await self._call("DELETE", "/_sim/stats")
        await self._call("DELETE", "/_sim/writes")

    async def faults(self, **faults: Any) -> None:
        await self._call("PUT", "/_sim/faults", faults)

    async def clear_faults(self) -> None:
        await self.faults(error_rate=0.0, outage=False, latency_ms=0.0, methods=None, after=0)

    async def route_count(self, route: str) -> int:
        """Requests the simulator answered on `route` (`PUT /services/rest/record/v1/timeBill/{rid}`)."""
        stats = await self._call("GET", "/_sim/stats")
        return int(stats["routes"].get(route, {}).get("count", 0))

    async def writes(self, method: str | None = None) -> list[dict[str, Any]]:
        """Time bill writes the ERP accepted (204), oldest first."""
        log = (await self._call("GET", "/_sim/writes"))["writes"]
        return [w for w in log if method is None or w["method"] == method]


TIMEBILL_PUT = "PUT /services/rest/record/v1/timeBill/{rid}"
TIMEBILL_DELETE = "DELETE /services/rest/record/v1/timeBill/{rid}"


def settings_for(database_url: str, **overrides: Any) -> WorkflowSettings:
    return WorkflowSettings(database_url=database_url, poll_interval_s=0.02, wait_s=60, **overrides)
