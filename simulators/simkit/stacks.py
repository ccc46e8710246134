"""Stacks: which vendor's simulator plays each role, and the systems a group of simulators serves.

A stack maps each role to a vendor. `plan_systems` turns a stack (and, optionally, a PSA split by
region) into the systems to run: a name, a role, a vendor, the view of the world it serves and the
regions it owns. The gateway never names a vendor: the demo passes these through as settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from opsgraph.model import SYSTEM_NAME, Role
from simulators.world import World, for_regions, with_crm
from simulators.world.views import check_regions

ROLE_ORDER: tuple[Role, ...] = (Role.CRM, Role.PSA, Role.HR, Role.ERP)
"""Port order in a group: the CRM on the base port, then the PSA(s), the HR system and the ERP."""

STACKS: Mapping[str, Mapping[Role, str]] = {
    "classic": {Role.CRM: "salesforce", Role.PSA: "harvest", Role.HR: "bamboohr", Role.ERP: "netsuite"},
    "hubspot": {Role.CRM: "hubspot", Role.PSA: "harvest", Role.HR: "bamboohr", Role.ERP: "netsuite"},
    "workday": {Role.CRM: "salesforce", Role.PSA: "harvest", Role.HR: "workday", Role.ERP: "netsuite"},
}
DEFAULT_STACK = "classic"

PsaRegions = Mapping[str, frozenset[str] | set[str]]
"""A PSA split by region: system name -> the regions (of `simulators.world.REGIONS`) it owns."""


@dataclass(frozen=True)
class SystemPlan:
    """One simulator to run: the system it is, and the world it serves."""

    name: str
    role: Role
    vendor: str
    world: World
    scope: frozenset[str] | None = None  # the regions it owns; None: everything of its role


def stack_vendors(stack: str) -> Mapping[Role, str]:
    """The vendor per role of `stack`; a `ValueError` naming the known stacks otherwise."""
    try:
        return STACKS[stack]
    except KeyError:
        raise ValueError(f"unknown stack {stack!r}; known stacks: {', '.join(STACKS)}") from None


def plan_systems(
    world: World, stack: str = DEFAULT_STACK, psa_regions: PsaRegions | None = None
) -> list[SystemPlan]:
    """The systems of `stack`, in `ROLE_ORDER`, each named after its vendor.

    Every simulator serves the world run on the stack's CRM. With `psa_regions`, the PSA role is one
    system per entry instead, each serving only its regions' slice (`simulators.world.for_regions`):
    the regions must not overlap; a region none of them owns has no PSA.
    """
    vendors = stack_vendors(stack)
    view = with_crm(world, vendors[Role.CRM]) if vendors[Role.CRM] != world.crm else world
    plans: list[SystemPlan] = []
    for role in ROLE_ORDER:
        vendor = vendors[role]
        if role is Role.PSA and psa_regions is not None:
            plans += _regional(view, vendor, psa_regions)
        else:
            plans.append(SystemPlan(vendor, role, vendor, view))
    names = [plan.name for plan in plans]
    if len(set(names)) < len(names):
        raise ValueError(f"two systems would share a name: {names}")
    return plans


def _regional(world: World, vendor: str, psa_regions: PsaRegions) -> list[SystemPlan]:
    if not psa_regions:
        raise ValueError("psa_regions is empty; leave it out for one PSA that owns every region")
    owned: dict[str, str] = {}
    plans = []
    for name, regions in psa_regions.items():
        if not re.match(SYSTEM_NAME, name):
            raise ValueError(
                f"{name!r} is not a system name (lower-case letter, then letters, digits, - or _)"
            )
        scope = check_regions(regions)
        for region in sorted(scope):
            if region in owned:
                raise ValueError(f"region {region} is owned by both {owned[region]} and {name}")
            owned[region] = name
        plans.append(SystemPlan(name, Role.PSA, vendor, for_regions(world, scope), scope))
    return plans
