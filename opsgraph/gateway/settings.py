"""Gateway settings: `OPSGRAPH_*` environment variables over an optional TOML file over defaults.

The firm's systems are `[systems.<name>]` tables (`gateway/systems.py`; env
`OPSGRAPH_SYSTEMS__<NAME>__VENDOR=...`), one per configured system, whatever its vendor.

Precedence, highest first: explicit overrides, the environment, the file, the defaults. Any bad
value fails `load_settings` with a `ConfigError` that names every bad key in dotted form.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from opsgraph.auth import AuthSettings
from opsgraph.auth.demo import demo_auth
from opsgraph.cache import CachePolicy
from opsgraph.cache.responses import ResponseCachePolicy
from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.registry import Registry, SystemSpec, default_registry
from opsgraph.events.settings import EventSettings
from opsgraph.gateway.demand_settings import CostSettings, PersistedQuerySettings, RateLimitSettings
from opsgraph.gateway.systems import SystemSettings, resolve_systems
from opsgraph.telemetry.settings import TelemetrySettings
from opsgraph.workflows.settings import WorkflowSettings

__all__ = [
    "CONFIG_FILE_ENV",
    "ENV_PREFIX",
    "ConfigError",
    "Settings",
    "demo_settings",
    "load_settings",
]

ENV_PREFIX = "OPSGRAPH_"
CONFIG_FILE_ENV = "OPSGRAPH_CONFIG_FILE"

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")

LogLevel = Literal["critical", "error", "warning", "info", "debug"]

# The TOML file for the settings being built right now: `settings_customise_sources` is a
# classmethod, so the path chosen by `load_settings` reaches it through this variable.
_toml_file: ContextVar[Path | None] = ContextVar("opsgraph_settings_toml_file", default=None)


class ConfigError(Exception):
    """A configuration that cannot start the gateway. `problems` holds one line per bad key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    systems: dict[str, SystemSettings] = Field(default_factory=dict)

    redis_url: str | None = None
    cache: CachePolicy = Field(default_factory=CachePolicy)
    response_cache: ResponseCachePolicy = Field(default_factory=ResponseCachePolicy)
    """Whole responses of repeated queries (`OPSGRAPH_RESPONSE_CACHE__ENABLED=false`: off); on only
    with the read cache, whose tags and TTLs it uses."""
    workflows: WorkflowSettings = Field(default_factory=WorkflowSettings)
    """The mutations' durable workflows (`OPSGRAPH_WORKFLOWS__*`): a SQLite file in `data_dir` unless
    `database_url` names PostgreSQL."""
    events: EventSettings = Field(default_factory=EventSettings)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    max_depth: int = Field(12, ge=1)
    max_aliases: int = Field(30, ge=0)
    max_tokens: int = Field(5000, ge=1)
    max_response_bytes: int = Field(8 * 1024 * 1024, ge=4096, description="cap on one response's data")
    request_timeout_s: float = Field(15.0, gt=0, description="one overall deadline per request")
    max_body_bytes: int = Field(1024 * 1024, ge=1)
    max_header_bytes: int = Field(32 * 1024, ge=1024)
    keep_alive_s: int = Field(
        75,
        ge=1,
        description="how long an idle client connection stays open: longer than the idle timeout of the "
        "load balancer in front (60 s on most), so it never sends a request on a connection just closed",
    )
    parse_cache_bytes: int = Field(256 * 1024, ge=0, description="total query text of cached documents")
    parse_cache_max_document_bytes: int = Field(16 * 1024, ge=0, description="larger ones are not cached")

    ready_timeout_s: float = Field(
        2.0, gt=0, description="How long a `sources` health probe waits for a vendor"
    )
    today: date | None = None
    reporting_currency: str = Field(
        "USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code aggregates across currencies convert to"
    )
    graphiql: bool = Field(False, description="serve the GraphiQL page (on in the demo)")
    introspection: bool = Field(False, description="for every caller; off: only for `admin` (on in the demo)")
    cors_origins: list[str] = Field(
        default_factory=list, description="origins allowed to call from a browser"
    )
    federation: bool = Field(False, description="serve the graph as an Apollo Federation 2 subgraph")
    auth: AuthSettings = Field(default_factory=AuthSettings)
    cost: CostSettings = Field(default_factory=CostSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    persisted_queries: PersistedQuerySettings = Field(default_factory=PersistedQuerySettings)
    log_level: LogLevel = "info"
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        bad = [origin for origin in value if not _ORIGIN.fullmatch(origin)]
        if bad:
            raise ValueError(f"not an origin (scheme://host[:port]): {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _rate_limit_store(self) -> Settings:
        if self.rate_limit.enabled and self.rate_limit.store == "redis" and self.redis_url is None:
            raise ValueError("rate_limit.store = redis needs redis_url (the replicas' shared Redis)")
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_log_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _toml_file.get()
        if toml_file is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    def system_config(self, name: str) -> SourceConfig:
        """The shared connector settings of system `name` (a `KeyError` when there is none)."""
        return SourceConfig(**self.systems[name].model_dump(exclude={"vendor", "role", "scope"}))

    def system_specs(
        self, registry: Registry | None = None, *, require_roles: bool = True
    ) -> list[SystemSpec]:
        """The configured systems, checked (`gateway/systems.py`); a `ConfigError` naming each bad key."""
        specs, problems = resolve_systems(
            self.systems, registry or default_registry(), require_roles=require_roles
        )
        if problems:
            raise ConfigError(problems)
        return specs

    def with_system(self, name: str, **changes: Any) -> Settings:
        """A copy with `changes` applied to system `name`'s settings (`[systems.<name>]`)."""
        system = self.systems[name].model_copy(update=changes)
        return self.model_copy(update={"systems": {**self.systems, name: system}})


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    *,
    require_sources: bool = True,
    registry: Registry | None = None,
    **overrides: Any,
) -> Settings:
    """Settings from overrides, the environment, the TOML file and the defaults, in that order.

    The file is `config_file`, else `$OPSGRAPH_CONFIG_FILE`, else none. With `require_sources`
    (the default; the demo turns it off) every role must have a system. The systems are checked
    either way (known vendors in `registry`, default the installed one; each vendor's settings; scopes).
    """
    path = _resolve_config_file(config_file)
    token = _toml_file.set(path)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"config file {path}: invalid TOML: {exc}"]) from None
    except SettingsError as exc:
        raise ConfigError([str(exc)]) from None
    finally:
        _toml_file.reset(token)
    settings.system_specs(registry, require_roles=require_sources)
    return settings


