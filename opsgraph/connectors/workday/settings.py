"""A Workday system's settings: the tenant, the credentials, and where each report lives with its column map.

`options.workers` and `options.time_off` each take `owner`, `name`, `columns` (canonical field -> the
report's column) and `prompts`; what a tenant leaves out keeps the documented definition
(`resources.py`), field by field. A column set to "" says the report has none: allowed for optional
fields only, which are then always null. Checked at start, each error naming its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsgraph.connectors.registry import ConnectorSettings
from opsgraph.connectors.workday.resources import TIME_OFF, WORKERS, ReportDefinition

TENANT = r"^[A-Za-z0-9_.-]+$"


class Report(BaseModel):
    """One report: who owns it, its name, and its columns and prompts by canonical name."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str  # its table under `options`
    owner: str = Field(min_length=1)
    name: str = Field(min_length=1)
    columns: Mapping[str, str]
    prompts: Mapping[str, str]
    sparse: frozenset[str] = frozenset()  # from the definition: fields some rows leave empty

    def column(self, field: str) -> str | None:
        """The report's column for `field`; None when the tenant's report has none."""
        return self.columns.get(field) or None


def _report(definition: ReportDefinition, given: Any) -> Report:
    """The documented definition with the tenant's overrides; a `ValueError` naming the bad key."""
    if isinstance(given, Report):
        return given
    if not isinstance(given, Mapping):
        raise ValueError("must be a table (owner, name, columns, prompts)")
    unknown = sorted(set(given) - {"owner", "name", "columns", "prompts"})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (owner, name, columns, prompts)")
    columns = _merged(definition.columns, given.get("columns"), "columns")
    for field in sorted(definition.required):
        if not columns[field]:
            raise ValueError(f"columns.{field}: required; name the report's column for it")
    prompts = _merged(definition.prompts, given.get("prompts"), "prompts")
    for what, value in prompts.items():
        if not value:
            raise ValueError(f"prompts.{what}: name the report's prompt for it")
    return Report(
        key=definition.key,
        owner=given.get("owner", definition.owner),
        name=given.get("name", definition.name),
        columns=columns,
        prompts=prompts,
        sparse=definition.sparse,
    )


def _merged(defaults: Mapping[str, str], given: Any, key: str) -> dict[str, str]:
    if given is None:
        return dict(defaults)
    if not isinstance(given, Mapping):
        raise ValueError(f"{key}: must be a table of canonical name -> the report's name")
    for name, value in given.items():
        if name not in defaults:
            raise ValueError(f"{key}.{name}: unknown; known: {', '.join(defaults)}")
        if not isinstance(value, str):
            raise ValueError(f"{key}.{name}: must be a string")
    return {**defaults, **{name: value.strip() for name, value in given.items()}}


class WorkdayOptions(BaseModel):
    """`[systems.<name>.options]`: the reports, each defaulting to its documented definition."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    workers: Report = Field(default_factory=lambda: _report(WORKERS, {}))
    time_off: Report = Field(default_factory=lambda: _report(TIME_OFF, {}))

    @field_validator("workers", mode="before")
    @classmethod
    def _workers(cls, value: Any) -> Report:
        return _report(WORKERS, value)

    @field_validator("time_off", mode="before")
    @classmethod
    def _time_off(cls, value: Any) -> Report:
        return _report(TIME_OFF, value)


class WorkdayCredentials(BaseModel):
    """The tenant, and either an integration system user (Basic) or an API client's refresh token."""

    model_config = ConfigDict(extra="ignore")
    tenant: str = Field(pattern=TENANT)
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None

    @property
    def oauth(self) -> bool:
        return self.refresh_token is not None

    @model_validator(mode="after")
    def _one_way_in(self) -> WorkdayCredentials:
        basic = bool(self.username and self.password)
        oauth = bool(self.client_id and self.client_secret and self.refresh_token)
        if basic == oauth:
            raise ValueError(
                "give either username and password (an integration system user) or client_id, "
                "client_secret and refresh_token (an API client), not both or neither"
            )
        return self


class WorkdaySettings(ConnectorSettings):
    base_url: str
    credentials: WorkdayCredentials
    options: WorkdayOptions = Field(default_factory=WorkdayOptions)
