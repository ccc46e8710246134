"""Why a request is not authenticated: a reason for tests and logs, a message for the client.

Neither ever holds the credential itself (token, API key) nor the issuer's own error text.
"""

from __future__ import annotations

__all__ = ["UNAUTHENTICATED", "AuthFailure", "AuthUnavailable", "missing_credentials"]

UNAUTHENTICATED = "UNAUTHENTICATED"


class AuthFailure(Exception):
    """A missing or invalid credential: HTTP 401 with `extensions.code` UNAUTHENTICATED and `reason`."""

    status = 401
    code = UNAUTHENTICATED

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def presented(self) -> bool:
        """Whether a credential was sent (RFC 6750: `error="invalid_token"` in `WWW-Authenticate`)."""
        return self.reason != "missing_credentials"


class AuthUnavailable(AuthFailure):
    """The issuer's keys could not be read and none are cached: the caller is not at fault (503)."""

    status = 503
    code = "AUTH_UNAVAILABLE"


def missing_credentials() -> AuthFailure:
    return AuthFailure("missing_credentials", "Authentication required: send a bearer token or an API key")
