"""The four connectors a gateway process holds, built once from settings and shared by all requests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from opsgraph.clock import Clock
from opsgraph.model import SourceName
from opsgraph.sources.bamboohr.client import BambooHRClient
from opsgraph.sources.base import SourceClient, SourceConfig
from opsgraph.sources.errors import SourceError, SourceTimeout
from opsgraph.sources.harvest.client import HarvestClient
from opsgraph.sources.netsuite.client import NetSuiteClient
from opsgraph.sources.salesforce.client import SalesforceClient

PROBE_TIMEOUT_S = 2.0
"""How long a health probe waits for a source (readiness should answer fast, not wait out retries)."""


@dataclass
class Sources:
    salesforce: SalesforceClient
    harvest: HarvestClient
    bamboohr: BambooHRClient
    netsuite: NetSuiteClient

    @classmethod
    def from_configs(
        cls, configs: Mapping[SourceName, SourceConfig], *, clock: Clock | None = None
    ) -> Sources:
        """The four clients; `clock` times their retries, breakers and token expiry."""
        missing = [s.value for s in SourceName if s not in configs]
        if missing:
            raise ValueError(f"no configuration for sources: {', '.join(missing)}")
        return cls(
            salesforce=SalesforceClient(configs[SourceName.SALESFORCE], clock=clock),
            harvest=HarvestClient(configs[SourceName.HARVEST], clock=clock),
            bamboohr=BambooHRClient(configs[SourceName.BAMBOOHR], clock=clock),
            netsuite=NetSuiteClient(configs[SourceName.NETSUITE], clock=clock),
        )

    def all(self) -> list[SourceClient]:
        return [self.salesforce, self.harvest, self.bamboohr, self.netsuite]

    def get(self, source: SourceName) -> SourceClient:
        client: SourceClient = getattr(self, source.value)
        return client

    async def ping(self, source: SourceName) -> None:
        """One cheap authenticated read; raises a `SourceError` when the source cannot answer."""
        if source is SourceName.SALESFORCE:
            await self.salesforce.query("SELECT Id FROM Account LIMIT 1")
        elif source is SourceName.HARVEST:
            await self.harvest.request("GET", "/v2/tasks", params={"per_page": "1"})
        elif source is SourceName.BAMBOOHR:
            await self.bamboohr.employees_by_ids(["0"])
        else:
            await self.netsuite.suiteql("SELECT id FROM accountingperiod WHERE id = 0")

    async def probe(self, source: SourceName, timeout_s: float = PROBE_TIMEOUT_S) -> SourceError | None:
        """`ping` bounded by `timeout_s`: None when the source answered, else why it did not."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.ping(source)
        except SourceError as exc:
            return exc
        except TimeoutError:
            return SourceTimeout(source, f"no answer within {timeout_s:g}s")
        return None

    async def close(self) -> None:
        await asyncio.gather(*(client.close() for client in self.all()), return_exceptions=True)