def demo_settings(
    systems: Mapping[str, Mapping[str, Any]],
    config_file: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings whose systems are `systems` (name -> its `[systems.<name>]` table, as the demo builds
    them for its simulators), with the demo's credentials (`auth/demo.py`: a key per role, anonymous
    callers as `viewer`), GraphiQL and introspection on and rate limits off, each unless configured;
    the rest as `load_settings` reads it."""
    settings = load_settings(
        config_file, **{"systems": {k: dict(v) for k, v in systems.items()}, **overrides}
    )
    on: dict[str, object] = {
        name: True for name in ("graphiql", "introspection") if name not in settings.model_fields_set
    }
    if "rate_limit" not in settings.model_fields_set:  # one local user, and the bench's load
        on["rate_limit"] = settings.rate_limit.model_copy(update={"enabled": False})
    return settings.model_copy(update={"auth": demo_auth(settings.auth), **on})


def _resolve_config_file(config_file: str | os.PathLike[str] | None) -> Path | None:
    raw = os.fspath(config_file) if config_file is not None else os.environ.get(CONFIG_FILE_ENV) or None
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        origin = "" if config_file is not None else f" (from {CONFIG_FILE_ENV})"
        raise ConfigError([f"config file not found: {path}{origin}"])
    return path


def _env_name(loc: tuple[str | int, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part).upper() for part in loc)


def _describe(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc) or "settings"
        line = f"{key}: {error['msg']}"
        if error["type"] == "missing":
            line += f" (set {_env_name(loc)})"
        problems.append(line)
    return problems
