"""The shipped policy's "submitTimeEntries for themselves only, unless delivery": the input's
`resourceId` must be the caller's person (an API key's `person`; a token's person claim is covered in
test_auth_jwt.py). Each request's idempotency key is blank, so a caller the policy lets through gets a
userError back and nothing is written anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from test_gateway_support import running_gateway, settings_for

from opsgraph.auth.api_keys import hash_api_key
from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

LIAM = "bamboohr:184"
NOAH = "bamboohr:185"
LIAMS_KEY = "og_test-liam-0123456789abcdefghijklmnopqrstu"
NOBODYS_KEY = "og_test-nobody-0123456789abcdefghijklmnopqr"
SUBMIT = """mutation Submit($input: SubmitTimeEntriesInput!) {
  submitTimeEntries(input: $input) { workflow { id } userErrors { field code } }
}"""


@pytest.fixture
async def url(simulators: SimulatorGroup, world: World) -> AsyncIterator[str]:
    keys = {
        # Liam's key names him by his Resource's global id; the policy compares record keys
        "liam": {
            "hash": hash_api_key(LIAMS_KEY),
            "roles": ["viewer"],
            "person": to_global_id("Resource", LIAM),
        },
        "nobody": {"hash": hash_api_key(NOBODYS_KEY), "roles": ["finance"]},
    }
    async with running_gateway(settings_for(simulators, world, auth={"api_keys": keys})) as base:
        yield base


async def submit(url: str, key: str, person: str) -> dict[str, Any]:
    entry = {"engagementId": to_global_id("Engagement", "ENG-0001"), "date": "2026-11-23", "hours": 2.0}
    variables = {
        "input": {"idempotencyKey": " ", "resourceId": to_global_id("Resource", person), "entries": [entry]}
    }
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post(
            "/graphql", json={"query": SUBMIT, "variables": variables}, headers={"X-API-Key": key}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def let_through(body: dict[str, Any]) -> bool:
    """Past the policy: the blank key is the only complaint (a userError), no workflow started."""
    payload = body["data"]["submitTimeEntries"]
    assert payload["workflow"] is None
    return bool(payload["userErrors"] == [{"field": ["input", "idempotencyKey"], "code": "BAD_USER_INPUT"}])


def forbidden(body: dict[str, Any]) -> str:
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN", "mutation": "submitTimeEntries"}
    message: str = error["message"]
    return message


async def test_a_person_submits_for_themselves_only(url: str) -> None:
    assert let_through(await submit(url, LIAMS_KEY, LIAM))
    assert (
        forbidden(await submit(url, LIAMS_KEY, NOAH))
        == "Not authorized to call submitTimeEntries for someone else."
    )


async def test_a_caller_naming_no_person_submits_for_nobody(url: str) -> None:
    message = forbidden(await submit(url, NOBODYS_KEY, LIAM))
    assert message.endswith("The credentials name no person (token claim or API key `person`).")


async def test_delivery_submits_for_anyone(url: str) -> None:
    assert let_through(await submit(url, DEMO_API_KEYS["delivery"], NOAH))
    assert let_through(await submit(url, DEMO_API_KEYS["delivery"], LIAM))
