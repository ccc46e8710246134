"""System API contracts: one port per role, in canonical terms (ARCHITECTURE sections 1-2).

Resolvers, views, cache and schema speak to these ports; connectors implement them. Nothing here
names a vendor. The shared contract of every port method is in `base.py`.
"""

from __future__ import annotations

from opsgraph.model import Role, SourceRef
from opsgraph.roles.base import Change, ChangeBatch, ChangeKind, Entity, SystemPort
from opsgraph.roles.crm import CrmPort
from opsgraph.roles.erp import ErpPort
from opsgraph.roles.hr import HrPort
from opsgraph.roles.psa import PsaPort

PORTS: dict[Role, type] = {
    Role.CRM: CrmPort,
    Role.PSA: PsaPort,
    Role.HR: HrPort,
    Role.ERP: ErpPort,
}
"""The port each role's connectors implement."""

POLLED: dict[Role, frozenset[Entity]] = {
    Role.CRM: frozenset({Entity.CLIENT, Entity.OPPORTUNITY}),
    Role.PSA: frozenset({Entity.ENGAGEMENT, Entity.ASSIGNMENT, Entity.TIME_ENTRY}),
    Role.HR: frozenset({Entity.RESOURCE}),
    Role.ERP: frozenset({Entity.CUSTOMER, Entity.JOB, Entity.INVOICE, Entity.TIME_POSTING}),
}
"""The entities each role's `changed_since` must support."""

__all__ = [
    "POLLED",
    "PORTS",
    "Change",
    "ChangeBatch",
    "ChangeKind",
    "CrmPort",
    "Entity",
    "ErpPort",
    "HrPort",
    "PsaPort",
    "Role",
    "SourceRef",
    "SystemPort",
]
