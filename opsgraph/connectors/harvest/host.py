"""What the Harvest write mixins (`time_writes`, `project_writes`, `billing_writes`) use of the client
they are mixed into: one protocol, so each mixin's methods type-check against `HarvestClient`."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, Protocol

from opsgraph.connectors.base import UpstreamResponse
from opsgraph.connectors.toolkit.resources import ResourceSpec
from opsgraph.model import Assignment, Engagement, TimeEntry


class HarvestHost(Protocol):
    @property
    def system(self) -> str: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        retry: bool | None = None,
        ok: Collection[int] = (200,),
    ) -> UpstreamResponse: ...

    async def collect(
        self, spec: ResourceSpec, params: Mapping[str, str] | None = None, *, path: str | None = None
    ) -> list[dict[str, Any]]: ...

    async def engagements_by_codes(self, codes: Iterable[str]) -> Mapping[str, Engagement]: ...

    async def engagements_by_ids(self, ids: Iterable[str]) -> Mapping[str, Engagement]: ...

    async def assignments_by_engagement_ids(self, ids: Iterable[str]) -> Mapping[str, list[Assignment]]: ...

    async def time_entries_by_ids(self, ids: Iterable[str]) -> Mapping[str, TimeEntry]: ...
