"""The configured systems a gateway process holds, built once from settings through the connector
registry and shared by all requests.

Health probes (the `sources` query, `/readyz`) are shared: callers asking about one system while a
probe is in flight, or within `PROBE_TTL_S` of its answer, get that answer. Thirty aliases of
`sources` in one query cost one upstream call per system, not 30, and repeated polling costs at most
one call per system per `PROBE_TTL_S`.

The resolvers still read through one client per role (`crm`, `psa`, `hr`, `erp`, and the classic
vendor names as typed aliases of those); they move to the role ports later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from opsgraph.clock import Clock, SystemClock
from opsgraph.connectors.bamboohr.client import BambooHRClient
from opsgraph.connectors.base import SourceClient, SourceConfig
from opsgraph.connectors.errors import SourceError, SourceTimeout
from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.netsuite.client import NetSuiteClient
from opsgraph.connectors.registry import Connector, Registry, SystemSpec, default_registry
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.model import Role, SourceName

PROBE_TIMEOUT_S = 2.0
"""How long a health probe waits for a source (readiness should answer fast, not wait out retries)."""

PROBE_TTL_S = 5.0
"""How long a probe's answer is reused, from when it arrived."""

C = TypeVar("C", bound=SourceClient)


@dataclass
class _Probe:
    task: asyncio.Task[SourceError | None]
    answered_at: float | None = None


@dataclass(frozen=True)
class System:
    """A configured system and its client."""

    spec: SystemSpec
    connector: Connector
    client: SourceClient

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def role(self) -> Role:
        return self.spec.role

    @property
    def vendor(self) -> str:
        return self.spec.vendor


@dataclass
class Sources:
    systems: dict[str, System]
    clock: Clock = field(default_factory=SystemClock)
    probe_timeout_s: float = PROBE_TIMEOUT_S
    _probes: dict[str, _Probe] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_specs(
        cls,
        specs: Iterable[SystemSpec],
        *,
        registry: Registry | None = None,
        clock: Clock | None = None,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
    ) -> Sources:
        """One client per system, each of its vendor's connector class; `clock` times their retries,
        breakers and token expiry."""
        registry = registry or default_registry()
        systems = {}
        for spec in specs:
            connector = registry.get(spec.vendor)
            systems[spec.name] = System(spec, connector, connector.client(spec.config, clock=clock))
        return cls(systems=systems, clock=clock or SystemClock(), probe_timeout_s=probe_timeout_s)

    @classmethod
    def from_configs(
        cls,
        configs: Mapping[SourceName, SourceConfig],
        *,
        clock: Clock | None = None,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
    ) -> Sources:
        """The classic stack: one system per vendor, named after it."""
        missing = [s.value for s in SourceName if s not in configs]
        if missing:
            raise ValueError(f"no configuration for sources: {', '.join(missing)}")
        registry = default_registry()
        specs = [
            SystemSpec(name=s.value, role=registry.get(s.value).role, vendor=s.value, config=configs[s])
            for s in SourceName
        ]
        return cls.from_specs(specs, registry=registry, clock=clock, probe_timeout_s=probe_timeout_s)

    # -- the resolvers' accessors: one system per role until they move to the role ports ----------

    def of_role(self, role: Role) -> list[System]:
        return [system for system in self.systems.values() if system.role is role]

    def one(self, role: Role) -> SourceClient:
        """The client of the one system of `role` (a `LookupError` when there are none or several)."""
        found = self.of_role(role)
        if len(found) != 1:
            names = ", ".join(s.name for s in found) or "none"
            raise LookupError(f"one {role.value} system expected, configured: {names}")
        return found[0].client

    def _typed(self, role: Role, kind: type[C]) -> C:
        client = self.one(role)
        if not isinstance(client, kind):
            raise LookupError(f"the {role.value} system is not a {kind.__name__}")
        return client

    @property
    def crm(self) -> SourceClient:
        return self.one(Role.CRM)

    @property
    def psa(self) -> SourceClient:
        return self.one(Role.PSA)

    @property
    def hr(self) -> SourceClient:
        return self.one(Role.HR)

    @property
    def erp(self) -> SourceClient:
        return self.one(Role.ERP)

    @property
    def salesforce(self) -> SalesforceClient:
        return self._typed(Role.CRM, SalesforceClient)

    @property
    def harvest(self) -> HarvestClient:
        return self._typed(Role.PSA, HarvestClient)

    @property
    def bamboohr(self) -> BambooHRClient:
        return self._typed(Role.HR, BambooHRClient)

    @property
    def netsuite(self) -> NetSuiteClient:
        return self._typed(Role.ERP, NetSuiteClient)

    # -- every system ----------------------------------------------------------------------------

    def all(self) -> list[SourceClient]:
        return [system.client for system in self.systems.values()]

    def clients(self) -> dict[str, SourceClient]:
        """Each system's client by system name."""
        return {name: system.client for name, system in self.systems.items()}

    def system(self, key: str) -> System:
        """The system named `key`; else (a `SourceName`, say) the one system of that vendor."""
        found = self.systems.get(str(key))
        if found is not None:
            return found
        of_vendor = [system for system in self.systems.values() if system.vendor == str(key)]
        if len(of_vendor) != 1:
            raise KeyError(f"no single system named or of vendor {key!s}")
        return of_vendor[0]

    def get(self, key: str) -> SourceClient:
        return self.system(key).client

    async def ping(self, key: str) -> None:
        """One cheap authenticated read; raises a `SourceError` when the system cannot answer."""
        system = self.system(key)
        await system.connector.ping(system.client)

    async def probe(self, key: str, timeout_s: float | None = None) -> SourceError | None:
        """None when the system answers a `ping` within `timeout_s`, else why it did not; shared with
        every concurrent caller and reused for `PROBE_TTL_S` after it is answered."""
        name = self.system(key).name
        probe = self._probes.get(name)
        if probe is None or (
            probe.answered_at is not None and self.clock.monotonic() - probe.answered_at >= PROBE_TTL_S
        ):
            bound = self.probe_timeout_s if timeout_s is None else timeout_s
            probe = self._probes[name] = _Probe(asyncio.create_task(self._probe(name, bound)))
            probe.task.add_done_callback(lambda _: setattr(probe, "answered_at", self.clock.monotonic()))
        # shielded: a caller that gives up (its own timeout, a closed connection) leaves it to the others
        return await asyncio.shield(probe.task)

    async def _probe(self, name: str, timeout_s: float) -> SourceError | None:
        try:
            async with asyncio.timeout(timeout_s):
                await self.ping(name)
        except SourceError as exc:
            return exc
        except TimeoutError:
            return SourceTimeout(self.get(name).source, f"no answer within {timeout_s:g}s")
        return None

    async def close(self) -> None:
        for probe in self._probes.values():
            probe.task.cancel()
        await asyncio.gather(*(client.close() for client in self.all()), return_exceptions=True)
