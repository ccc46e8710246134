"""`python -m bench.simulators [--stack S]`: world sizes, generation time, simulator memory and service times.

Service times are the simulators' own (`/_sim/stats`), with no injected latency: per role, a batch
read of up to 200 ids and a listing (paged at the vendor's maximum: 2000 rows for Harvest, 1000 for
NetSuite), made through the role's port, as the gateway makes them.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from opsgraph.gateway.settings import load_settings
from opsgraph.model import Role
from opsgraph.resolvers.sources import Sources
from opsgraph.roles.filters import TimeEntryFilter, TimeOffFilter
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.simkit.stacks import DEFAULT_STACK, STACKS
from simulators.world import World, build_world, crm_client_id

Call = Callable[[], Awaitable[Any]]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def role_calls(sources: Sources, world: World) -> dict[Role, tuple[Call, Call]]:
    """Per role: (a batch read by ids, a listing). `world` is the stack's view (its CRM's ids)."""
    crm, psa, hr, erp = sources.crm[0], sources.psa[0], sources.hr[0], sources.erp[0]
    clients = [crm_client_id(world, c) for c in world.clients[:200]]
    codes = [e.code for e in world.engagements[:200]]
    employees = [p.bamboo_id for p in world.people[:200] if p.bamboo_id]
    days = sorted({e.spent_date for e in world.time_entries})
    month = TimeEntryFilter(start=days[-45], end=days[-1])
    year = TimeOffFilter(start=world.as_of.replace(month=1, day=1), end=world.as_of)
    return {
        Role.CRM: (lambda: crm.clients_by_ids(clients), lambda: crm.list_opportunities()),
        Role.PSA: (lambda: psa.engagements_by_codes(codes), lambda: psa.list_time_entries(month)),
        Role.HR: (lambda: hr.resources_by_ids(employees), lambda: hr.list_time_off(year)),
        Role.ERP: (
            lambda: erp.jobs_by_codes(codes),
            lambda: erp.list_time_postings(month.start, month.end),
        ),
    }


async def service_times(group: SimulatorGroup) -> dict[str, dict[str, float]]:
    """Mean and max service time of each system's batch and listing calls, by system name."""
    settings = load_settings(systems=group.system_settings())
    sources = Sources.from_specs(settings.system_specs())
    world = group.plans[0].world  # every system of an unsplit stack serves the same view
    out: dict[str, dict[str, float]] = {}
    try:
        async with aiohttp.ClientSession() as session:
            for role, (batch, listing) in role_calls(sources, world).items():
                system = sources.of_role(role)[0].name
                url = group.urls()[system]
                await batch()  # warm the token
                row: dict[str, float] = {}
                for name, call in (("batch", batch), ("page", listing)):
                    await session.delete(f"{url}/_sim/stats")
                    for _ in range(5):
                        await call()
                    async with session.get(f"{url}/_sim/stats") as resp:
                        stats = await resp.json()
                    routes = [r for k, r in stats["routes"].items() if "token" not in k]
                    row[f"{name}_mean_ms"] = sum(r["service_ms_total"] for r in routes) / sum(
                        r["count"] for r in routes
                    )
                    row[f"{name}_max_ms"] = max(r["service_ms_max"] for r in routes)
                out[system] = row
    finally:
        await sources.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", choices=list(STACKS), default=DEFAULT_STACK)
    stack = parser.parse_args().stack
    for profile in ("small", "large"):
        started = time.perf_counter()
        world = build_world(seed=7, profile=profile)
        generated = time.perf_counter() - started
        print(f"{profile}: generated in {generated:.2f}s: {world.counts()}")
    before = rss_mb()
    started = time.perf_counter()
    with SimulatorThread(world, stack=stack) as group:
        loaded = time.perf_counter() - started
        print(
            f"large, {stack} stack: four simulators loaded in {loaded:.1f}s; process peak RSS "
            f"{rss_mb():.0f} MB ({rss_mb() - before:.0f} MB over the generated world)"
        )
        for system, row in asyncio.run(service_times(group)).items():
            print(
                f"  {system:<10} batch mean {row['batch_mean_ms']:6.1f} ms max {row['batch_max_ms']:6.1f}   "
                f"page mean {row['page_mean_ms']:6.1f} ms max {row['page_max_ms']:6.1f}"
            )


if __name__ == "__main__":
    main()
