"""Authentication: who is calling (`Caller`), from a JWT of the firm's issuer or an API key."""

from opsgraph.auth.api_keys import hash_api_key, new_api_key
from opsgraph.auth.authenticator import (
    Authenticator,
    Credential,
    credential_from_headers,
    credential_from_payload,
)
from opsgraph.auth.caller import ROLES, Caller, Role
from opsgraph.auth.failures import UNAUTHENTICATED, AuthFailure, AuthUnavailable
from opsgraph.auth.settings import ApiKeySettings, AuthSettings, OidcSettings

__all__ = [
    "ROLES",
    "UNAUTHENTICATED",
    "ApiKeySettings",
    "AuthFailure",
    "AuthSettings",
    "AuthUnavailable",
    "Authenticator",
    "Caller",
    "Credential",
    "OidcSettings",
    "Role",
    "credential_from_headers",
    "credential_from_payload",
    "hash_api_key",
    "new_api_key",
]
