"""The simulator's OAuth 2.0 token endpoint: NetSuite's client-credentials (M2M) flow.

The real flow posts `grant_type=client_credentials`, `client_assertion_type=urn:ietf:params:oauth:
client-assertion-type:jwt-bearer` and a `client_assertion` JWT (claims `iss` = client id, `scope`,
`aud` = the token URL, `iat`, `exp` at most an hour later) signed with the certificate mapped to the
integration. The simulator has no certificate, so it verifies an HS256 signature made with the
client secret; it also accepts HTTP Basic `client_id:client_secret` for simplicity. Tokens live an hour
(`expires_in: "3600"`, a string, as NetSuite sends it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_TTL_S = 3600
MAX_ASSERTION_LIFETIME_S = 3600


class TokenStore:
    """Issued access tokens and their expiry (monotonic seconds)."""

    def __init__(self) -> None:
        self.tokens: dict[str, float] = {}

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.monotonic() + TOKEN_TTL_S
        return token

    def valid(self, token: str) -> bool:
        expires = self.tokens.get(token)
        return expires is not None and expires > time.monotonic()

    def revoke_all(self) -> int:
        n = len(self.tokens)
        self.tokens.clear()
        return n


def _oauth_error(status: int, error: str, description: str, **headers: str) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", **headers},
    )


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_assertion(assertion: str, credentials: Mapping[str, str], token_path: str) -> str | None:
    """Why the JWT client assertion is refused, or None when it is good."""
    try:
        head_b64, body_b64, sig_b64 = assertion.split(".")
        header: Any = json.loads(_b64url(head_b64))
        claims: Any = json.loads(_b64url(body_b64))
        signature = _b64url(sig_b64)
    except (ValueError, binascii.Error):
        return "the client assertion is not a well-formed JWT"
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return "the client assertion is not a well-formed JWT"
    if header.get("alg") != "HS256":
        return f"unsupported signing algorithm {header.get('alg')!r} (the simulator verifies HS256)"
    expected = hmac.new(
        credentials["client_secret"].encode(), f"{head_b64}.{body_b64}".encode(), hashlib.sha256
    ).digest()
    if claims.get("iss") != credentials["client_id"] or not hmac.compare_digest(signature, expected):
        return "invalid client or signature"
    scope = claims.get("scope")
    scopes = scope.split(",") if isinstance(scope, str) else scope if isinstance(scope, list) else []
    if "rest_webservices" not in scopes:
        return "the scope must include rest_webservices"
    if not str(claims.get("aud", "")).endswith(token_path):
        return "the audience must be the token endpoint URL"
    now = time.time()
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        return "iat and exp are required"
    if exp <= now or iat > now + 60 or exp - iat > MAX_ASSERTION_LIFETIME_S:
        return "the client assertion is expired or lives longer than an hour"
    return None


def _basic(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, binascii.Error):
        return None
    return user, password


async def token_endpoint(
    request: Request, credentials: Mapping[str, str], tokens: TokenStore, token_path: str
) -> Response:
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return _oauth_error(400, "invalid_request", "The body must be application/x-www-form-urlencoded.")
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()}
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported.")
    basic = _basic(request.headers.get("authorization", ""))
    if "client_assertion" in form:
        if form.get("client_assertion_type") != JWT_BEARER:
            return _oauth_error(400, "invalid_request", f"client_assertion_type must be {JWT_BEARER}.")
        problem = check_assertion(form["client_assertion"], credentials, token_path)
        if problem is not None:
            return _oauth_error(400, "invalid_grant" if "expired" in problem else "invalid_client", problem)
    elif basic is not None:
        good = hmac.compare_digest(basic[0], credentials["client_id"]) and hmac.compare_digest(
            basic[1], credentials["client_secret"]
        )
        if not good:
            return _oauth_error(
                401,
                "invalid_client",
                "Client authentication failed.",
                **{"WWW-Authenticate": 'Basic realm="token"'},
            )
    else:
        return _oauth_error(400, "invalid_request", "A client assertion or client credentials are required.")
    return JSONResponse(
        {"access_token": tokens.issue(), "expires_in": str(TOKEN_TTL_S), "token_type": "bearer"},
        headers={"Cache-Control": "no-store"},
    )
