"""The connector registry: which vendors this gateway can talk to, by vendor name.

A connector is a small `Connector` object (vendor, role, client class, settings model)
published under the entry-point group `opsgraph.connectors`, so a firm can ship a private connector
as its own package:

    [project.entry-points."opsgraph.connectors"]
    kantata = "acme_kantata:CONNECTOR"

The built-in connectors are also registered directly (`BUILTIN`), so a source tree that was never
`pip install`-ed (no entry points) still has them. An entry point of the same name replaces a built-in.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from pydantic import BaseModel, ConfigDict

from opsgraph.connectors.base import SourceClient, SourceConfig
from opsgraph.connectors.webhooks import WebhookKit
from opsgraph.model import Role

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "Connector",
    "ConnectorSettings",
    "Registry",
    "SystemSpec",
    "UnknownVendor",
    "default_registry",
    "load_registry",
]

ENTRY_POINT_GROUP = "opsgraph.connectors"

BUILTIN: Mapping[str, str] = {
    "salesforce": "opsgraph.connectors.salesforce.connector:CONNECTOR",
    "harvest": "opsgraph.connectors.harvest.connector:CONNECTOR",
    "bamboohr": "opsgraph.connectors.bamboohr.connector:CONNECTOR",
    "netsuite": "opsgraph.connectors.netsuite.connector:CONNECTOR",
    "hubspot": "opsgraph.connectors.hubspot.connector:CONNECTOR",
    "workday": "opsgraph.connectors.workday.connector:CONNECTOR",
    "kantata": "opsgraph.connectors.kantata.connector:CONNECTOR",
    "intacct": "opsgraph.connectors.intacct.connector:CONNECTOR",
}
"""The connectors shipped with opsgraph, as `module:attribute` (pyproject's entry points name the same)."""


class ConnectorSettings(BaseModel):
    """Base for a connector's settings model: checks a system's settings (credentials keys above all)
    at start; keys it does not declare are left to the shared `SourceConfig`."""

    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class Connector:
    """What the registry knows of one vendor."""

    vendor: str
    role: Role
    client: type[SourceClient]
    settings: type[BaseModel]
    """Validates a system's settings (`base_url`, `credentials`, tuning) for this vendor at start."""
    webhooks: WebhookKit | None = None
    """Verifies and reads the vendor's webhook deliveries (`/webhooks/<system>`); None: it sends none."""


class UnknownVendor(LookupError):
    def __init__(self, vendor: str, known: Iterable[str]) -> None:
        self.vendor = vendor
        self.known = sorted(known)
        super().__init__(f"unknown vendor {vendor!r}; known vendors: {', '.join(self.known)}")


class Registry:
    """Connectors by vendor name."""

    def __init__(self, connectors: Iterable[Connector] = ()) -> None:
        self._connectors: dict[str, Connector] = {}
        for connector in connectors:
            self.register(connector)

    def register(self, connector: Connector) -> None:
        self._connectors[connector.vendor] = connector

    def get(self, vendor: str) -> Connector:
        try:
            return self._connectors[vendor]
        except KeyError:
            raise UnknownVendor(vendor, self._connectors) from None

    def vendors(self) -> list[str]:
        return sorted(self._connectors)

    def __contains__(self, vendor: object) -> bool:
        return vendor in self._connectors


def _load_target(target: str) -> Connector:
    module, _, attribute = target.partition(":")
    connector = getattr(importlib.import_module(module), attribute)
    return _checked(connector, target)


def _checked(connector: object, origin: str) -> Connector:
    if not isinstance(connector, Connector):
        raise TypeError(f"{origin} is not an opsgraph Connector (got {type(connector).__name__})")
    return connector


def load_registry(
    entry_points_: Iterable[EntryPoint] | None = None, extra: Iterable[Connector] = ()
) -> Registry:
    """The built-ins, then the `opsgraph.connectors` entry points (installed ones unless given), then
    `extra`; a later registration of a vendor replaces an earlier one."""
    registry = Registry(_load_target(target) for target in BUILTIN.values())
    found = entry_points(group=ENTRY_POINT_GROUP) if entry_points_ is None else entry_points_
    for point in found:
        registry.register(_checked(point.load(), f"entry point {point.name} = {point.value}"))
    for connector in extra:
        registry.register(connector)
    return registry


@cache
def default_registry() -> Registry:
    """The process's registry (built-ins and installed entry points), loaded once."""
    return load_registry()


@dataclass(frozen=True)
class SystemSpec:
    """One configured system, checked: its name, role, vendor, scope and the settings its client gets.

    `scope` is the regions or legal entities it owns; None owns whatever no scoped system of its role does.
    """

    name: str
    role: Role
    vendor: str
    config: SourceConfig
    scope: frozenset[str] | None = None
