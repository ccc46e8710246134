"""Demo credentials: one well-known API key per role (printed by `serve --demo`, listed in the README)
and anonymous callers as `viewer`, so GraphiQL works at once. Never outside `--demo`."""

from __future__ import annotations

from opsgraph.auth.api_keys import hash_api_key
from opsgraph.auth.caller import ROLES
from opsgraph.auth.settings import ApiKeySettings, AuthSettings

__all__ = ["DEMO_API_KEYS", "demo_auth"]

DEMO_API_KEYS: dict[str, str] = {role.value: f"og_demo_{role.value}" for role in ROLES}
"""Role -> its demo API key (the key's name in settings is `demo-<role>`)."""


def demo_auth(auth: AuthSettings) -> AuthSettings:
    """`auth` with the demo keys added and, unless configured, anonymous callers as `viewer`."""
    keys = {
        f"demo-{role}": ApiKeySettings(hash=hash_api_key(key), roles=[role])
        for role, key in DEMO_API_KEYS.items()
    }
    update: dict[str, object] = {"api_keys": {**keys, **auth.api_keys}}
    if "anonymous_role" not in auth.model_fields_set:
        update["anonymous_role"] = "viewer"
    return AuthSettings.model_validate({**auth.model_dump(exclude_unset=False), **update})
