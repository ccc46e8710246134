"""`python -m bench workflows` (part of `make bench`): 100 convertOpportunity workflows at once.

The simulators run in processes of their own with 20 ms injected per upstream call; the workflow
engine runs in this process over the gateway's `Sources`, once on a SQLite store and once on a
PostgreSQL database of its own (skipped when no server answers at `OPSGRAPH_BENCH_POSTGRES`).
Open opportunities of the `large` world (billing model set, client with a legal entity) are closed
won through the CRM simulator's UI event, then converted. For each store it prints:

- one workflow alone: its wall time (the critical path as run, store included), its upstream
  requests, and those requests times the injected latency (the path if every call were in series);
- `--count` workflows started at once (their validating reads 10 at a time; the workflows then
  run all together): time until all are COMPLETED, against the floor the write
  queues set (each system's writes / its queue rate), and writes and requests per workflow;
- the store's overhead per step: `--sequential` workflows one after another without injected
  latency, against the same kind's validate, plan and steps called directly (no engine, no
  store) on as many other opportunities, divided by the steps.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from bench.procs import start_simulators, stop_all
from opsgraph.clock import PinnedClock
from opsgraph.gateway.settings import demo_settings
from opsgraph.model import Role
from opsgraph.resolvers.sources import Sources
from opsgraph.roles.filters import OpportunityFilter
from opsgraph.workflows import WorkflowEngine, WorkflowSettings, WorkflowStatus
from opsgraph.workflows.kinds import StepContext, kind_named
from opsgraph.workflows.records import FINAL
from simulators.simkit.serve import simulator_info
from simulators.world import DEFAULT_AS_OF

KIND = "convertOpportunity"
BURST_TIMEOUT_S = 180.0
START_GATE = 10
"""Starts (each validates with reads) at once; the workflows started then run all together."""
LATENCY_MS = 20.0
POSTGRES = os.environ.get("OPSGRAPH_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
READ_POSTS = ("/query/v1/suiteql", "/oauth2/", "/token", "/composite/sobjects/")
"""POSTs that read (SuiteQL, tokens, the CRM's batch retrieve): not counted as writes."""


@dataclass
class Counts:
    requests: int
    writes: int
    writes_by_system: dict[str, int]


class Sims:
    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls

    async def _each(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        out = {}
        async with aiohttp.ClientSession() as session:
            for name, url in self.urls.items():
                async with session.request(method, url + path, json=body) as resp:
                    resp.raise_for_status()
                    out[name] = await resp.json()
        return out

    async def latency(self, ms: float) -> None:
        await self._each("PUT", "/_sim/faults", {"latency_ms": ms})

    async def reset(self) -> None:
        await self._each("POST", "/_sim/reset")
        await self._each("DELETE", "/_sim/stats")

    async def clear_stats(self) -> None:
        await self._each("DELETE", "/_sim/stats")

    async def counts(self) -> Counts:
        stats = await self._each("GET", "/_sim/stats")
        requests, by_system = 0, {}
        for name, s in stats.items():
            requests += int(s["total"])
            by_system[name] = sum(
                int(r["count"])
                for route, r in s["routes"].items()
                if route.split(" ", 1)[0] in WRITE_METHODS and not any(p in route for p in READ_POSTS)
            )
        return Counts(requests, sum(by_system.values()), by_system)

    async def close_won(self, crm: str, ids: Sequence[str]) -> None:
        async with aiohttp.ClientSession() as session:
            for i in ids:
                body = {"type": "close_opportunity_won", "id": i}
                async with session.post(f"{self.urls[crm]}/_sim/events", json=body) as resp:
                    resp.raise_for_status()


def sources_for(urls: dict[str, str]) -> Sources:
    tables = {}
    for name, url in urls.items():
        info = simulator_info(name)
        tables[name] = {
            "vendor": info.vendor,
            "base_url": info.connector_base_url(url),
            "credentials": dict(info.credentials),
        }
    specs = demo_settings(tables).system_specs()
    return Sources.from_specs(specs, clock=PinnedClock(DEFAULT_AS_OF))


async def convertible(sources: Sources) -> list[str]:
    """Open opportunities that convert once won: a billing model (and an amount unless time and
    materials), a client with a legal entity; their canonical keys."""
    crm = sources.of_role(Role.CRM)[0]
    port: Any = crm.client
    opps = await port.list_opportunities(OpportunityFilter(is_closed=False))
    clients = await port.clients_by_ids({o.client_id for o in opps})
    ok = [
        o
        for o in opps
        if o.billing_model is not None
        and (o.amount is not None or o.billing_model.value == "TIME_AND_MATERIALS")
        and not o.engagement_code
        and (c := clients.get(o.client_id)) is not None
        and c.legal_entity
    ]
    return [f"{crm.name}:{o.id}" for o in sorted(ok, key=lambda o: o.id)]


def data(opportunity: str) -> dict[str, Any]:
    return {"opportunity": opportunity, "engagement_code": f"BN-{uuid.uuid4().hex[:10].upper()}"}


async def direct(sources: Sources, opportunity: str) -> int:
    """The kind's validate, plan and steps called in order, as the engine would, without it."""
    k = kind_named(KIND)
    parsed = k.parse(data(opportunity))
    assert not await k.validate(sources, parsed)
    wid = f"direct-{uuid.uuid4().hex}"
    steps = await k.plan(sources, parsed, wid)
    done: dict[str, dict[str, Any]] = {}
    for step in steps:
        done[step.name] = await k.execute(sources, StepContext(wid, "bench", step), done)
    return len(steps)


@contextmanager
def postgres_database() -> Iterator[str | None]:
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"opsgraph_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL unreachable, skipped: {str(exc).splitlines()[0]}")
        admin.dispose()
        yield None
        return
    try:
        yield admin.url.set(database=name, drivername="postgresql").render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def run_store(label: str, url: str, sims: Sims, count: int, sequential: int) -> None:
    await sims.reset()
    sources = sources_for(sims.urls)
    try:
        candidates = await convertible(sources)
        if len(candidates) < 1 + count:
            raise SystemExit(f"the world has {len(candidates)} convertible opportunities, {1 + count} needed")
        crm = candidates[0].split(":", 1)[0]
        await sims.close_won(crm, [c.split(":", 1)[1] for c in candidates[: 1 + count]])
        single, burst = candidates[0], candidates[1 : 1 + count]
        settings = WorkflowSettings(database_url=url, wait_s=600)
        engine = WorkflowEngine(settings, sources)
        async with engine.running():
            await sims.latency(LATENCY_MS)
            await sims.clear_stats()
            started = time.perf_counter()
            one = await engine.start(KIND, data(single), idempotency_key=uuid.uuid4().hex, caller="bench")
            alone_s = time.perf_counter() - started
            assert one.workflow is not None and one.workflow.status is WorkflowStatus.COMPLETED, one
            steps = len(one.workflow.steps)
            alone = await sims.counts()

            await sims.clear_stats()
            started = time.perf_counter()
            gate = asyncio.Semaphore(START_GATE)

            async def start(o: str) -> str:
                async with gate:  # validation reads: at most START_GATE at once
                    r = await engine.start(
                        KIND, data(o), idempotency_key=uuid.uuid4().hex, caller="bench", wait=False
                    )
                assert r.workflow is not None, r.user_errors
                return r.workflow.id

            ids = await asyncio.gather(*(start(o) for o in burst))
            deadline = time.perf_counter() + BURST_TIMEOUT_S
            while True:
                records = [await engine.get(i) for i in ids]
                if all(r is not None and r.status in FINAL for r in records):
                    break
                if time.perf_counter() > deadline:
                    print(f"  not all settled within {BURST_TIMEOUT_S:.0f} s")
                    break
                await asyncio.sleep(0.2)
            all_s = time.perf_counter() - started
            completed = sum(1 for r in records if r is not None and r.status is WorkflowStatus.COMPLETED)
            many = await sims.counts()
            floor_s = max(
                n / (settings.limits(s).rate / settings.limits(s).period_s)
                for s, n in many.writes_by_system.items()
            )

            await sims.latency(0.0)
            await sims.reset()  # the same opportunities again, open; half through the engine
            await sims.close_won(crm, [c.split(":", 1)[1] for c in candidates[: 2 * sequential]])
            seq_engine, seq_direct = candidates[:sequential], candidates[sequential : 2 * sequential]
            started = time.perf_counter()
            for o in seq_engine:
                r = await engine.start(KIND, data(o), idempotency_key=uuid.uuid4().hex, caller="bench")
                assert r.workflow is not None and r.workflow.status is WorkflowStatus.COMPLETED, r
            engine_s = time.perf_counter() - started
        started = time.perf_counter()
        direct_steps = [await direct(sources, o) for o in seq_direct]
        direct_s = time.perf_counter() - started
    finally:
        await sources.close()
    per_step_ms = (engine_s - direct_s) * 1000 / max(1, sum(direct_steps))
    print(f"\n{label} store: convertOpportunity, {LATENCY_MS:.0f} ms injected per upstream call")
    print(
        f"  one workflow alone: {alone_s * 1000:.0f} ms, {steps} steps, {alone.requests} upstream requests "
        f"({alone.requests * LATENCY_MS:.0f} ms if all in series), {alone.writes} writes"
    )
    print(
        f"  {count} at once: all COMPLETED in {all_s:.2f} s ({completed}/{count} completed); "
        f"{all_s / alone_s:.1f}x one alone; write-queue floor {floor_s:.2f} s "
        f"({', '.join(f'{s} {n}' for s, n in sorted(many.writes_by_system.items()) if n)} writes)"
    )
    print(f"  per workflow: {many.writes / count:.2f} writes, {many.requests / count:.1f} upstream requests")
    print(
        f"  store overhead per step (no latency, {sequential} in series): {per_step_ms:.1f} ms "
        f"(engine {engine_s * 1000 / sequential:.0f} ms vs direct {direct_s * 1000 / sequential:.0f} ms "
        f"per workflow)"
    )


def workflows(profile: str, count: int, sequential: int) -> None:
    started = time.perf_counter()
    processes, urls = start_simulators(profile)
    print(f"\nworkflows: simulators ({profile} world) up in {time.perf_counter() - started:.1f}s", flush=True)
    sims = Sims(urls)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(
                run_store("SQLite", f"sqlite:///{Path(tmp) / 'workflows.sqlite'}", sims, count, sequential)
            )
        with postgres_database() as url:
            if url is not None:
                asyncio.run(run_store("PostgreSQL", url, sims, count, sequential))
    finally:
        stop_all(processes)
