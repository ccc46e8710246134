"""Authenticators: reusable objects a client asks for its auth headers.

- `BasicAuth`: HTTP Basic with a fixed user and password (an integration user): a 401 is final.
- `BearerToken`: a static token (a personal access token, a private-app token): never refreshed,
  so a 401 is final.
- `TokenCache`: one token at a time, fetched single-flight (concurrent callers share one fetch),
  kept until it expires on the injected clock or is invalidated.
- `ClientCredentials`: the OAuth 2.0 client-credentials exchange over a `TokenCache`. The token
  request goes through `SourceClient.request` like any call (retried, counted, seen by the breaker);
  refused credentials (a 4xx) make the source unavailable, not the request rejected.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opsgraph.clock import Clock
from opsgraph.connectors.errors import SourceDataError, SourceRejected, SourceUnavailable

if TYPE_CHECKING:
    from opsgraph.connectors.base import Shape, SourceClient

__all__ = ["BasicAuth", "BearerToken", "ClientCredentials", "Token", "TokenCache"]


@dataclass(frozen=True)
class Token:
    """An access token, the monotonic time it stops being used (None: until refused), and the
    rest of the token response (Salesforce's `instance_url`, say)."""

    access_token: str
    expires_at: float | None = None
    body: Mapping[str, Any] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class BasicAuth:
    """HTTP Basic with a fixed user and password, with any fixed headers the vendor wants beside it."""

    refreshable = False

    def __init__(self, username: str, password: str, extra: Mapping[str, str] | None = None) -> None:
        pair = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {pair}", **(extra or {})}

    async def headers(self) -> dict[str, str]:
        return dict(self._headers)

    def invalidate(self) -> None:
        """Nothing to drop: fixed credentials cannot be refreshed."""


class BearerToken:
    """A static bearer token, with any fixed headers the vendor wants beside it.

    `access_token` may be a callable read at each request (a token taken from live settings).
    """

    refreshable = False

    def __init__(self, access_token: str | Callable[[], str], extra: Mapping[str, str] | None = None) -> None:
        self._token = access_token
        self._extra = dict(extra or {})

    async def headers(self) -> dict[str, str]:
        token = self._token() if callable(self._token) else self._token
        return {"Authorization": f"Bearer {token}", **self._extra}

    def invalidate(self) -> None:
        """Nothing to drop: a static token cannot be refreshed."""


class TokenCache:
    """One token, fetched by `fetch` when there is none or it has expired on `clock`.

    Concurrent callers of `get` wait on one fetch (single flight); `fetches` counts them.
    """

    def __init__(self, fetch: Callable[[], Awaitable[Token]], clock: Clock) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _fresh(self) -> Token | None:
        token = self._token
        if token is None or (token.expires_at is not None and self._clock.monotonic() >= token.expires_at):
            return None
        return token

    async def get(self) -> Token:
        token = self._fresh()
        if token is not None:
            return token
        async with self._lock:
            token = self._fresh()
            if token is None:
                self.fetches += 1
                token = self._token = await self._fetch()
            return token

    def invalidate(self) -> None:
        self._token = None


class ClientCredentials:
    """OAuth 2.0 client credentials: `form()` posted to `token_path`, the token cached on the clock.

    `default_lifetime_s` None ignores `expires_in` (the token lives until a 401 invalidates it);
    otherwise `expires_in` (or the default) less `refresh_early_s` sets the expiry.
    """

    refreshable = True

    def __init__(
        self,
        client: SourceClient,
        token_path: str,
        form: Callable[[], Mapping[str, str]],
        *,
        expect: Shape,
        refused: str = "authentication failed",
        headers: Mapping[str, str] | None = None,
        default_lifetime_s: float | None = None,
        refresh_early_s: float = 60.0,
    ) -> None:
        self._client = client
        self._token_path = token_path
        self._form = form
        self._expect = expect
        self._refused = refused
        self._request_headers = dict(headers or {})
        self._default_lifetime_s = default_lifetime_s
        self._refresh_early_s = refresh_early_s
        self.cache = TokenCache(self._exchange, client.clock)

    async def token(self) -> Token:
        return await self.cache.get()

    async def headers(self) -> dict[str, str]:
        return (await self.cache.get()).headers()

    def invalidate(self) -> None:
        self.cache.invalidate()

    async def _exchange(self) -> Token:
        client = self._client
        try:
            response = await client.request(
                "POST",
                self._token_path,
                data=self._form(),
                headers=self._request_headers or None,
                retry=True,
                auth=False,
                expect=self._expect,
            )
        except SourceRejected as exc:
            raise SourceUnavailable(
                client.system,
                f"{self._refused}: {exc.message}",
                status=exc.status,
                vendor_code=exc.vendor_code,
            ) from None
        body = response.body
        expires_at = None
        if self._default_lifetime_s is not None:
            lifetime = _lifetime(body, self._default_lifetime_s, client)
            expires_at = client.clock.monotonic() + max(0.0, lifetime - self._refresh_early_s)
        return Token(str(body["access_token"]), expires_at, body)


def _lifetime(body: Mapping[str, Any], default: float, client: SourceClient) -> float:
    expires_in = body.get("expires_in")
    try:
        return float(expires_in) if expires_in is not None else default
    except (TypeError, ValueError):
        raise SourceDataError(client.system, f"token expires_in is not a number: {expires_in!r}") from None
