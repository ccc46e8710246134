"""Subscription transports: keep-alive pings on all three (graphql-transport-ws `ping`, legacy graphql-ws
`ka`, SSE `: ping` comments), and a stalled subscriber (it never reads its socket) holds up neither the
publisher nor the other subscribers: its mailbox coalesces to the latest event per engagement."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import httpx
import websockets
from events_support import SUBSCRIPTION, events_gateway, subscribed

from opsgraph.events.bus import LocalBus
from opsgraph.events.readiness_event import ReadinessChanged
from opsgraph.model import Engagement, Money
from opsgraph.resolvers.views.readiness import Readiness
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

FAST = {"poll": False, "keep_alive_s": 0.1}


async def test_each_transport_keeps_an_idle_connection_alive(
    simulators: SimulatorGroup, world: World
) -> None:
    async with events_gateway(simulators, world, events=FAST) as gw:
        async with websockets.connect(gw.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv()) == {"type": "connection_ack"}
            async with asyncio.timeout(10):
                assert json.loads(await ws.recv()) == {"type": "ping"}
            await ws.send(json.dumps({"type": "pong"}))
            async with asyncio.timeout(10):
                assert json.loads(await ws.recv()) == {"type": "ping"}

        async with websockets.connect(gw.ws_url, subprotocols=["graphql-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            async with asyncio.timeout(10):
                assert json.loads(await ws.recv())["type"] == "ka"

        body = {"query": SUBSCRIPTION, "variables": {}}
        async with (
            httpx.AsyncClient(timeout=10) as http,
            http.stream("POST", f"{gw.url}/graphql", json=body, headers={"Accept": "text/event-stream"}) as r,
        ):
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            async with asyncio.timeout(10):
                async for line in r.aiter_lines():
                    if line.startswith(":"):
                        assert line == ": ping"
                        break


def readiness_event(code: str, amount: int) -> ReadinessChanged:
    readiness = Readiness(
        engagement_code=code,
        ready=True,
        approved_unbilled_hours=1.0,
        amount=Money.of(str(amount)),
        blockers=(),
        as_of=datetime(2026, 11, 20, tzinfo=UTC),
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
    )
    return ReadinessChanged(
        engagement=Engagement(system="sim", id=code, code=code, name="Synthetic " + "x" * 2000),
        readiness=readiness,
        was_ready=False,
        previous_amount=Money.of("0"),
        cause="TIME_APPROVED",
        at=datetime(2026, 11, 20, tzinfo=UTC),
    )


async def test_a_stalled_subscriber_holds_up_no_one(simulators: SimulatorGroup, world: World) -> None:
    async with events_gateway(simulators, world) as gw:
        bus = gw.events.bus
        assert isinstance(bus, LocalBus)
        async with subscribed(gw, {}) as active:
            # the stalled one subscribes, then never reads (its client buffers one message at most)
            stalled = await websockets.connect(gw.ws_url, subprotocols=["graphql-transport-ws"], max_queue=1)
            await stalled.send(json.dumps({"type": "connection_init"}))
            await stalled.recv()
            await stalled.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
            )
            async with asyncio.timeout(10):
                await bus.until_subscribers(2)
            frozen = bus.subscribe()  # a subscriber that never takes anything, held by the bus itself
            codes = [f"SYN-{i:04d}" for i in range(1500)]
            for round_no in (1, 2):
                for code in codes:
                    await bus.publish(readiness_event(code, round_no))
                received = await active.next_count(round_no * len(codes), timeout_s=60)
            assert [r["readiness"]["engagement"]["code"] for r in received] == codes * 2
            assert {r["readiness"]["amount"]["amount"] for r in received[len(codes) :]} == {"2.00"}

            # the frozen one holds the latest event per engagement, with the first previous state
            mailbox = frozen.mailbox
            assert (mailbox.pending, mailbox.coalesced, mailbox.dropped) == (len(codes), len(codes), 0)
            first = await anext(frozen)
            assert isinstance(first, ReadinessChanged)
            assert (first.code, first.readiness.amount, first.previous_amount) == (
                codes[0],
                Money.of("2"),
                Money.of("0"),
            )
            await frozen.aclose()
            await stalled.close()
