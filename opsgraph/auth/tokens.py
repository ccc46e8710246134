"""JWT bearer tokens from the OIDC issuer, verified with PyJWT against the issuer's JWKS.

The signature, algorithm, issuer and audience are PyJWT's checks; `exp` and `nbf` are checked here
against the gateway's clock (PyJWT reads the machine's), with `leeway_s` of skew either way.

A verified token is remembered (the last `VERIFIED_TOKENS`, by the token's text) with its caller and
time window, so a client reusing its token pays for the signature once (RS256 ~140 us, ES256
~230 us; a hit ~2 us). `exp`/`nbf` are checked on every hit; a JWKS fetch that changes the key set
forgets them all, so a retired key's tokens are verified again (and refused).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, NamedTuple

import jwt

from opsgraph.auth.caller import Caller, Role
from opsgraph.auth.failures import AuthFailure
from opsgraph.auth.jwks import JwksCache
from opsgraph.auth.settings import OidcSettings
from opsgraph.clock import Clock

__all__ = ["VERIFIED_TOKENS", "TokenVerifier", "looks_like_jwt"]

VERIFIED_TOKENS = 4096

_ROLES = {role.value: role for role in Role}
_DECODE_OPTIONS: Any = {
    "verify_signature": True,
    "verify_exp": False,  # checked in `_check_times` against the injected clock
    "verify_nbf": False,
    "verify_iat": False,
    "verify_iss": True,
    "verify_aud": True,
    "require": ["exp", "iss", "aud"],
}


def looks_like_jwt(credential: str) -> bool:
    """A compact JWS: three base64url segments, the first a JSON object (`eyJ`)."""
    return credential.count(".") == 2 and credential.startswith("eyJ")


class _Verified(NamedTuple):
    caller: Caller
    exp: float
    nbf: float
    keys: int  # the JWKS generation it was verified under


def _malformed() -> AuthFailure:
    return AuthFailure("malformed_token", "The bearer token is not a valid JWT")


class TokenVerifier:
    def __init__(self, settings: OidcSettings, *, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.jwks = JwksCache(
            str(settings.jwks_url),
            clock=clock,
            max_age_s=settings.jwks_max_age_s,
            min_refresh_s=settings.jwks_min_refresh_s,
            timeout_s=settings.jwks_timeout_s,
        )
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self.hits = 0

    async def caller(self, token: str) -> Caller:
        known = self._verified.get(token)
        if known is not None and known.keys == self.jwks.generation:
            self._check_window(known.exp, known.nbf)
            self._verified.move_to_end(token)
            self.hits += 1
            return known.caller
        claims = await self._claims(token)
        caller = self._caller(claims)
        self._verified[token] = _Verified(caller, claims["exp"], claims.get("nbf", 0), self.jwks.generation)
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return caller

    def _caller(self, claims: dict[str, Any]) -> Caller:
        return Caller(
            subject=str(_claim(claims, self.settings.subject_claim) or ""),
            roles=frozenset(
                _ROLES[name] for name in _names(_claim(claims, self.settings.roles_claim)) if name in _ROLES
            ),
            scopes=self._scopes(claims),
            method="jwt",
            expires_at=float(claims["exp"]) + self.settings.leeway_s,
            person=self._person(claims),
        )

    def _person(self, claims: dict[str, Any]) -> str | None:
        if self.settings.person_claim is None:
            return None
        value = _claim(claims, self.settings.person_claim)
        return str(value) if isinstance(value, str | int) and str(value) else None

    async def close(self) -> None:
        await self.jwks.close()

    async def _claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise _malformed() from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.settings.algorithms:
            raise AuthFailure("algorithm_not_allowed", "The token's signing algorithm is not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _malformed()
        key = await self.jwks.key(kid, alg)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                options=_DECODE_OPTIONS,
            )
        except jwt.InvalidSignatureError:
            raise AuthFailure("bad_signature", "The token's signature is not valid") from None
        except jwt.InvalidIssuerError:
            raise AuthFailure("wrong_issuer", "The token was not issued by the configured issuer") from None
        except jwt.InvalidAudienceError:
            raise AuthFailure("wrong_audience", "The token is not meant for this gateway") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthFailure("missing_claim", f"The token has no '{exc.claim}' claim") from None
        except jwt.InvalidTokenError:
            raise _malformed() from None
        self._check_times(claims)
        if not _claim(claims, self.settings.subject_claim):
            raise AuthFailure("missing_claim", f"The token has no '{self.settings.subject_claim}' claim")
        return claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int | float) or not isinstance(nbf, int | float) or _is_bool(exp, nbf):
            raise AuthFailure("malformed_token", "The token's exp or nbf is not a number")
        self._check_window(exp, nbf)

    def _check_window(self, exp: float, nbf: float) -> None:
        now, leeway = self.clock.time(), self.settings.leeway_s
        if exp <= now - leeway:
            raise AuthFailure("token_expired", "The token has expired")
        if nbf > now + leeway:
            raise AuthFailure("token_not_yet_valid", "The token is not valid yet")

    def _scopes(self, claims: dict[str, Any]) -> frozenset[str] | None:
        present = [
            claims_value
            for name in self.settings.scope_claims
            if (claims_value := _claim(claims, name)) is not None
        ]
        if not present:
            return None
        return frozenset(scope for value in present for scope in _names(value))


def _is_bool(*values: object) -> bool:
    return any(isinstance(value, bool) for value in values)


def _claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by dotted path (`realm_access.roles`), None when absent."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _names(value: object) -> Iterable[str]:
    """A claim listing names: a JSON array of strings or one space-separated string."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return ()
