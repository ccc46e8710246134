"""Two gateway replicas sharing one Redis (a private redis-server): one lease per system decides which of
them polls it (counted at the simulators), a change one of them detects reaches a subscriber of the
other over the Redis bus, and stopping the polling replica hands polling over to the other."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from events_support import engagement_id, events_gateway, subscribed
from redis_process import RedisProcess
from test_events_readiness import OCTOBER, WATCHED
from test_gateway_support import HV, NS

from opsgraph.events.lease import RedisLease
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World


async def test_one_replica_polls_and_the_other_takes_over(
    simulators: SimulatorGroup, world: World, own_redis: RedisProcess
) -> None:
    async with (
        AsyncExitStack() as a_stack,
        events_gateway(simulators, world, changes=(HV,), redis_url=own_redis.url) as b,
    ):
        a = await a_stack.enter_async_context(events_gateway(simulators, world, redis_url=own_redis.url))
        systems = list(b.events.sources.systems)
        for name in systems:  # A asks first: it takes every lease and sets the marks
            assert await a.events.poll_if_held(name) is not None
            assert await b.events.poll_if_held(name) is None
        lease = a.events.lease
        assert isinstance(lease, RedisLease) and lease.held == set(systems)

        # one round asked of each system: what A alone asks is what A and B together ask
        await a.sim(HV, "DELETE", "stats")
        assert await a.events.poll_if_held(HV) is not None
        alone = await a.sim_counts(HV)
        assert alone.get("GET /v2/time_entries", 0) >= 1
        await a.sim(HV, "DELETE", "stats")
        assert await b.events.poll_if_held(HV) is None
        assert await a.events.poll_if_held(HV) is not None
        assert await b.events.poll_if_held(HV) is None
        assert await a.sim_counts(HV) == alone

        async with subscribed(b, {"ids": [engagement_id(WATCHED)]}) as watcher:
            entry = await a.log_time(WATCHED, OCTOBER, 6.0)
            found = await a.events.poll_if_held(HV)
            assert found is not None and [(e.code, e.cause) for e in found.events] == [
                (WATCHED, "TIME_CHANGED")
            ]
            (changed,) = await watcher.next_count(1)  # detected by A, delivered by B
            assert changed["cause"] == "TIME_CHANGED" and changed["readiness"]["ready"] is False

            await a_stack.aclose()  # A stops: it releases its leases
            assert await b.events.poll_if_held(HV) is not None  # B polls now (its baseline)
            assert await b.events.poll_if_held(NS) is not None
            assert await b.approve(ids=[int(entry.id)]) == 1
            await b.sim(HV, "DELETE", "stats")
            approved = await b.events.poll_if_held(HV)
            assert approved is not None
            assert [(e.code, e.cause) for e in approved.events] == [(WATCHED, "TIME_APPROVED")]
            assert (await b.sim_counts(HV)).get("GET /v2/time_entries", 0) >= 1
            events = await watcher.next_count(2)
            assert [e["cause"] for e in events] == ["TIME_CHANGED", "TIME_APPROVED"]
            assert events[1]["readiness"]["ready"] is True


async def test_the_polling_loops_hand_over_when_a_replica_stops(
    simulators: SimulatorGroup, world: World, own_redis: RedisProcess
) -> None:
    """The background loops (short intervals): while A runs, B's loops hold no lease; once A stops, B's
    loops take every system within a few wakes (bounded waits on state, no timing asserted)."""
    events = {"poll": True, "interval_s": 3.0}  # a lease lives 2 s: renewals survive a loaded machine
    async with AsyncExitStack() as a_stack, AsyncExitStack() as b_stack:
        a = await a_stack.enter_async_context(
            events_gateway(simulators, world, redis_url=own_redis.url, events=events)
        )
        async with asyncio.timeout(60):  # bounded: a hang is a failure that says where
            await a.events.first_rounds()
        b = await b_stack.enter_async_context(
            events_gateway(simulators, world, redis_url=own_redis.url, events=events)
        )
        async with asyncio.timeout(60):
            await b.events.first_rounds()
        a_lease, b_lease = a.events.lease, b.events.lease
        assert isinstance(a_lease, RedisLease) and isinstance(b_lease, RedisLease)
        systems = set(a.events.sources.systems)
        assert a_lease.held == systems and b_lease.held == set()
        async with asyncio.timeout(60):
            await a_stack.aclose()
        for _ in range(400):  # bounded: at most 20 s for what takes about one third of an interval
            if b_lease.held == systems:
                break
            await asyncio.sleep(0.05)
        assert b_lease.held == systems
        assert a_lease.owner not in {await b_lease.holder(s) for s in systems}
