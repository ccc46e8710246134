"""`[auth]` settings: the OIDC issuer, hashed API keys, the anonymous role, the open endpoints, the
authorization policy file.

The default is closed: with neither an issuer nor API keys nor an anonymous role, every `/graphql`
request is a 401. `serve --demo` adds its demo keys and lets anonymous callers in as `viewer`
(`auth/demo.py`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from opsgraph.auth.caller import Role
from opsgraph.auth.policy import Policy, PolicyError, load_policy

__all__ = ["ASYMMETRIC_ALGORITHMS", "ApiKeySettings", "AuthSettings", "OidcSettings", "OpenPath"]

ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
"""What an issuer signs with and a JWKS publishes public keys for. `none` and the HMAC algorithms
(a shared secret, not a published key) are never accepted."""

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
OpenPath = Literal["/healthz", "/readyz", "/metrics"]
OPEN_BY_DEFAULT: list[OpenPath] = ["/healthz", "/readyz", "/metrics"]
HASH_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")


class OidcSettings(BaseModel):
    """The firm's identity provider. Tokens must carry `iss` = `issuer`, `aud` holding `audience`,
    `exp` (and `nbf` when present) within `leeway_s` of the gateway's clock."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    jwks_url: HttpUrl
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"], min_length=1)
    leeway_s: float = Field(30.0, ge=0, le=300, description="clock skew allowed on exp and nbf")
    jwks_max_age_s: float = Field(3600.0, gt=0, description="keys are fetched again after this long")
    jwks_min_refresh_s: float = Field(
        30.0, ge=0, description="floor between two fetches (an unknown kid refetches at most this often)"
    )
    jwks_timeout_s: float = Field(5.0, gt=0)
    subject_claim: str = "sub"
    person_claim: str | None = Field(
        "resource_id",
        description="a dotted path to the caller's Resource (its record key `system:id` or its global "
        "id), for rules that let people act only for themselves; none: tokens name no person",
    )
    roles_claim: str = Field("roles", description="a dotted path, e.g. realm_access.roles")
    scope_claims: list[str] = Field(
        default_factory=lambda: ["regions", "legal_entities"],
        description="claims listing the regions or legal entities the caller may see; none: all",
    )

    @field_validator("jwks_url")
    @classmethod
    def _https(cls, value: HttpUrl) -> HttpUrl:
        if value.scheme != "https" and value.host not in LOOPBACK_HOSTS:
            raise ValueError("must be https (plain http only on loopback): the keys decide who gets in")
        return value

    @field_validator("algorithms")
    @classmethod
    def _known_algorithms(cls, value: list[str]) -> list[str]:
        bad = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if bad:
            raise ValueError(f"not allowed: {', '.join(bad)} (allowed: {', '.join(ASYMMETRIC_ALGORITHMS)})")
        return value


class ApiKeySettings(BaseModel):
    """One API key, stored as `sha256:<hex of the key's SHA-256>` (`opsgraph api-key` makes one)."""

    model_config = ConfigDict(extra="forbid")

    hash: str
    roles: list[Role] = Field(min_length=1)
    scopes: list[str] | None = Field(None, description="regions or legal entities; none: all")
    person: str | None = Field(
        None, description="the Resource this key acts as (`system:id` or its global id); none: nobody"
    )

    @field_validator("hash")
    @classmethod
    def _hash_format(cls, value: str) -> str:
        value = value.strip().lower()
        if not HASH_PATTERN.fullmatch(value):
            raise ValueError("must be sha256:<64 hex digits> (the key's hash, never the key)")
        return value


class AuthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    oidc: OidcSettings | None = None
    api_keys: dict[str, ApiKeySettings] = Field(default_factory=dict)
    anonymous_role: Role | None = Field(
        None, description="the role of a request without credentials; none: refused (401)"
    )
    open_paths: list[OpenPath] = Field(
        default_factory=lambda: list(OPEN_BY_DEFAULT),
        description="endpoints served without credentials",
    )
    policy: Path | None = Field(
        None, description="the authorization policy file (TOML); none: the one shipped in `opsgraph/auth`"
    )

    @field_validator("policy")
    @classmethod
    def _readable_policy(cls, value: Path | None) -> Path | None:
        try:
            load_policy(value)
        except PolicyError as exc:
            raise ValueError("; ".join(exc.problems)) from None
        return value

    def load_policy(self) -> Policy:
        """The policy `policy` names (checked when the settings were read)."""
        return load_policy(self.policy)

    @field_validator("anonymous_role", mode="before")
    @classmethod
    def _none_role(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in ("", "none") else value

    @model_validator(mode="after")
    def _distinct_keys(self) -> AuthSettings:
        seen: dict[str, str] = {}
        for name, key in self.api_keys.items():
            if key.hash in seen:
                raise ValueError(f"api_keys.{name}: the same hash as api_keys.{seen[key.hash]}")
            seen[key.hash] = name
        return self

    @property
    def closed(self) -> bool:
        """No way in: every request to `/graphql` is refused."""
        return self.oidc is None and not self.api_keys and self.anonymous_role is None
