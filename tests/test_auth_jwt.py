"""JWT bearer tokens against a real JWKS server (with key rotation): each case's status, code and
reason, and how often the gateway fetched the keys."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
import websockets
from auth_support import WHOAMI, JwksServer, SigningKey, gateway, jwks_server, oidc_auth, token
from websockets.typing import Subprotocol

from opsgraph.auth import AuthFailure
from opsgraph.auth.tokens import TokenVerifier
from opsgraph.clock import ManualClock
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

KEY_A = SigningKey.rsa("key-a")
KEY_B = SigningKey.ec("key-b")


@dataclass
class Setup:
    http: httpx.AsyncClient
    jwks: JwksServer
    clock: ManualClock

    async def ask(self, bearer: str) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": WHOAMI}, headers={"Authorization": f"Bearer {bearer}"}
        )


@pytest.fixture
async def setup(simulators: SimulatorGroup, world: World) -> AsyncIterator[Setup]:
    clock = ManualClock()
    async with jwks_server([KEY_A, KEY_B]) as jwks:
        auth = oidc_auth(jwks)
        async with gateway(simulators, world, auth, clock) as url, httpx.AsyncClient(base_url=url) as http:
            yield Setup(http, jwks, clock)


def refused(response: httpx.Response) -> tuple[int, str, str]:
    (error,) = response.json()["errors"]
    return response.status_code, error["extensions"]["code"], error["extensions"]["reason"]


def unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


async def test_a_valid_token_is_the_caller_with_its_roles_and_scopes(setup: Setup) -> None:
    bearer = token(KEY_A, setup.clock, roles=["finance", "auditor", "viewer"], regions=["emea"])
    response = await setup.ask(bearer)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "whoami": {
                "subject": "ana@firm.test",
                "roles": ["finance", "viewer"],
                "scopes": ["emea"],
                "method": "jwt",
            }
        }
    }
    ec_response = await setup.ask(token(KEY_B, setup.clock, roles="executive"))
    assert ec_response.json()["data"]["whoami"] == {
        "subject": "ana@firm.test",
        "roles": ["executive"],
        "scopes": None,
        "method": "jwt",
    }
    assert setup.jwks.fetches == 1


async def test_the_person_claim_names_the_resource_the_caller_is(setup: Setup) -> None:
    person = "{ whoami { person } }"
    for claims, expected in [({"resource_id": "bamboohr:184"}, "bamboohr:184"), ({}, None)]:
        bearer = token(KEY_A, setup.clock, roles=["viewer"], **claims)
        response = await setup.http.post(
            "/graphql", json={"query": person}, headers={"Authorization": f"Bearer {bearer}"}
        )
        assert response.json() == {"data": {"whoami": {"person": expected}}}


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -31}, "token_expired"),
        ({"nbf": 31}, "token_not_yet_valid"),
    ],
)
async def test_times_outside_the_skew_are_refused(setup: Setup, claims: dict[str, int], reason: str) -> None:
    now = int(setup.clock.time())
    outside = {name: now + offset for name, offset in claims.items()}
    assert refused(await setup.ask(token(KEY_A, setup.clock, **outside))) == (401, "UNAUTHENTICATED", reason)
    within = {name: now + offset + (1 if offset < 0 else -1) * 2 for name, offset in claims.items()}
    assert (await setup.ask(token(KEY_A, setup.clock, **within))).status_code == 200


async def test_a_token_expires_as_the_injected_clock_moves(setup: Setup) -> None:
    bearer = token(KEY_A, setup.clock)
    assert (await setup.ask(bearer)).status_code == 200
    setup.clock.advance(300 + 30)
    assert refused(await setup.ask(bearer)) == (401, "UNAUTHENTICATED", "token_expired")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://evil.example.test"}, "wrong_issuer"),
        ({"aud": "another-api"}, "wrong_audience"),
        ({"aud": None}, "missing_claim"),
        ({"exp": None}, "missing_claim"),
        ({"sub": None}, "missing_claim"),
    ],
)
async def test_wrong_claims_are_refused(setup: Setup, claims: dict[str, Any], reason: str) -> None:
    assert refused(await setup.ask(token(KEY_A, setup.clock, **claims))) == (401, "UNAUTHENTICATED", reason)


async def test_an_audience_list_holding_ours_is_accepted(setup: Setup) -> None:
    assert (await setup.ask(token(KEY_A, setup.clock, aud=["other", "opsgraph"]))).status_code == 200


async def test_a_bad_signature_is_refused(setup: Setup) -> None:
    impostor = SigningKey.rsa("key-a")  # the right kid, another private key
    assert refused(await setup.ask(token(impostor, setup.clock))) == (401, "UNAUTHENTICATED", "bad_signature")
    bearer = token(KEY_A, setup.clock)
    head, body, signature = bearer.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    tampered["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=").decode()
    assert refused(await setup.ask(f"{head}.{forged}.{signature}")) == (
        401,
        "UNAUTHENTICATED",
        "bad_signature",
    )


async def test_alg_none_and_hmac_are_refused_before_any_key_lookup(setup: Setup) -> None:
    now = int(setup.clock.time())
    claims = {"iss": "https://idp.example.test/realms/firm", "aud": "opsgraph", "sub": "x", "exp": now + 60}
    for alg in ("none", "None", "NONE"):
        bearer = unsigned(claims, {"alg": alg, "typ": "JWT", "kid": "key-a"})
        assert refused(await setup.ask(bearer)) == (401, "UNAUTHENTICATED", "algorithm_not_allowed")
    # HS256 keyed with the public key (the algorithm-confusion attack)
    public_pem = KEY_A.jwk()["n"].encode()
    hmac_token = jwt.encode(claims, public_pem, algorithm="HS256", headers={"kid": "key-a"})
    assert refused(await setup.ask(hmac_token)) == (401, "UNAUTHENTICATED", "algorithm_not_allowed")
    assert setup.jwks.fetches == 0


async def test_a_malformed_token_is_refused(setup: Setup) -> None:
    for bearer in ("eyJhbGciOi.not-json.x", "eyJ" + "x" * 40 + ".e30.sig"):
        assert refused(await setup.ask(bearer)) == (401, "UNAUTHENTICATED", "malformed_token")


async def test_a_key_that_appears_after_rotation_is_fetched_once(setup: Setup) -> None:
    assert (await setup.ask(token(KEY_A, setup.clock))).status_code == 200
    assert setup.jwks.fetches == 1
    rotated = SigningKey.rsa("key-c")
    setup.jwks.keys = [rotated, KEY_B]  # the issuer rotates: key-a retired, key-c published
    setup.clock.advance(31)  # past the floor between fetches
    responses = await asyncio.gather(*(setup.ask(token(rotated, setup.clock)) for _ in range(5)))
    assert [response.status_code for response in responses] == [200] * 5
    assert setup.jwks.fetches == 2  # one refetch for five concurrent requests
    assert (await setup.ask(token(rotated, setup.clock))).status_code == 200
    assert setup.jwks.fetches == 2
    assert refused(await setup.ask(token(KEY_A, setup.clock))) == (401, "UNAUTHENTICATED", "unknown_key")
    assert setup.jwks.fetches == 2  # within the floor: no refetch for an unknown kid


async def test_unknown_kids_refetch_at_most_once_per_floor(setup: Setup) -> None:
    stranger = SigningKey.rsa("key-unknown")
    for _ in range(5):
        assert refused(await setup.ask(token(stranger, setup.clock))) == (
            401,
            "UNAUTHENTICATED",
            "unknown_key",
        )
    assert setup.jwks.fetches == 1
    setup.clock.advance(31)
    assert refused(await setup.ask(token(stranger, setup.clock))) == (401, "UNAUTHENTICATED", "unknown_key")
    assert setup.jwks.fetches == 2


async def test_keys_are_refetched_when_old_and_kept_when_the_issuer_is_down(setup: Setup) -> None:
    assert (await setup.ask(token(KEY_A, setup.clock))).status_code == 200
    setup.jwks.status = 503
    setup.clock.advance(3600)
    assert (await setup.ask(token(KEY_A, setup.clock))).status_code == 200  # the cached keys stay
    assert setup.jwks.fetches == 2


async def test_without_keys_the_issuer_outage_is_a_503_not_the_callers_fault(setup: Setup) -> None:
    setup.jwks.status = 500
    response = await setup.ask(token(KEY_A, setup.clock))
    assert refused(response) == (503, "AUTH_UNAVAILABLE", "jwks_unavailable")


async def test_a_key_declared_for_another_algorithm_is_refused(setup: Setup) -> None:
    # key-b is an ES256 key: a token claiming RS256 with kid key-b must not verify against it
    bearer = token(KEY_A, setup.clock, headers={"kid": "key-b"})
    assert refused(await setup.ask(bearer)) == (401, "UNAUTHENTICATED", "algorithm_mismatch")


async def test_roles_from_a_configured_nested_claim(simulators: SimulatorGroup, world: World) -> None:
    clock = ManualClock()
    async with jwks_server([KEY_A]) as jwks:
        auth = oidc_auth(jwks)
        auth = auth.model_copy(
            update={"oidc": auth.oidc.model_copy(update={"roles_claim": "realm_access.roles"})}  # type: ignore[union-attr]
        )
        async with gateway(simulators, world, auth, clock) as url, httpx.AsyncClient(base_url=url) as http:
            bearer = token(
                KEY_A, clock, realm_access={"roles": ["delivery", "offline_access"]}, roles=["admin"]
            )
            response = await http.post(
                "/graphql", json={"query": WHOAMI}, headers={"Authorization": f"Bearer {bearer}"}
            )
    assert response.json()["data"]["whoami"]["roles"] == ["delivery"]


async def test_a_verified_token_is_remembered_until_the_key_set_changes() -> None:
    clock = ManualClock()
    async with jwks_server([KEY_A]) as jwks:
        oidc = oidc_auth(jwks).oidc
        assert oidc is not None
        verifier = TokenVerifier(oidc, clock=clock)
        try:
            bearer = token(KEY_A, clock, roles=["finance"])
            first, second = await verifier.caller(bearer), await verifier.caller(bearer)
            assert first == second and first.roles == {"finance"}
            assert (verifier.hits, jwks.fetches) == (1, 1)
            clock.advance(301 + 30)  # a remembered token still expires
            with pytest.raises(AuthFailure) as expired:
                await verifier.caller(bearer)
            assert expired.value.reason == "token_expired"
            fresh = token(KEY_A, clock, exp=int(clock.time()) + 10_000)
            await verifier.caller(fresh)
            jwks.keys = [KEY_B]  # key-a retired
            clock.advance(3600)  # the keys are old: the next miss refetches
            with pytest.raises(AuthFailure) as retired:
                await verifier.caller(token(KEY_A, clock, sub="someone-else"))
            assert retired.value.reason == "unknown_key"
            with pytest.raises(AuthFailure) as forgotten:
                await verifier.caller(fresh)  # remembered under the old key set: verified again
            assert forgotten.value.reason == "unknown_key"
        finally:
            await verifier.close()


async def test_a_websocket_whose_token_expires_is_closed_at_its_next_subscribe(setup: Setup) -> None:
    url = str(setup.http.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"
    bearer = token(KEY_A, setup.clock, roles=["viewer"])
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": WHOAMI}}))
        assert json.loads(await ws.recv())["payload"]["data"]["whoami"]["roles"] == ["viewer"]
        setup.clock.advance(300 + 30)
        await ws.send(json.dumps({"type": "subscribe", "id": "2", "payload": {"query": WHOAMI}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await ws.recv()  # the `complete` of operation 1, then the close
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "UNAUTHENTICATED: token_expired")
