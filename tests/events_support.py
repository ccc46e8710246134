"""Helpers for the events tests (no tests here): the gateway with its events, a real subscriber
(gql over graphql-transport-ws), and changes made in the Harvest simulator as a user would make them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import aiohttp
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from test_gateway_support import HV, serving, settings_for

from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.harvest.writes import HarvestWriter
from opsgraph.events.service import EventService
from opsgraph.gateway.app import create_app
from opsgraph.gateway.http import GatewayState
from opsgraph.model import TimeEntry
from opsgraph.schema.relay import to_global_id
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

SUBSCRIPTION = """
subscription Watch($ids: [ID!], $min: Decimal) {
  invoiceReadinessChanged(engagementIds: $ids, minAmount: $min) {
    readiness { ready amount { amount currency } blockers { code } engagement { code } }
    wasReady previousAmount { amount currency } cause at
  }
}
"""

READINESS = """
query Readiness($ids: [ID!]) {
  invoiceReadiness(engagementIds: $ids) { ready approvedUnbilledHours amount { amount } blockers { code } }
}
"""


def engagement_id(code: str) -> str:
    return to_global_id("Engagement", code)


@dataclass
class Gateway:
    url: str
    state: GatewayState
    simulators: SimulatorGroup
    http: aiohttp.ClientSession

    @property
    def events(self) -> EventService:
        assert self.state.events is not None
        return self.state.events

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    async def query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.url}/graphql", json={"query": query, "variables": variables}) as r:
            body: dict[str, Any] = await r.json()
            return body

    async def readiness(self, code: str) -> dict[str, Any]:
        body = await self.query(READINESS, {"ids": [engagement_id(code)]})
        assert "errors" not in body, body
        row: dict[str, Any] = body["data"]["invoiceReadiness"][0]
        return row

    async def sim(self, vendor: str, method: str, route: str, body: Any = None) -> Any:
        url = self.simulators.urls()[vendor] + f"/_sim/{route}"
        async with self.http.request(method, url, json=body) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def sim_counts(self, vendor: str) -> dict[str, int]:
        stats = await self.sim(vendor, "GET", "stats")
        return {route: int(row["count"]) for route, row in stats["routes"].items()}

    def harvest(self) -> HarvestClient:
        assert self.state.sources is not None
        return cast(HarvestClient, self.state.sources.system(HV).client)

    async def log_time(self, code: str, day: date, hours: float) -> TimeEntry:
        """An unapproved entry on the engagement `code`, by its first assignee (as a consultant would)."""
        harvest = self.harvest()
        project = (await harvest.engagements_by_codes([code]))[code]
        assignee = (await harvest.assignments_by_engagement_ids([project.id]))[project.id][0]
        return await HarvestWriter(harvest).create_time_entry(
            engagement_id=project.id, task_id="1", spent_date=day, hours=hours, user_id=assignee.user_id
        )

    async def approve(self, **body: Any) -> int:
        answer = await self.sim(HV, "POST", "events", {"type": "approve_time_entries", **body})
        return int(answer["approved"])


@asynccontextmanager
async def events_gateway(
    simulators: SimulatorGroup, world: World, *, changes: tuple[str, ...] = (), **overrides: Any
) -> AsyncIterator[Gateway]:
    """The gateway over the session's simulators (polls driven by the test); the simulators the test
    `changes` are reset afterwards."""
    app = create_app(settings_for(simulators, world, **overrides))
    async with aiohttp.ClientSession() as http, serving(app) as url:
        gateway = Gateway(url, app.state.gateway, simulators, http)
        try:
            yield gateway
        finally:
            for vendor in changes:
                await gateway.sim(vendor, "POST", "reset")


@dataclass
class Subscriber:
    """A real graphql-transport-ws client (gql) holding one subscription (`invoiceReadinessChanged` unless
    another `query` and its `result_field`)."""

    query: str = SUBSCRIPTION
    result_field: str = "invoiceReadinessChanged"
    init_payload: dict[str, Any] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    error: BaseException | None = None

    async def run(self, url: str, variables: dict[str, Any], subprotocol: str) -> None:
        transport = WebsocketsTransport(url=url, subprotocols=[subprotocol], init_payload=self.init_payload)
        try:
            async with Client(transport=transport, fetch_schema_from_transport=False) as session:
                request = GraphQLRequest(self.query, variable_values=variables)
                async for result in session.subscribe(request):
                    self.received.append(result[self.result_field])
                    self.arrived.set()
        except BaseException as exc:  # the test reads it
            self.error = exc
            self.arrived.set()
            raise

    async def next_count(self, count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Wait (bounded: an event, not a TTL) until `count` events arrived."""
        async with asyncio.timeout(timeout_s):
            while len(self.received) < count and self.error is None:
                self.arrived.clear()
                await self.arrived.wait()
        assert self.error is None, self.error
        return self.received


@asynccontextmanager
async def subscribed(
    gateway: Gateway, variables: dict[str, Any], *, legacy: bool = False, **subscriber_fields: Any
) -> AsyncIterator[Subscriber]:
    """A subscriber, connected and registered on the bus before the block runs; over graphql-transport-ws,
    or with `legacy` over the older graphql-ws protocol (Apollo's subscriptions-transport-ws)."""
    protocol = WebsocketsTransport.APOLLO_SUBPROTOCOL if legacy else WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL
    subscriber = Subscriber(**subscriber_fields)
    before = gateway.events.bus.subscribers
    task = asyncio.create_task(subscriber.run(gateway.ws_url, variables, protocol))
    async with asyncio.timeout(10):
        await gateway.events.bus.until_subscribers(before + 1)
    try:
        yield subscriber
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await task
