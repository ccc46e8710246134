"""Stacks: the systems a firm runs, as one declarative table, and the simulators a stack serves.

A stack is a tuple of `SystemSpec`s: each a role, a vendor and, where a role has several systems, the
scope each owns (the regions of a PSA). `plan_systems` turns a stack into the simulators to run: a name,
a role, a vendor, the view of the world it serves (`SLICES`: a scoped system serves only its scope's
slice) and its scope. The gateway never names a vendor: the demo passes these through as settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from opsgraph.model import SYSTEM_NAME, Role
from simulators.world import REGIONS, World, check_entities, for_entities, for_regions, with_crm, with_psa
from simulators.world.views import check_regions

ROLE_ORDER: tuple[Role, ...] = (Role.CRM, Role.PSA, Role.HR, Role.ERP)
"""Port order in a group: the CRM on the base port, then the PSA(s), the HR system and the ERP(s)."""


@dataclass(frozen=True)
class SystemSpec:
    """One system of a stack: its role and vendor, and the scope it owns (None: all of its role)."""

    role: Role
    vendor: str
    scope: frozenset[str] | None = None
    name: str | None = None  # the system's name; the vendor's when not given

    @property
    def system(self) -> str:
        return self.name or self.vendor


def _spec(role: Role, vendor: str, scope: Iterable[str] | None = None) -> SystemSpec:
    return SystemSpec(role, vendor, None if scope is None else frozenset(scope))


CRM, PSA, HR, ERP = ROLE_ORDER
STACKS: Mapping[str, tuple[SystemSpec, ...]] = {
    "classic": (
        _spec(CRM, "salesforce"),
        _spec(PSA, "harvest"),
        _spec(HR, "bamboohr"),
        _spec(ERP, "netsuite"),
    ),
    "hubspot": (_spec(CRM, "hubspot"), _spec(PSA, "harvest"), _spec(HR, "bamboohr"), _spec(ERP, "netsuite")),
    # North America books time in Harvest; the international practice (EMEA, and APAC with it: the same
    # multi-currency delivery organisation, run from London) in Kantata.
    "global": (
        _spec(CRM, "salesforce"),
        _spec(PSA, "harvest", {"AMER"}),
        _spec(PSA, "kantata", {"EMEA", "APAC"}),
        _spec(HR, "bamboohr"),
        # The US entity (the parent) keeps its books in NetSuite, the UK entity in Sage Intacct.
        _spec(ERP, "netsuite", {"US"}),
        _spec(ERP, "intacct", {"UK"}),
    ),
    "workday": (
        _spec(CRM, "salesforce"),
        _spec(PSA, "harvest"),
        _spec(HR, "workday"),
        _spec(ERP, "netsuite"),
    ),
}
DEFAULT_STACK = "classic"

SLICES: Mapping[Role, Callable[[World, frozenset[str]], World]] = {
    Role.PSA: for_regions,
    Role.ERP: for_entities,
}
"""How a scoped system's world is cut from the stack's, per role: a PSA holds its regions' delivery
records, an ERP its legal entities' books (`simulators.world.firm_entity`)."""
CHECKS: Mapping[Role, Callable[[Iterable[str]], frozenset[str]]] = {
    Role.PSA: check_regions,
    Role.ERP: check_entities,
}
"""How a role's scope is checked (a PSA's: known regions; an ERP's: the firm's legal entities)."""

PsaRegions = Mapping[str, frozenset[str] | set[str]]
"""A PSA split by region: system name -> the regions (of `simulators.world.REGIONS`) it owns."""


@dataclass(frozen=True)
class SystemPlan:
    """One simulator to run: the system it is, and the world it serves."""

    name: str
    role: Role
    vendor: str
    world: World
    scope: frozenset[str] | None = None  # what it owns; None: everything of its role


