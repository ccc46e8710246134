"""`python -m bench.authz`: what the authorization policy costs per request.

The gateway's schema executes one bench query in process (no HTTP), against the simulators of the
`small` world with a warm in-memory cache (no upstream call is timed), for these callers:

- `no policy`: the schema without the authorization extension (the baseline);
- `finance`: the policy on, a role that may read every field the query selects;
- `viewer`: the policy on, fields denied (null with FORBIDDEN at each path);
- `finance, EMEA`: the policy on, a caller whose scopes apply the row rules.

Three documents: a 500-entry extract, 20 people, and `{ __typename }` (what the policy costs every
request whatever it asks). Cases run interleaved, round after round, so a busy host slows them alike.
It prints the median and p95 per request and the median's difference to the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from opsgraph.auth import Caller, Role
from opsgraph.cache import ReadCache, create_backend
from opsgraph.clock import clock_for
from opsgraph.gateway.app import gateway_schema
from opsgraph.gateway.settings import demo_settings
from opsgraph.resolvers.context import RequestContext
from opsgraph.resolvers.sources import Sources
from simulators.simkit.serve import SimulatorThread
from simulators.world import build_world

QUERY = Path(__file__).parent / "queries" / "time_extract.graphql"
PEOPLE = "query People { resources(first: 20) { nodes { name email department costRate { amount } } } }"
CALLERS: dict[str, Caller | None] = {
    "finance": Caller("bench-finance", frozenset({Role.FINANCE}), None, "api_key"),
    "viewer": Caller("bench-viewer", frozenset({Role.VIEWER}), None, "api_key"),
    "finance, EMEA": Caller("bench-emea", frozenset({Role.FINANCE}), frozenset({"EMEA"}), "api_key"),
}


async def _once(schema: Any, context: Any, query: str) -> tuple[float, int]:
    ctx = context()
    started = time.perf_counter()
    result = await schema.execute(query, context_value=ctx)
    return (time.perf_counter() - started) * 1000, len(result.errors or [])


async def run(runs: int) -> None:
    world = build_world(seed=7, profile="small")
    queries = {
        "time_extract (500 entries)": (QUERY.read_text(), runs),
        "people (20 resources)": (PEOPLE, runs * 5),
        "__typename (fixed cost)": ("query T { __typename }", runs * 50),
    }
    with SimulatorThread(world) as group:
        settings = demo_settings(group.system_settings(), today=world.as_of)
        clock = clock_for(settings.today)
        sources = Sources.from_specs(settings.system_specs(), clock=clock)
        cache = ReadCache(create_backend(None), settings.cache, clock=clock)
        rows = settings.auth.load_policy().rows
        with_policy = gateway_schema(settings, clock)
        without = gateway_schema(settings, clock, policy=False)

        def context_for(caller: Caller | None) -> Any:
            return lambda: RequestContext.create(
                sources, correlation_id="bench", clock=clock, cache=cache, caller=caller, row_rule=rows
            )

        cases = [("no policy", without, context_for(CALLERS["finance"]))]
        cases += [(name, with_policy, context_for(caller)) for name, caller in CALLERS.items()]
        try:
            for label, (query, count) in queries.items():
                times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
                errors: dict[str, int] = {}
                for round_ in range(count + 3):  # interleaved, so a busy host slows every case alike
                    for name, schema, context in cases:
                        elapsed, errors[name] = await _once(schema, context, query)
                        if round_ >= 3:  # the first rounds fill the cache and the parse/validation caches
                            times[name].append(elapsed)
                print(f"\n{label}: {count} runs each")
                print(f"{'caller':<16}{'p50 ms':>10}{'p95 ms':>10}{'vs none':>10}{'errors':>8}")
                baseline = statistics.median(times["no policy"])
                for name, measured in times.items():
                    p50 = statistics.median(measured)
                    p95 = statistics.quantiles(measured, n=20)[18]
                    print(f"{name:<16}{p50:>10.2f}{p95:>10.2f}{p50 - baseline:>+10.2f}{errors[name]:>8}")
        finally:
            await sources.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.runs))


if __name__ == "__main__":
    main()
