"""A system's client as its role's port: each connector's client implements the port of its role."""

from __future__ import annotations

from typing import cast

from opsgraph.resolvers.sources import System
from opsgraph.roles import CrmPort, ErpPort, HrPort, PsaPort


def crm(system: System) -> CrmPort:
    return cast(CrmPort, system.client)


def psa(system: System) -> PsaPort:
    return cast(PsaPort, system.client)


def hr(system: System) -> HrPort:
    return cast(HrPort, system.client)


def erp(system: System) -> ErpPort:
    return cast(ErpPort, system.client)