def stack_systems(stack: str) -> tuple[SystemSpec, ...]:
    """The systems of `stack`, in `ROLE_ORDER`; a `ValueError` naming the known stacks otherwise."""
    try:
        specs = STACKS[stack]
    except KeyError:
        raise ValueError(f"unknown stack {stack!r}; known stacks: {', '.join(STACKS)}") from None
    return tuple(sorted(specs, key=lambda s: ROLE_ORDER.index(s.role)))


def stack_vendors(stack: str) -> Mapping[Role, str]:
    """The (first) vendor per role of `stack`."""
    out: dict[Role, str] = {}
    for spec in stack_systems(stack):
        out.setdefault(spec.role, spec.vendor)
    return out


def plan_systems(
    world: World, stack: str = DEFAULT_STACK, psa_regions: PsaRegions | None = None
) -> list[SystemPlan]:
    """The systems of `stack`, in `ROLE_ORDER`, each named after its vendor unless named.

    Every simulator serves the stack's view of the world: run on its CRM, its regions' delivery records
    held by the PSA that owns them (their ids in the ERP are that PSA's). A scoped system serves only
    its scope's slice. With `psa_regions`, the PSA role is one system per entry instead (the stack's
    PSA vendor), each serving only its regions' slice: the regions must not overlap; a region none of
    them owns has no PSA.
    """
    specs = list(stack_systems(stack))
    if psa_regions is not None:
        vendor = stack_vendors(stack)[Role.PSA]
        specs = [s for s in specs if s.role is not Role.PSA] + _regional(vendor, psa_regions)
        specs.sort(key=lambda s: ROLE_ORDER.index(s.role))
    _check(specs)
    view = _view(world, specs)
    plans = [
        SystemPlan(
            s.system, s.role, s.vendor, view if s.scope is None else SLICES[s.role](view, s.scope), s.scope
        )
        for s in specs
    ]
    names = [plan.name for plan in plans]
    if len(set(names)) < len(names):
        raise ValueError(f"two systems would share a name: {names}")
    return plans


def _view(world: World, specs: list[SystemSpec]) -> World:
    """The world as the stack runs it: its CRM's ids, and which PSA holds each region (when not Harvest)."""
    crm = next(s.vendor for s in specs if s.role is Role.CRM)
    view = with_crm(world, crm) if crm != world.crm else world
    psas = [s for s in specs if s.role is Role.PSA]
    unscoped = next((s.vendor for s in psas if s.scope is None), None)
    owner = {region: s.vendor for s in psas if s.scope for region in s.scope}
    held = {r: v for r in REGIONS if (v := owner.get(r, unscoped)) is not None}
    return with_psa(view, held) if any(v != "harvest" for v in held.values()) else view


def _check(specs: list[SystemSpec]) -> None:
    """Each role has a system; within a role scopes are valid, do not overlap, one system at most unscoped."""
    for role in ROLE_ORDER:
        mine = [s for s in specs if s.role is role]
        if not mine:
            raise ValueError(f"the stack has no {role.value} system")
        if sum(s.scope is None for s in mine) > 1:
            raise ValueError(f"two {role.value} systems own everything: scope all but one")
        owned: dict[str, str] = {}
        for s in mine:
            if s.scope is None:
                continue
            if role not in SLICES:
                raise ValueError(f"a {role.value} system cannot be scoped")
            for item in sorted(CHECKS[role](s.scope)):
                if item in owned:
                    what = "region" if role is Role.PSA else "legal entity"
                    raise ValueError(f"{what} {item} is owned by both {owned[item]} and {s.system}")
                owned[item] = s.system


def _regional(vendor: str, psa_regions: PsaRegions) -> list[SystemSpec]:
    if not psa_regions:
        raise ValueError("psa_regions is empty; leave it out for one PSA that owns every region")
    specs = []
    for name, regions in psa_regions.items():
        if not re.match(SYSTEM_NAME, name):
            raise ValueError(
                f"{name!r} is not a system name (lower-case letter, then letters, digits, - or _)"
            )
        specs.append(SystemSpec(Role.PSA, vendor, check_regions(regions), name))
    return specs
