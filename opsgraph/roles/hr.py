"""The HR port: people (resources) with their cost rates, and time off.

Change polling covers `Entity.RESOURCE`. The workflows only read HR (an assignee must be active),
so the port declares no writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from opsgraph.model import Resource, TimeOff
from opsgraph.roles.base import SystemPort
from opsgraph.roles.filters import TimeOffFilter


@runtime_checkable
class HrPort(SystemPort, Protocol):
    async def resources_by_ids(self, ids: Iterable[str]) -> Mapping[str, Resource]:
        """People by HR employee id; unknown ids are absent."""
        ...

    async def list_resources(self) -> list[Resource]:
        """Every person, active and inactive, with cost rate and manager."""
        ...

    async def list_time_off(self, filter: TimeOffFilter) -> list[TimeOff]:
        """Time off overlapping the filter's range with its status (approved by default)."""
        ...
