"""API keys: random tokens, stored as their SHA-256 and looked up by it.

A key is 32 random bytes, so a fast hash is enough (nothing to brute-force, unlike a password);
what the settings hold cannot be used to call the gateway.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping

from opsgraph.auth.caller import Caller
from opsgraph.auth.failures import AuthFailure
from opsgraph.auth.settings import ApiKeySettings

__all__ = ["API_KEY_PREFIX", "ApiKeys", "hash_api_key", "new_api_key"]

API_KEY_PREFIX = "og_"


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """What `[auth.api_keys.<name>] hash` holds for `key`."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """The configured keys, by hash, each as the caller it authenticates."""

    def __init__(self, keys: Mapping[str, ApiKeySettings]) -> None:
        self._callers = {
            key.hash: Caller(
                subject=f"api-key:{name}",
                roles=frozenset(key.roles),
                scopes=None if key.scopes is None else frozenset(key.scopes),
                method="api_key",
                person=key.person,
            )
            for name, key in keys.items()
        }

    def __bool__(self) -> bool:
        return bool(self._callers)

    def find(self, key: str) -> Caller | None:
        return self._callers.get(hash_api_key(key))

    def caller(self, key: str) -> Caller:
        caller = self.find(key)
        if caller is None:
            raise AuthFailure("invalid_api_key", "The API key is not valid")
        return caller
