"""Webhooks on `POST /webhooks/<system>`: the BambooHR and HubSpot simulators sign their deliveries as the
vendors do when their `/_sim/events` change something; the gateway verifies them through the system's
connector kit and applies the same effects as a poll (the cache tags of what changed are dropped, so
the next read is fresh). A bad signature, an old timestamp, a missing header, an unknown system: 401 with
`UNAUTHENTICATED`, and nothing changes (the next read still comes from the cache)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from events_support import Gateway, events_gateway
from test_gateway_support import HR, serving

from opsgraph.connectors.bamboohr.webhooks import signed_headers
from opsgraph.connectors.hubspot.webhooks import signed_headers as hubspot_headers
from opsgraph.gateway.app import create_app
from opsgraph.gateway.settings import demo_settings
from simulators.bamboohr.simulator import WEBHOOK_SECRET
from simulators.hubspot.simulator import CLIENT_SECRET
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World

PEOPLE = "query People { resources(first: 3) { nodes { title links { system id } } } }"
CLIENTS = "query Clients { clients(first: 100) { nodes { name links { system id } } } }"


async def people(gw: Gateway) -> list[dict[str, Any]]:
    body = await gw.query(PEOPLE, {})
    assert "errors" not in body, body
    nodes: list[dict[str, Any]] = body["data"]["resources"]["nodes"]
    return nodes


def hr_id(person: dict[str, Any]) -> str:
    return next(link["id"] for link in person["links"] if link["system"] == HR)


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, Any]:
    async with http.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_a_signed_bamboohr_webhook_refreshes_what_changed(
    simulators: SimulatorGroup, world: World
) -> None:
    async with events_gateway(simulators, world, changes=(HR,)) as gw:
        hook = f"{gw.url}/webhooks/{HR}"
        await gw.sim(
            HR, "POST", "events", {"type": "subscribe_webhooks", "url": hook, "secret": WEBHOOK_SECRET}
        )
        await gw.events.poll_once()  # the baseline
        person = (await people(gw))[0]
        await gw.sim(HR, "DELETE", "stats")
        assert await people(gw) and await gw.sim_counts(HR) == {}  # cached

        answer = await gw.sim(
            HR,
            "POST",
            "events",
            {"type": "change_employee", "id": hr_id(person), "fields": {"jobTitle": "Chief of Staff"}},
        )
        assert answer["delivered"] == 200
        await gw.sim(HR, "DELETE", "stats")
        after = await people(gw)
        assert after[0]["title"] == "Chief of Staff"
        assert sum((await gw.sim_counts(HR)).values()) >= 1  # read again: the webhook dropped the cache


def _bamboo_body(employee_id: str) -> bytes:
    return json.dumps(
        {"type": "employee.updated", "timestamp": 0, "data": {"companyId": "x", "employeeId": employee_id}}
    ).encode()


async def test_unverified_webhooks_are_refused_and_change_nothing(
    simulators: SimulatorGroup, world: World
) -> None:
    async with events_gateway(simulators, world) as gw:
        await gw.events.poll_once()
        person = (await people(gw))[0]
        hook = f"{gw.url}/webhooks/{HR}"
        body, now = _bamboo_body(hr_id(person)), int(time.time())
        cases = {
            "bad signature": (body, signed_headers("not-the-secret", body, now)),
            "old timestamp": (body, signed_headers(WEBHOOK_SECRET, body, now - 301)),
            "future timestamp": (body, signed_headers(WEBHOOK_SECRET, body, now + 600)),
            "missing signature": (body, {"X-BambooHR-Timestamp": str(now)}),
            "body altered": (body + b" ", signed_headers(WEBHOOK_SECRET, body, now)),
        }
        await gw.sim(HR, "DELETE", "stats")
        for name, (raw, headers) in cases.items():
            status, answer = await post(gw.http, hook, raw, headers)
            assert status == 401, name
            (error,) = answer["errors"]
            assert error["extensions"]["code"] == "UNAUTHENTICATED", name
        for path in (
            "/webhooks/nope",
            f"/webhooks/{gw_system(gw, 'PSA')}",
        ):  # unknown; a vendor that sends none
            status, answer = await post(
                gw.http, gw.url + path, body, signed_headers(WEBHOOK_SECRET, body, now)
            )
            assert status == 401 and answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert gw.events.effects.published == 0
        await people(gw)
        assert await gw.sim_counts(HR) == {}  # nothing was invalidated: still cached

        # the same delivery, signed right, is accepted (and drops the cache)
        status, answer = await post(gw.http, hook, body, signed_headers(WEBHOOK_SECRET, body, now))
        assert (status, answer) == (200, {"accepted": 1, "published": 0})
        await people(gw)
        assert sum((await gw.sim_counts(HR)).values()) >= 1

        status, answer = await post(gw.http, hook, b"[1]", signed_headers(WEBHOOK_SECRET, b"[1]", now))
        assert status == 400 and answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def gw_system(gw: Gateway, role: str) -> str:
    assert gw.state.sources is not None
    return next(name for name, s in gw.state.sources.systems.items() if s.role.value == role.lower())


@pytest.fixture(scope="module")
def hubspot_stack(world: World) -> Iterator[SimulatorGroup]:
    with SimulatorThread(world, stack="hubspot") as group:
        yield group


async def test_a_hubspot_v3_webhook_goes_through_the_same_effects(
    hubspot_stack: SimulatorGroup, world: World
) -> None:
    settings = demo_settings(hubspot_stack.system_settings(), today=world.as_of, events={"poll": False})
    app = create_app(settings)
    async with aiohttp.ClientSession() as http, serving(app) as url:
        gw = Gateway(url, app.state.gateway, hubspot_stack, http)
        hook = f"{url}/webhooks/hubspot"
        await gw.sim(
            "hubspot",
            "POST",
            "events",
            {"type": "subscribe_webhooks", "url": hook, "client_secret": CLIENT_SECRET},
        )
        try:
            await gw.events.poll_once()
            body = await gw.query(CLIENTS, {})
            company = next(
                link["id"]
                for link in body["data"]["clients"]["nodes"][0]["links"]
                if link["system"] == "hubspot"
            )
            await gw.sim("hubspot", "DELETE", "stats")
            await gw.query(CLIENTS, {})
            assert await gw.sim_counts("hubspot") == {}
            answer = await gw.sim(
                "hubspot",
                "POST",
                "events",
                {"type": "update_company", "id": company, "properties": {"name": "Renamed Co"}},
            )
            assert answer["delivered"] == 200
            renamed = await gw.query(CLIENTS, {})
            assert "Renamed Co" in [n["name"] for n in renamed["data"]["clients"]["nodes"]]

            # v3 with a stale timestamp: refused
            raw = json.dumps(
                [{"subscriptionType": "company.propertyChange", "objectId": int(company)}]
            ).encode()
            old = int(time.time() * 1000) - 6 * 60 * 1000
            status, refused = await post(
                http, hook, raw, hubspot_headers(CLIENT_SECRET, "POST", hook, raw, old)
            )
            assert status == 401 and refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        finally:
            await gw.sim("hubspot", "POST", "reset")
