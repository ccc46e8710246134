"""The issuer's signing keys (JWKS), fetched on first use, cached, refetched when old or when a token
names an unknown `kid`, never more often than the floor (`jwks_min_refresh_s`) however many unknown
kids arrive. Concurrent refreshes share one fetch. When a fetch fails the keys already held stay.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from opsgraph.auth.failures import AuthFailure, AuthUnavailable
from opsgraph.clock import Clock

__all__ = ["JwksCache"]

log = logging.getLogger("opsgraph.auth")

MAX_JWKS_BYTES = 1024 * 1024


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        clock: Clock,
        max_age_s: float,
        min_refresh_s: float,
        timeout_s: float,
    ) -> None:
        self.url = url
        self.clock = clock
        self.max_age_s = max_age_s
        self.min_refresh_s = min_refresh_s
        self.timeout_s = timeout_s
        self.fetches = 0
        self.generation = 0  # moves when a fetch changes the key set
        self._jwks: dict[str, dict[str, Any]] = {}  # kid ("" for a key without one) -> the JWK
        self._keys: dict[tuple[str, str], PyJWK] = {}  # (kid, alg) -> the loaded key
        self._fetched_at: float | None = None  # monotonic, of the last attempt
        self._refresh: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def key(self, kid: str | None, alg: str) -> PyJWK:
        """The key to verify a token signed with `alg` by key `kid` (None: the token names none)."""
        if self._due(stale_only=True):
            await self._refetch()
        jwk = self._find(kid)
        if jwk is None and self._due(stale_only=False):
            await self._refetch()
            jwk = self._find(kid)
        if jwk is None:
            if not self._jwks and self._fetched_at is not None:
                raise AuthUnavailable("jwks_unavailable", "The identity provider's keys are unavailable")
            raise AuthFailure("unknown_key", "The token's signing key is not known")
        return self._loaded(kid or "", jwk, alg)

    async def close(self) -> None:
        if self._refresh is not None and not self._refresh.done():
            self._refresh.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _due(self, *, stale_only: bool) -> bool:
        if self._fetched_at is None:
            return True
        age = self.clock.monotonic() - self._fetched_at
        return age >= self.max_age_s if stale_only else age >= self.min_refresh_s

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        if kid is not None:
            return self._jwks.get(kid)
        return next(iter(self._jwks.values())) if len(self._jwks) == 1 else None

    def _loaded(self, kid: str, jwk: dict[str, Any], alg: str) -> PyJWK:
        declared = jwk.get("alg")
        if declared is not None and declared != alg:
            raise AuthFailure("algorithm_mismatch", "The token's algorithm does not match its key")
        key = self._keys.get((kid, alg))
        if key is None:
            try:
                key = PyJWK(jwk, algorithm=alg)
            except PyJWKError:
                raise AuthFailure(
                    "algorithm_mismatch", "The token's algorithm does not match its key"
                ) from None
            self._keys[(kid, alg)] = key
        return key

    async def _refetch(self) -> None:
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._fetch())
        await asyncio.shield(self._refresh)

    async def _fetch(self) -> None:
        self._fetched_at = self.clock.monotonic()
        self.fetches += 1
        try:
            document = await self._download()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning(
                "JWKS fetch from %s failed (%s); keeping %d cached keys",
                self.url,
                type(exc).__name__,
                len(self._jwks),
            )
            return
        jwks = {}
        for jwk in document.get("keys") or ():
            if isinstance(jwk, dict) and jwk.get("use", "sig") == "sig" and isinstance(jwk.get("kty"), str):
                jwks[str(jwk.get("kid", ""))] = jwk
        if jwks != self._jwks:
            self.generation += 1
        self._jwks, self._keys = jwks, {}
        log.info("JWKS from %s: %d signing keys", self.url, len(jwks))

    async def _download(self) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        async with self._session.get(self.url, headers={"Accept": "application/json"}) as response:
            response.raise_for_status()
            body = await response.content.read(MAX_JWKS_BYTES + 1)
        if len(body) > MAX_JWKS_BYTES:
            raise ValueError("JWKS document too large")
        document = json.loads(body)
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWKS document")
        return document
