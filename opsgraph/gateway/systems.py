"""The firm's systems in settings: `[systems.<name>]` tables, checked against the connector registry.

A system is `vendor` (a registered connector), `role` (defaults to the connector's), `base_url`,
`credentials`, an optional `scope` (the regions or legal entities it owns) and the shared per-source
tuning (`SourceConfig`: timeouts, retries, breaker). The checks at start, each naming its key:
every role has a system; a known vendor; the vendor's own settings model accepts the system's settings;
within a role, scopes do not overlap and at most one system is unscoped (it owns whatever the scoped
ones do not).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import combinations

from pydantic import Field, ValidationError, field_validator

from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.registry import Registry, SystemSpec, UnknownVendor
from opsgraph.model import SYSTEM_NAME, Role

__all__ = ["SystemSettings", "resolve_systems"]

_OWN_KEYS = {"vendor", "role", "scope"}


class SystemSettings(SourceConfig):
    """One `[systems.<name>]` table (env `OPSGRAPH_SYSTEMS__<NAME>__<KEY>`)."""

    vendor: str = Field(min_length=1)
    role: Role | None = None
    scope: list[str] | None = None

    @field_validator("role", "vendor", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def resolve_systems(
    declared: Mapping[str, SystemSettings], registry: Registry, *, require_roles: bool = True
) -> tuple[list[SystemSpec], list[str]]:
    """The systems, and one problem line per bad key (`systems.<name>.<key>: ...`)."""
    problems: list[str] = []
    tables = {name: (f"systems.{name}", system) for name, system in declared.items()}

    specs: list[SystemSpec] = []
    for name, (key, system) in tables.items():
        spec = _check(name, key, system, registry, problems)
        if spec is not None:
            specs.append(spec)
    if not problems:
        keys = {name: key for name, (key, _) in tables.items()}
        problems += _check_roles(specs, keys, registry, require_roles)
    return specs, problems


def _check(
    name: str, key: str, system: SystemSettings, registry: Registry, problems: list[str]
) -> SystemSpec | None:
    before = len(problems)
    if not re.match(SYSTEM_NAME, name):
        problems.append(f"{key}: a system name is a lower-case letter, then letters, digits, '-' or '_'")
    try:
        connector = registry.get(system.vendor)
    except UnknownVendor as exc:
        problems.append(f"{key}.vendor: {exc}")
        return None
    role = system.role or connector.role
    if role is not connector.role:
        problems.append(
            f"{key}.role: vendor {system.vendor!r} is a {connector.role.value} connector, not {role.value}"
        )
    config = system.model_dump(exclude=_OWN_KEYS)
    try:
        connector.settings.model_validate(config)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            path = ".".join(str(part) for part in error["loc"])
            where = f"{key}.{path}" if path else key
            problems.append(f"{where}: {error['msg']} ({system.vendor} connector)")
    if system.scope is not None and not system.scope:
        problems.append(f"{key}.scope: empty; leave it out for a system that owns everything")
    if len(problems) > before:
        return None
    scope = frozenset(system.scope) if system.scope is not None else None
    return SystemSpec(name=name, role=role, vendor=system.vendor, config=SourceConfig(**config), scope=scope)


def _check_roles(
    specs: list[SystemSpec], keys: Mapping[str, str], registry: Registry, require_roles: bool
) -> list[str]:
    """Scopes per role; and, with `require_roles`, that each role has a system."""
    problems = []
    for role in Role:
        of_role = [spec for spec in specs if spec.role is role]
        if not of_role:
            if require_roles:
                problems.append(_missing_role(role, registry))
            continue
        unscoped = [keys[spec.name] for spec in of_role if spec.scope is None]
        if len(unscoped) > 1:
            problems.append(
                f"{unscoped[1]}.scope: missing; {unscoped[0]} is already the unscoped {role.value} system "
                f"(at most one per role: it owns what the scoped ones do not)"
            )
        for first, second in combinations(of_role, 2):
            common = (first.scope or frozenset()) & (second.scope or frozenset())
            if common:
                problems.append(
                    f"{keys[second.name]}.scope: {', '.join(sorted(common))} already owned by "
                    f"{keys[first.name]} (role {role.value})"
                )
    return problems


def _missing_role(role: Role, registry: Registry) -> str:
    vendors = [v for v in registry.vendors() if registry.get(v).role is role]
    return (
        f"systems: no {role.value} system; declare one under [systems.<name>] "
        f"(vendor: {' | '.join(vendors)}), or run `opsgraph serve --demo`"
    )
