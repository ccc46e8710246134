"""`python -m bench.simulators`: world sizes, generation time, simulator memory and service times.

Service times are the simulators' own (`/_sim/stats`), with no injected latency: a batch
read of 200 ids and a page of up to 2000 rows (1000 for NetSuite, its maximum) per vendor.
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

import aiohttp

from opsgraph.connectors.base import SourceConfig
from opsgraph.model import SourceName
from opsgraph.resolvers.sources import Sources
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World, build_world


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def service_times(group: SimulatorGroup, world: World) -> dict[str, dict[str, float]]:
    configs = {
        s: SourceConfig(base_url=sim.connector_base_url, credentials=dict(sim.info.credentials))
        for s, sim in group.running.items()
    }
    sources = Sources.from_configs(configs)
    accounts = [c.sf_id for c in world.clients[:200]]
    codes = [e.code for e in world.engagements[:200]]
    employees = [p.bamboo_id for p in world.people[:200] if p.bamboo_id]
    month = sorted({e.spent_date for e in world.time_entries})[-45]
    calls: dict[SourceName, tuple[Any, Any]] = {
        SourceName.SALESFORCE: (
            lambda: sources.salesforce.accounts_by_ids(accounts),
            lambda: sources.salesforce.query(
                "SELECT Id, Name, AccountId, StageName, Amount FROM Opportunity"
            ),
        ),
        SourceName.HARVEST: (
            lambda: sources.harvest.list_users(),
            lambda: sources.harvest.request(
                "GET", "/v2/time_entries", params={"per_page": "2000", "from": month.isoformat()}
            ),
        ),
        SourceName.BAMBOOHR: (
            lambda: sources.bamboohr.employees_by_ids(employees),
            lambda: sources.bamboohr.time_off(world.as_of.replace(month=1, day=1), world.as_of),
        ),
        SourceName.NETSUITE: (
            lambda: sources.netsuite.jobs_by_codes(codes),
            lambda: sources.netsuite.request(
                "POST",
                "query/v1/suiteql",
                params={"limit": "1000"},
                json={"q": "SELECT id, externalid, hours FROM timebill"},
                headers={"Prefer": "transient"},
                retry=True,
            ),
        ),
    }
    out: dict[str, dict[str, float]] = {}
    async with aiohttp.ClientSession() as session:
        for source, (batch, page) in calls.items():
            url = group.urls()[source]
            await batch()  # warm the token
            row: dict[str, float] = {}
            for name, call in (("batch", batch), ("page", page)):
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
            out[source.value] = row
    await sources.close()
    return out


def main() -> None:
    for profile in ("small", "large"):
        started = time.perf_counter()
        world = build_world(seed=7, profile=profile)
        generated = time.perf_counter() - started
        print(f"{profile}: generated in {generated:.2f}s: {world.counts()}")
    before = rss_mb()
    started = time.perf_counter()
    with SimulatorThread(world) as group:
        loaded = time.perf_counter() - started
        print(
            f"large: four simulators loaded in {loaded:.1f}s; process peak RSS {rss_mb():.0f} MB "
            f"({rss_mb() - before:.0f} MB over the generated world)"
        )
        for vendor, row in asyncio.run(service_times(group, world)).items():
            print(
                f"  {vendor:<10} batch mean {row['batch_mean_ms']:6.1f} ms max {row['batch_max_ms']:6.1f}   "
                f"page mean {row['page_mean_ms']:6.1f} ms max {row['page_max_ms']:6.1f}"
            )


if __name__ == "__main__":
    main()
