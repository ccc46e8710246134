"""Real third-party clients: the npm `graphql-ws` client (graphql-transport-ws) and the npm `graphql-sse`
client (distinct connections mode) each receive the readiness events of time logged and approved through
the Harvest simulator, exactly one per change and matching subscriber: approving time that moves no
readiness yields none, and the filters (`engagementIds`, `minAmount`) hold. (The legacy graphql-ws
protocol's client, Python `gql`, is in test_events_readiness.py.)"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from events_support import SUBSCRIPTION, engagement_id, events_gateway
from js_clients import NodeSubscriber, node_or_skip
from test_gateway_support import HV

from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

WATCHED, OTHER = "ENG-0023", "ENG-0027"
OCTOBER, NOVEMBER = date(2026, 10, 15), date(2026, 11, 1)


async def test_npm_clients_receive_exactly_their_events(simulators: SimulatorGroup, world: World) -> None:
    node_or_skip()
    async with events_gateway(simulators, world, changes=(HV,)) as gw:
        await gw.events.poll_once()  # marks and baseline
        before = Decimal((await gw.readiness(WATCHED))["amount"]["amount"])
        url = gw.url + "/graphql"
        watched = {"ids": [engagement_id(WATCHED)]}
        clients = {
            "ws": await NodeSubscriber.start("ws", gw.ws_url, SUBSCRIPTION, watched, 3),
            "sse": await NodeSubscriber.start("sse", url, SUBSCRIPTION, watched, 3),
            "ws-min": await NodeSubscriber.start(
                "ws", gw.ws_url, SUBSCRIPTION, {**watched, "min": str(before + 1)}, 1
            ),
            "sse-other": await NodeSubscriber.start(
                "sse", url, SUBSCRIPTION, {"ids": [engagement_id(OTHER)]}, 1
            ),
        }
        try:
            await gw.events.bus.until_subscribers(len(clients))
            entry = await gw.log_time(WATCHED, OCTOBER, 8.0)
            assert [e.cause for e in (await gw.events.poll_once()).events] == ["TIME_CHANGED"]
            # approving November time moves no readiness: nothing is published
            assert await gw.approve(project_id=int(entry.engagement_id), **{"from": NOVEMBER.isoformat()}) > 0
            quiet = await gw.events.poll_once()
            assert quiet.changes >= 1 and quiet.events == []
            assert await gw.approve(ids=[int(entry.id)]) == 1
            assert [e.cause for e in (await gw.events.poll_once()).events] == ["TIME_APPROVED"]
            await gw.log_time(WATCHED, OCTOBER, 1.0)  # the last event: anything doubled would come before it
            last = (
                await gw.events.poll_once()
            ).events  # its cause: the first change seen (maybe the approval again)
            assert [(e.code, e.readiness.ready) for e in last] == [(WATCHED, False)]

            for name in ("ws", "sse"):
                lines = await clients[name].results()
                events = [line["data"]["invoiceReadinessChanged"] for line in lines]
                assert [e["cause"] for e in events[:2]] == ["TIME_CHANGED", "TIME_APPROVED"], name
                assert {e["readiness"]["engagement"]["code"] for e in events} == {WATCHED}
                assert [e["readiness"]["ready"] for e in events] == [False, True, False]
                assert Decimal(events[1]["previousAmount"]["amount"]) == before
            (big,) = await clients["ws-min"].results()
            assert big["data"]["invoiceReadinessChanged"]["cause"] == "TIME_APPROVED"
            assert Decimal(big["data"]["invoiceReadinessChanged"]["readiness"]["amount"]["amount"]) > before
            assert await clients["sse-other"].stop() == []
        finally:
            for client in clients.values():
                await client.stop()
