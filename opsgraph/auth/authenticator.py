"""From what a request sends to who it is: `Authorization: Bearer <JWT or API key>`, `X-API-Key`, or,
over WebSocket, the same names in the `connection_init` payload. Nothing sent: the anonymous role
when one is configured, else a 401.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from opsgraph.auth.api_keys import ApiKeys
from opsgraph.auth.caller import Caller
from opsgraph.auth.failures import AuthFailure, missing_credentials
from opsgraph.auth.settings import AuthSettings
from opsgraph.auth.tokens import TokenVerifier, looks_like_jwt
from opsgraph.clock import Clock

__all__ = ["Authenticator", "Credential", "credential_from_headers", "credential_from_payload"]


@dataclass(frozen=True, slots=True)
class Credential:
    kind: Literal["bearer", "api_key"]
    value: str

    def __repr__(self) -> str:  # never the secret, wherever a credential is printed
        return f"Credential({self.kind}, ***)"


def _credential(authorization: str | None, api_key: str | None) -> Credential | None:
    if api_key is not None:
        return Credential("api_key", api_key.strip())
    if authorization is None:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthFailure("malformed_authorization", "The Authorization header must be 'Bearer <token>'")
    return Credential("bearer", value.strip())


def credential_from_headers(headers: Mapping[str, str]) -> Credential | None:
    """`headers` with lower-case names (starlette's `Headers` are case-insensitive too)."""
    return _credential(headers.get("authorization"), headers.get("x-api-key"))


def credential_from_payload(payload: Mapping[str, object]) -> Credential | None:
    """A graphql-transport-ws `connection_init` payload: `Authorization`, `X-API-Key` (any case), `apiKey`."""
    lowered = {key.lower(): value for key, value in payload.items() if isinstance(value, str)}
    api_key = lowered.get("x-api-key", lowered.get("apikey"))
    return _credential(lowered.get("authorization"), api_key)


class Authenticator:
    def __init__(self, settings: AuthSettings, *, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.api_keys = ApiKeys(settings.api_keys)
        self.tokens = TokenVerifier(settings.oidc, clock=clock) if settings.oidc is not None else None
        self.anonymous = (
            Caller("anonymous", frozenset({settings.anonymous_role}), None, "anonymous")
            if settings.anonymous_role is not None
            else None
        )

    async def authenticate(self, credential: Credential | None) -> Caller:
        """The caller, or an `AuthFailure` (never naming the credential)."""
        if credential is None:
            if self.anonymous is None:
                raise missing_credentials()
            return self.anonymous
        if credential.kind == "api_key":
            return self.api_keys.caller(credential.value)
        caller = self.api_keys.find(credential.value)
        if caller is not None:
            return caller
        if self.tokens is not None and looks_like_jwt(credential.value):
            return await self.tokens.caller(credential.value)
        if self.tokens is None and looks_like_jwt(credential.value):
            raise AuthFailure("tokens_not_accepted", "No identity provider is configured: use an API key")
        raise AuthFailure("invalid_api_key", "The API key is not valid")

    def expired(self, caller: Caller) -> bool:
        """Whether `caller`'s token has expired since it was checked (a long-lived WebSocket)."""
        return caller.expires_at is not None and self.clock.time() >= caller.expires_at

    async def close(self) -> None:
        if self.tokens is not None:
            await self.tokens.close()
