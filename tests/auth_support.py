"""Helpers for the authentication tests (no tests here): a real JWKS server over HTTP whose keys
can be rotated and whose fetches are counted, tokens signed with its keys, and a gateway whose
schema answers `whoami` from the request context's caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
import strawberry
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from test_gateway_support import serving, settings_for

from opsgraph.auth import AuthSettings
from opsgraph.clock import ManualClock
from opsgraph.gateway.app import create_app
from opsgraph.resolvers.context import RequestContext
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

ISSUER = "https://idp.example.test/realms/firm"
AUDIENCE = "opsgraph"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: PrivateKey

    @classmethod
    def rsa(cls, kid: str) -> SigningKey:
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def ec(cls, kid: str) -> SigningKey:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        algorithm = RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else ECAlgorithm
        return {**algorithm.to_jwk(public, as_dict=True), "kid": self.kid, "use": "sig", "alg": self.alg}


@dataclass
class JwksServer:
    """Serves `{"keys": [...]}` of `keys` at `url`; `fetches` counts the GETs."""

    keys: list[SigningKey]
    url: str = ""
    fetches: int = 0
    status: int = 200
    extra: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.fetches += 1
        if self.status != 200:
            return web.Response(status=self.status, text="issuer down")
        return web.json_response({"keys": [key.jwk() for key in self.keys] + self.extra})


@asynccontextmanager
async def jwks_server(keys: list[SigningKey]) -> AsyncIterator[JwksServer]:
    server = JwksServer(keys)
    app = web.Application()
    app.router.add_get("/protocol/openid-connect/certs", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/protocol/openid-connect/certs"
    try:
        yield server
    finally:
        await runner.cleanup()


def token(
    key: SigningKey, clock: ManualClock, *, headers: dict[str, Any] | None = None, **claims: Any
) -> str:
    """A token signed by `key`, valid for 5 minutes from `clock`'s now; `claims` override (None drops)."""
    now = int(clock.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ana@firm.test", "iat": now, "exp": now + 300, **claims}
    body = {name: value for name, value in body.items() if value is not None}
    return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid, **(headers or {})})


def oidc_auth(server: JwksServer, **changes: Any) -> AuthSettings:
    oidc = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": server.url, "algorithms": ["RS256", "ES256"]}
    return AuthSettings.model_validate({"oidc": oidc, **changes})


@strawberry.type
class Whoami:
    subject: str
    roles: list[str]
    scopes: list[str] | None
    method: str
    person: str | None


@strawberry.type
class WhoamiQuery:
    @strawberry.field
    def whoami(self, info: strawberry.Info[RequestContext, None]) -> Whoami | None:
        caller = info.context.caller
        if caller is None:
            return None
        scopes = None if caller.scopes is None else sorted(caller.scopes)
        return Whoami(
            subject=caller.subject,
            roles=sorted(caller.roles),
            scopes=scopes,
            method=caller.method,
            person=caller.person,
        )


WHOAMI = "{ whoami { subject roles scopes method } }"


@asynccontextmanager
async def gateway(
    simulators: SimulatorGroup, world: World, auth: AuthSettings, clock: ManualClock, **overrides: Any
) -> AsyncIterator[str]:
    """The gateway with `auth` (not the demo's) and a schema answering `whoami`; yields its base URL."""
    settings = settings_for(simulators, world, **overrides).model_copy(update={"auth": auth})
    schema = strawberry.Schema(query=WhoamiQuery)
    async with serving(create_app(settings, schema=schema, clock=clock)) as url:
        yield url
