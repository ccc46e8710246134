"""Per-response budgets over a real socket: a size cap (RESPONSE_TOO_LARGE), a deadline (SOURCE_TIMEOUT)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from test_gateway_support import HV, serving, settings_for

from opsgraph.clock import ManualClock
from opsgraph.gateway.app import create_app
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

CAP = 16 * 1024
ALIASES = 20
BIG_LIST = " ".join(f"a{i}: clients(first: 50) {{ nodes {{ id name }} }}" for i in range(ALIASES))
TWO_SYSTEMS = "{ clients(first: 2) { nodes { name } } engagements(first: 2) { nodes { code } } }"


def codes(body: dict[str, Any]) -> list[tuple[str, tuple[str | int, ...]]]:
    return [(e["extensions"]["code"], tuple(e["path"])) for e in body.get("errors", [])]


async def query(url: str, text: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        return await http.post("/graphql", json={"query": "{ " + text + " }" if text[0] != "{" else text})


async def test_a_response_past_the_cap_is_cut_with_response_too_large(
    simulators: SimulatorGroup, world: World
) -> None:
    uncapped = create_app(settings_for(simulators, world))
    async with serving(uncapped) as url:
        full = await query(url, BIG_LIST)
    assert full.status_code == 200 and "errors" not in full.json()
    assert len(full.content) > 2 * CAP  # what the cap is up against

    capped = create_app(settings_for(simulators, world, max_response_bytes=CAP))
    async with serving(capped) as url:
        response = await query(url, BIG_LIST)
    assert response.status_code == 200
    assert len(response.content) < CAP
    body = response.json()
    present = [key for key, value in body["data"].items() if value is not None]
    cut = [key for key, value in body["data"].items() if value is None]
    assert present and cut
    assert len(present) + len(cut) == ALIASES
    for key in present:  # what is there is whole and right
        assert body["data"][key] == full.json()["data"][key]
    assert {code for code, _ in codes(body)} == {"RESPONSE_TOO_LARGE"}
    assert {path[0] for _, path in codes(body)} == set(cut)  # an error at each cut path
    assert len({e["message"] for e in body["errors"]}) == 1  # one message: repeats can be merged


async def test_what_is_not_done_by_the_deadline_is_null_with_source_timeout(
    simulators: SimulatorGroup, world: World
) -> None:
    harvest = simulators.urls()[HV]
    app = create_app(settings_for(simulators, world, request_timeout_s=0.3))
    async with httpx.AsyncClient(base_url=harvest, timeout=10) as admin:
        (await admin.put("/_sim/faults", json={"latency_ms": 1500})).raise_for_status()
        try:
            async with serving(app) as url:
                (await admin.delete("/_sim/stats")).raise_for_status()
                response = await query(url, TWO_SYSTEMS)
                sent = app.state.gateway.sources.system(HV).client.health.requests
        finally:
            await admin.put("/_sim/faults", json={"latency_ms": 0})
        await drained(admin, sent)
    assert response.status_code == 200
    body = response.json()
    assert len(body["data"]["clients"]["nodes"]) == 2  # Salesforce answered in time
    assert body["data"]["engagements"] is None
    assert codes(body) == [("SOURCE_TIMEOUT", ("engagements",))]
    assert "deadline of 0.3 s" in body["errors"][0]["message"]
    assert sent >= 1


async def drained(admin: httpx.AsyncClient, sent: int) -> None:
    """Until the simulator has answered every request the gateway sent (and gave up on), so its
    late answers land in no later test's stats."""
    for _ in range(200):
        if (await admin.get("/_sim/stats")).json()["total"] >= sent:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the simulator never answered {sent} requests")


class SteppingClock(ManualClock):
    """Each `monotonic()` reading is 20 s after the one before: the deadline passes between the
    request's start and its first resolver, with no wall-clock wait."""

    def monotonic(self) -> float:
        self.advance(20)
        return super().monotonic()


async def test_past_the_deadline_nothing_is_fetched(simulators: SimulatorGroup, world: World) -> None:
    stats = {s: f"{url}/_sim/stats" for s, url in simulators.urls().items()}
    app = create_app(settings_for(simulators, world, request_timeout_s=15), clock=SteppingClock())
    async with serving(app) as url, httpx.AsyncClient(timeout=10) as admin:
        for url_ in stats.values():
            await admin.delete(url_)
        response = await query(url, TWO_SYSTEMS)
        upstream = {s: (await admin.get(url_)).json()["total"] for s, url_ in stats.items()}
    body = response.json()
    assert body["data"] == {"clients": None, "engagements": None}
    assert sorted(codes(body)) == [("SOURCE_TIMEOUT", ("clients",)), ("SOURCE_TIMEOUT", ("engagements",))]
    assert upstream == dict.fromkeys(stats, 0)
