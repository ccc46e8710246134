"""The four connectors a gateway process holds, built once from settings and shared by all requests.

Health probes (the `sources` query, `/readyz`) are shared: callers asking about one source while a
probe is in flight, or within `PROBE_TTL_S` of its answer, get that answer. Thirty aliases of
`sources` in one query cost four upstream calls, not 120, and repeated polling costs at most four
calls per `PROBE_TTL_S`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from opsgraph.clock import Clock, SystemClock
from opsgraph.connectors.bamboohr.client import BambooHRClient
from opsgraph.connectors.base import SourceClient, SourceConfig
from opsgraph.connectors.errors import SourceError, SourceTimeout
from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.netsuite.client import NetSuiteClient
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.model import SourceName

PROBE_TIMEOUT_S = 2.0
"""How long a health probe waits for a source (readiness should answer fast, not wait out retries)."""

PROBE_TTL_S = 5.0
"""How long a probe's answer is reused, from when it arrived."""


@dataclass
class _Probe:
    task: asyncio.Task[SourceError | None]
    answered_at: float | None = None


@dataclass
class Sources:
    salesforce: SalesforceClient
    harvest: HarvestClient
    bamboohr: BambooHRClient
    netsuite: NetSuiteClient
    clock: Clock = field(default_factory=SystemClock)
    probe_timeout_s: float = PROBE_TIMEOUT_S
    _probes: dict[SourceName, _Probe] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_configs(
        cls,
        configs: Mapping[SourceName, SourceConfig],
        *,
        clock: Clock | None = None,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
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
            clock=clock or SystemClock(),
            probe_timeout_s=probe_timeout_s,
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

    async def probe(self, source: SourceName, timeout_s: float | None = None) -> SourceError | None:
        """None when the source answers a `ping` within `timeout_s`, else why it did not; shared with
        every concurrent caller and reused for `PROBE_TTL_S` after it is answered."""
        probe = self._probes.get(source)
        if probe is None or (
            probe.answered_at is not None and self.clock.monotonic() - probe.answered_at >= PROBE_TTL_S
        ):
            bound = self.probe_timeout_s if timeout_s is None else timeout_s
            probe = self._probes[source] = _Probe(asyncio.create_task(self._probe(source, bound)))
            probe.task.add_done_callback(lambda _: setattr(probe, "answered_at", self.clock.monotonic()))
        # shielded: a caller that gives up (its own timeout, a closed connection) leaves it to the others
        return await asyncio.shield(probe.task)

    async def _probe(self, source: SourceName, timeout_s: float) -> SourceError | None:
        try:
            async with asyncio.timeout(timeout_s):
                await self.ping(source)
        except SourceError as exc:
            return exc
        except TimeoutError:
            return SourceTimeout(source, f"no answer within {timeout_s:g}s")
        return None

    async def close(self) -> None:
        for probe in self._probes.values():
            probe.task.cancel()
        await asyncio.gather(*(client.close() for client in self.all()), return_exceptions=True)
