"""Change detection to subscribers: time logged and approved in the Harvest simulator, one poll driven by
the test, and a real graphql-transport-ws client (gql) receives exactly the readiness events it asked for.

ENG-0023 starts ready (all its October time approved and unbilled; the world's as-of date is 2026-11-20,
so readiness looks at October). Time logged in October makes it unready (UNAPPROVED_TIME); approving that
time makes it ready again with a larger amount. Approving November time changes no readiness.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from decimal import Decimal

import httpx
from events_support import SUBSCRIPTION, Gateway, engagement_id, events_gateway, subscribed
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from test_gateway_support import HV, NS

from opsgraph.model import Role
from opsgraph.resolvers.ports import erp
from opsgraph.roles import POLLED
from opsgraph.roles.filters import InvoiceFilter
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

WATCHED, OTHER = "ENG-0023", "ENG-0027"
OCTOBER, NOVEMBER = date(2026, 10, 15), date(2026, 11, 1)


async def test_approved_time_reaches_the_subscriber_once(simulators: SimulatorGroup, world: World) -> None:
    async with events_gateway(simulators, world, changes=(HV,)) as gw:
        first = await gw.events.poll_once()  # sets the marks and the baseline
        assert first.events == [] and first.changes == 0
        before = await gw.readiness(WATCHED)
        assert before["ready"] is True and before["blockers"] == []
        async with (
            subscribed(gw, {"ids": [engagement_id(WATCHED)]}) as watcher,
            subscribed(
                gw, {"ids": [engagement_id(WATCHED)], "min": str(Decimal(before["amount"]["amount"]) + 1)}
            ) as big,
        ):
            entry = await gw.log_time(WATCHED, OCTOBER, 8.0)
            logged = await gw.events.poll_once()
            assert [(e.code, e.cause) for e in logged.events] == [(WATCHED, "TIME_CHANGED")]

            # a change that leaves readiness alone yields nothing; another engagement's goes elsewhere
            assert await gw.approve(project_id=int(entry.engagement_id), **{"from": NOVEMBER.isoformat()}) > 0
            await gw.log_time(OTHER, OCTOBER, 4.0)
            quiet = await gw.events.poll_once()
            assert quiet.changes >= 2
            assert [(e.code, e.cause) for e in quiet.events] == [(OTHER, "TIME_CHANGED")]

            assert (await gw.readiness(WATCHED))["ready"] is False
            assert await gw.approve(ids=[int(entry.id)]) == 1
            await gw.sim(HV, "DELETE", "stats")
            assert (await gw.readiness(WATCHED))["ready"] is False  # cached: no poll has seen it yet
            assert await gw.sim_counts(HV) == {}
            approved = await gw.events.poll_once()
            assert [(e.code, e.cause) for e in approved.events] == [(WATCHED, "TIME_APPROVED")]

            events = await watcher.next_count(2)
            rate = entry.bill_rate
            assert rate is not None
            expected = Decimal(before["amount"]["amount"]) + rate * 8
            assert [e["cause"] for e in events] == ["TIME_CHANGED", "TIME_APPROVED"]
            unready, ready = events
            assert unready["wasReady"] is True and unready["readiness"]["ready"] is False
            assert [b["code"] for b in unready["readiness"]["blockers"]] == ["UNAPPROVED_TIME"]
            assert ready["wasReady"] is False and ready["readiness"]["ready"] is True
            assert Decimal(ready["previousAmount"]["amount"]) == Decimal(before["amount"]["amount"])
            assert Decimal(ready["readiness"]["amount"]["amount"]) == expected
            assert ready["readiness"]["engagement"]["code"] == WATCHED

            # minAmount: only the approval lifted the amount over it
            assert [e["cause"] for e in await big.next_count(1)] == ["TIME_APPROVED"]

            # the next query reads fresh data: the poll dropped the cached entries (and re-read them for
            # the engagements it touched, one listing, which the query may share): at most one listing
            await gw.sim(HV, "DELETE", "stats")
            after = await gw.readiness(WATCHED)
            assert after["ready"] is True and Decimal(after["amount"]["amount"]) == expected
            counts = await gw.sim_counts(HV)
            assert set(counts) <= {"GET /v2/time_entries"} and sum(counts.values()) <= 1, counts
            assert len(watcher.received) == 2 and len(big.received) == 1


async def test_a_paid_invoice_and_a_closed_period(simulators: SimulatorGroup, world: World) -> None:
    """NetSuite: paying an invoice is polled (no readiness moves: billed totals stay); closing today's
    accounting period makes every ready engagement unready, cause PERIOD_CLOSED. The subscriber speaks
    the legacy graphql-ws protocol."""
    async with events_gateway(simulators, world, changes=(NS,)) as gw:
        await gw.events.poll_once()
        ready_before = {
            row["engagement"]["code"]
            for row in (await gw.query("{ invoiceReadiness { ready engagement { code } } }", {}))["data"][
                "invoiceReadiness"
            ]
            if row["ready"]
        }
        async with subscribed(gw, {"ids": [engagement_id(WATCHED)]}, legacy=True) as watcher:
            assert gw.state.sources is not None
            (ns,) = gw.state.sources.of_role(Role.ERP)
            invoice = (await erp(ns).list_invoices(InvoiceFilter(open_only=True), with_lines=False))[0]
            await gw.sim(NS, "POST", "events", {"type": "pay_invoice", "id": invoice.id})
            paid = await gw.events.poll_once()
            assert paid.changes >= 1 and paid.events == []
            period = await _period_of(gw, world.as_of)
            await gw.sim(NS, "POST", "events", {"type": "close_period", "id": period})
            closed = await gw.events.poll_once()
            assert {e.code for e in closed.events} == ready_before
            assert {e.cause for e in closed.events} == {"PERIOD_CLOSED"}
            (event,) = await watcher.next_count(1)
            assert event["cause"] == "PERIOD_CLOSED" and event["readiness"]["ready"] is False
            assert "PERIOD_CLOSED" in [b["code"] for b in event["readiness"]["blockers"]]


async def _period_of(gw: Gateway, day: date) -> str:
    assert gw.state.sources is not None
    (system,) = gw.state.sources.of_role(Role.ERP)
    periods = await erp(system).accounting_periods()
    return next(p.id for p in periods if p.start <= day <= p.end)


async def test_bad_subscription_arguments_are_refused(simulators: SimulatorGroup, world: World) -> None:
    async with events_gateway(simulators, world) as gw:
        transport = WebsocketsTransport(
            url=gw.ws_url, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL]
        )
        async with Client(transport=transport, fetch_schema_from_transport=False) as session:
            request = GraphQLRequest(
                'subscription { invoiceReadinessChanged(engagementIds: ["nope"]) { cause } }'
            )
            try:
                async for _ in session.subscribe(request):
                    raise AssertionError("no event expected")
            except TransportQueryError as exc:
                assert exc.errors is not None
                assert [e["extensions"]["code"] for e in exc.errors] == ["BAD_USER_INPUT"]
            else:
                raise AssertionError("a malformed id must be refused")
        assert gw.events.bus.subscribers == 0


async def test_the_lifespan_starts_one_poller_per_system_and_stops_them(
    simulators: SimulatorGroup, world: World
) -> None:
    """With `events.poll` (off in tests unless asked), each system is polled at once, then every
    `interval_s`: here an hour, so the first round alone runs (it sets every polled entity's mark)."""
    async with events_gateway(simulators, world, events={"poll": True, "interval_s": 3600}) as gw:
        events = gw.events
        loops = list(events._loops)
        assert sorted(t.get_name() for t in loops) == sorted(f"poll {name}" for name in simulators.urls())
        wanted = {(s.name, e) for s in gw.state.require_sources().systems.values() for e in POLLED[s.role]}
        async with asyncio.timeout(30):
            await events.first_rounds()
        assert {k for k in wanted if await events.marks.get(*k) is None} == set()
        assert events.effects.baseline_taken
    assert all(t.done() for t in loops)


async def test_an_sse_subscriber_gets_the_event_and_leaves_the_bus_when_it_hangs_up(
    simulators: SimulatorGroup, world: World
) -> None:
    """graphql-sse, distinct connections mode: a POST with `Accept: text/event-stream` on `/graphql`
    streams `next` events; closing the connection ends the subscription."""
    async with events_gateway(simulators, world, changes=(HV,)) as gw:
        await gw.events.poll_once()
        body = {"query": SUBSCRIPTION, "variables": {"ids": [engagement_id(WATCHED)]}}
        async with (
            httpx.AsyncClient(timeout=20) as client,
            client.stream(
                "POST", f"{gw.url}/graphql", json=body, headers={"accept": "text/event-stream"}
            ) as r,
        ):
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            assert gw.events.bus.subscribers == 1
            await gw.log_time(WATCHED, OCTOBER, 8.0)
            assert len((await gw.events.poll_once()).events) == 1
            lines = r.aiter_lines()
            assert await anext(lines) == "event: next"
            data = json.loads((await anext(lines)).removeprefix("data: "))
        event = data["data"]["invoiceReadinessChanged"]
        assert (event["cause"], event["wasReady"], event["readiness"]["ready"]) == (
            "TIME_CHANGED",
            True,
            False,
        )
        async with asyncio.timeout(10):
            await gw.events.bus.until_subscribers(0)
