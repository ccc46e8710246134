"""`python -m bench entries` (also printed by `python -m bench memory`): what one cached time entry costs.

The simulators (in a thread) serve the `small` world; a read cache on mem:// is filled by the time entries
of the last twelve months, read through the loaders as a query would. Then every object the cache backend
holds is walked (`gc.get_referents`, each object counted once however many values share it) and divided by
the number of time entries reached: KB per cached time entry, the cache's own structures included. A second,
overlapping range (the last six months) is read next: what it adds is what overlapping ranges do not share.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import types
from datetime import timedelta
from enum import Enum
from typing import Any

from opsgraph import model
from opsgraph.cache import ReadCache, create_backend
from opsgraph.clock import PinnedClock
from opsgraph.gateway.settings import Settings, demo_settings
from opsgraph.resolvers.context import RequestContext
from opsgraph.resolvers.sources import Sources
from simulators.simkit.serve import SimulatorThread
from simulators.world import World, build_world

__all__ = ["entry_size"]

_SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, Enum)


def deep_size(roots: list[Any]) -> tuple[int, int]:
    """Bytes of every object reachable from `roots` (each once; classes, modules, functions and enum
    members are shared by the whole process and left out), and how many of them are time entries."""
    seen: set[int] = set()
    total = entries = 0
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SKIP) or obj is None or isinstance(obj, bool):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, model.TimeEntry):
            entries += 1
        stack.extend(gc.get_referents(obj))
    return total, entries


def _store(cache: ReadCache) -> list[Any]:
    """The memory backend's stored values (cashews `Memory` keeps them in `store`)."""
    backends: dict[str, Any] = cache.backend._backends
    return [value for backend in backends.values() for value in backend.store.values()]


async def _measure(settings: Settings, world: World) -> tuple[float, int, float]:
    sources = Sources.from_specs(settings.system_specs())
    cache = ReadCache(create_backend(), settings.cache)
    await cache.backend.init()

    async def read(days: int) -> int:
        ctx = RequestContext.create(
            sources, correlation_id="bench", clock=PinnedClock(world.as_of), cache=cache
        )
        return len(await ctx.loaders.time_entries_in_range(world.as_of - timedelta(days=days), world.as_of))

    try:
        await read(365)
        gc.collect()
        size, entries = deep_size(_store(cache))
        await read(182)
        gc.collect()
        more, _ = deep_size(_store(cache))
    finally:
        await cache.backend.close()
        await sources.close()
    return size / max(entries, 1) / 1024, entries, (more - size) / 1024


def entry_size(profile: str = "small") -> None:
    world = build_world(seed=7, profile=profile)
    with SimulatorThread(world) as group:
        settings = demo_settings(group.system_settings(), today=world.as_of)
        per_entry, entries, overlap = asyncio.run(_measure(settings, world))
    print(
        f"cache on mem://, {profile} world, time entries of the last 12 months: {entries} entries, "
        f"{per_entry:.2f} KB per cached time entry (target <= 0.6); "
        f"an overlapping 6-month range then adds {overlap:.0f} KB"
    )


if __name__ == "__main__":
    entry_size()
