"""The configured systems a gateway process holds, built once from settings through the connector
registry and shared by all requests.

Readers ask for the ports of a role (`sources.psa` is every PSA system's `PsaPort`, in the order the
settings declare them) and, for a scope value (a region, a legal entity), which of them own it
(`route`). Nothing here knows a vendor: each `System` is what its connector made of its settings.

Health probes (the `sources` query, `/readyz`) are shared: callers asking about one system while a
probe is in flight, or within `PROBE_TTL_S` of its answer, get that answer. Thirty aliases of
`sources` in one query cost one upstream call per system, not 30, and repeated polling costs at most
one call per system per `PROBE_TTL_S`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from opsgraph.clock import Clock, SystemClock
from opsgraph.connectors.base import SourceClient
from opsgraph.connectors.errors import SourceError, SourceTimeout
from opsgraph.connectors.registry import Connector, Registry, SystemSpec, default_registry
from opsgraph.model import Record, Role, SourceRef
from opsgraph.roles import CrmPort, ErpPort, HrPort, PsaPort, SystemPort

PROBE_TIMEOUT_S = 2.0
"""How long a health probe waits for a source (readiness should answer fast, not wait out retries)."""

PROBE_TTL_S = 5.0
"""How long a probe's answer is reused, from when it arrived."""


@dataclass
class _Probe:
    task: asyncio.Task[SourceError | None]
    answered_at: float | None = None


@dataclass(frozen=True)
class System:
    """A configured system and its client (which implements its role's port)."""

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

    @property
    def scope(self) -> frozenset[str] | None:
        """The regions or legal entities this system owns; None: whatever no scoped system owns."""
        return self.spec.scope

    def ref(self, record_id: str) -> SourceRef:
        return SourceRef(system=self.name, role=self.role, vendor=self.vendor, id=record_id)


@dataclass(frozen=True)
class Route:
    """The systems of a role that own a scope value (a region, a legal entity).

    `exact`: every record of these systems has that value (each is scoped to it alone), so the caller
    keeps them all. Otherwise the caller filters the records itself: a system scoped to several values
    (`["EMEA", "APAC"]`) also holds the others', and when no scoped system owns the value the route is
    the role's unscoped system (if any), which holds whatever no scoped system owns.
    """

    systems: tuple[System, ...]
    exact: bool


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
            client = connector.client(spec.config, system=spec.name, clock=clock)
            systems[spec.name] = System(spec, connector, client)
        return cls(systems=systems, clock=clock or SystemClock(), probe_timeout_s=probe_timeout_s)

    # -- by role -----------------------------------------------------------------------------

    def of_role(self, role: Role) -> list[System]:
        """The role's systems in the order the settings declare them."""
        return [system for system in self.systems.values() if system.role is role]

    @property
    def crm(self) -> list[CrmPort]:
        return [cast(CrmPort, s.client) for s in self.of_role(Role.CRM)]

    @property
    def psa(self) -> list[PsaPort]:
        return [cast(PsaPort, s.client) for s in self.of_role(Role.PSA)]

    @property
    def hr(self) -> list[HrPort]:
        return [cast(HrPort, s.client) for s in self.of_role(Role.HR)]

    @property
    def erp(self) -> list[ErpPort]:
        return [cast(ErpPort, s.client) for s in self.of_role(Role.ERP)]

    def owner(self, role: Role) -> System | None:
        """The system a record of `role` found nowhere would belong to: the first declared (where a
        data-quality issue about a missing record says it was looked for); None without one."""
        systems = self.of_role(role)
        return systems[0] if systems else None

    def route(self, role: Role, value: str | None) -> Route:
        """Which of the role's systems own `value` (compared without case); every system (exact) when
        `value` is None."""
        systems = self.of_role(role)
        if value is None:
            return Route(tuple(systems), exact=True)
        wanted = value.casefold()  # `scope = ["emea"]` owns a client whose region is "EMEA"
        scoped = tuple(
            s for s in systems if s.scope is not None and wanted in {v.casefold() for v in s.scope}
        )
        if scoped:
            alone = all({v.casefold() for v in s.scope or ()} == {wanted} for s in scoped)
            return Route(scoped, exact=alone)
        return Route(tuple(s for s in systems if s.scope is None), exact=False)

    # -- by name -----------------------------------------------------------------------------

    def system(self, name: str) -> System:
        """The system named `name` (a `KeyError` when none is)."""
        try:
            return self.systems[name]
        except KeyError:
            raise KeyError(f"no system named {name!r}") from None

    def port(self, name: str) -> SystemPort:
        return cast(SystemPort, self.system(name).client)

    def ref(self, system: str, record_id: str) -> SourceRef:
        """The `SourceRef` of record `record_id` of `system`, with the system's role and vendor."""
        return self.system(system).ref(record_id)

    def ref_of(self, record: Record) -> SourceRef:
        return self.ref(record.system, record.id)

    def all(self) -> list[SourceClient]:
        return [system.client for system in self.systems.values()]

    def clients(self) -> dict[str, SourceClient]:
        """Each system's client by system name."""
        return {name: system.client for name, system in self.systems.items()}

    # -- health ------------------------------------------------------------------------------

    async def probe(self, name: str, timeout_s: float | None = None) -> SourceError | None:
        """None when the system answers its port's `probe` within `timeout_s`, else why it did not;
        shared with every concurrent caller and reused for `PROBE_TTL_S` after it is answered."""
        self.system(name)
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
                await self.port(name).probe()
        except SourceError as exc:
            return exc
        except TimeoutError:
            return SourceTimeout(name, f"no answer within {timeout_s:g}s")
        return None

    async def close(self) -> None:
        for probe in self._probes.values():
            probe.task.cancel()
        await asyncio.gather(*(client.close() for client in self.all()), return_exceptions=True)
