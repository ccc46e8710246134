"""`python -m bench events` (part of `make bench`): live pushes on one gateway process over the hubspot
stack's simulators (`small` world, no injected latency), each in its own process.

- Latency from a vendor-side change to a subscriber's event (SSE), by polling (time logged, then
  approved, in Harvest; polled every `--interval` s) and by webhook (a HubSpot company's billing
  currency changed and back: the simulator posts a signed v3 webhook at once; HubSpot is not polled).
- Subscribers one gateway holds (`--sse` + `--ws`, from a separate load process), the gateway's RSS
  growth per subscriber, and the fan-out time of one event to all of them (trigger to the last arrival).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from datetime import date
from typing import Any

import aiohttp

from bench.procs import gateway_env, rss_mb, start_gateway, start_simulators, stop_all
from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.harvest.writes import HarvestWriter
from simulators.hubspot.simulator import CLIENT_SECRET
from simulators.simkit.serve import simulator_info
from simulators.world import DEFAULT_AS_OF

OCTOBER = date(2026, 10, 15)
CHOOSE = """query Choose { invoiceReadiness { ready amount { amount } blockers { code } engagement { id code
  client { links { system id } } } } }"""
COMPANY = "query Company($id: ID!) { node(id: $id) { ... on Client { currency } } }"
PROBE = """subscription Probe($ids: [ID!]) {
  invoiceReadinessChanged(engagementIds: $ids) { cause readiness { ready } }
}"""


class Probe:
    """One SSE subscriber in this process: the arrival time of each event."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.arrived = asyncio.Event()

    async def run(self, session: aiohttp.ClientSession, url: str, variables: dict[str, Any]) -> None:
        body = {"query": PROBE, "variables": variables}
        async with session.post(url, json=body, headers={"Accept": "text/event-stream"}) as resp:
            async for raw in resp.content:
                if raw.startswith(b"event: next"):
                    self.arrivals.append(time.time())
                    self.arrived.set()

    def mark(self) -> int:
        """Events so far: taken before a change is triggered, since its event may arrive before the
        trigger's own request returns (a webhook is delivered and published within that request)."""
        return len(self.arrivals)

    async def next_after(self, started: float, count: int, timeout_s: float = 60) -> float:
        """Seconds from `started` to the first event after the first `count`."""
        async with asyncio.timeout(timeout_s):
            while len(self.arrivals) <= count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.arrivals[count] - started


def _summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"p50 {statistics.median(ms):7.1f} ms  max {ms[-1]:7.1f} ms  (n={len(ms)})"


async def _sim(session: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> dict[str, Any]:
    async with session.post(f"{base}/_sim/events", json=body) as resp:
        resp.raise_for_status()
        answer: dict[str, Any] = await resp.json()
        return answer


async def measure(
    urls: dict[str, str], gql: str, gateway_pid: int, sse: int, ws: int, rounds: int, interval_s: float
) -> None:
    info = simulator_info("harvest")
    harvest = HarvestClient(
        SourceConfig(base_url=info.connector_base_url(urls["harvest"]), credentials=dict(info.credentials)),
        system="harvest",
    )
    writer = HarvestWriter(harvest)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        async with session.post(gql, json={"query": CHOOSE}) as resp:
            rows = (await resp.json())["data"]["invoiceReadiness"]
        row = next(
            r
            for r in rows
            if r["ready"] and any(link["system"] == "hubspot" for link in r["engagement"]["client"]["links"])
        )
        code, engagement_id = row["engagement"]["code"], row["engagement"]["id"]
        # the world's client without a legal entity: setting one in HubSpot makes its engagement ready
        blocked = next(
            (r for r in rows if [b["code"] for b in r["blockers"]] == ["MISSING_LEGAL_ENTITY"]), None
        )
        company = (
            next(
                link["id"] for link in blocked["engagement"]["client"]["links"] if link["system"] == "hubspot"
            )
            if blocked
            else None
        )
        watched = [engagement_id] + ([blocked["engagement"]["id"]] if blocked else [])
        project = (await harvest.engagements_by_codes([code]))[code]
        assignee = (await harvest.assignments_by_engagement_ids([project.id]))[project.id][0]
        base = gql.removesuffix("/graphql")
        await _sim(
            session,
            urls["hubspot"],
            {"type": "subscribe_webhooks", "url": f"{base}/webhooks/hubspot", "client_secret": CLIENT_SECRET},
        )
        probe = Probe()
        listening = asyncio.create_task(probe.run(session, gql, {"ids": watched}))
        await asyncio.sleep(1.0)
        print(f"\nlive pushes ({code}; one gateway process; probe over SSE)", flush=True)

        async def log_time() -> tuple[float, int, str]:
            started, count = time.time(), probe.mark()
            entry = await writer.create_time_entry(
                engagement_id=project.id, task_id="1", spent_date=OCTOBER, hours=2.0, user_id=assignee.user_id
            )
            return started, count, entry.id

        pushed, missed = [], 0
        # a client change recomputes every engagement's readiness, reading HubSpot again: two rounds, each
        # change in a fresh HubSpot rate window (190 requests per 10 s), else the recompute is refused
        # (should it be, the change is counted as missed after 30 s, not waited for)
        for _ in range(min(rounds, 2) if company else 0):
            for legal_entity in ("Acme Billing Ltd", ""):
                await asyncio.sleep(10.0)
                started, count = time.time(), probe.mark()
                body = {"type": "update_company", "id": company, "properties": {"legal_entity": legal_entity}}
                await _sim(session, urls["hubspot"], body)
                try:
                    pushed.append(await probe.next_after(started, count, timeout_s=30))
                except TimeoutError:
                    missed += 1
        if pushed or missed:
            summary = _summary(pushed) if pushed else "no event"
            print(f"  change -> event by webhook (HubSpot v3):           {summary}; {missed} missed")
        else:
            print("  change -> event by webhook: no engagement blocked by the legal entity alone")

        polled = []
        for _ in range(rounds):
            started, count, entry_id = await log_time()
            polled.append(await probe.next_after(started, count))
            started, count = time.time(), probe.mark()
            await _sim(session, urls["harvest"], {"type": "approve_time_entries", "ids": [int(entry_id)]})
            polled.append(await probe.next_after(started, count))
        print(f"  change -> event by polling (Harvest, every {interval_s:g} s): {_summary(polled)}")

        before = rss_mb(gateway_pid)
        load = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.subscribers",
            gql,
            str(sse),
            str(ws),
            json.dumps({"ids": [engagement_id]}),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert load.stdout is not None
        opened = time.time()
        line = (await load.stdout.readline()).decode().split()
        held, failed = (int(line[1]), int(line[3])) if line[:1] == ["ready"] else (0, sse + ws)
        await asyncio.sleep(3.0)
        after = rss_mb(gateway_pid)
        per_kb = (after - before) * 1024 / max(held, 1)
        took = time.time() - opened - 3
        print(f"  subscribers held: {held} of {sse} SSE + {ws} WebSocket ({failed} refused)")
        print(f"  opened in {took:.1f} s")
        print(f"  gateway RSS {before:.0f} -> {after:.0f} MB: {per_kb:.1f} KB per subscriber")
        started, count, _ = await log_time()
        await probe.next_after(started, count)
        await asyncio.sleep(5.0)
        report, _ = await load.communicate(b"report\n")
        arrivals = json.loads(report.decode().strip().splitlines()[-1]).get("0", [])
        if arrivals:
            spread = sorted(t - started for t in arrivals)
            first, mid, last = (spread[0] * 1000, statistics.median(spread) * 1000, spread[-1] * 1000)
            print(f"  fan-out of one event to {len(arrivals)} subscribers, after the change (polled):")
            print(f"    first {first:.0f} ms, p50 {mid:.0f} ms, last {last:.0f} ms")
            print(f"    fan-out, first to last arrival: {last - first:.0f} ms")
        else:
            print("  fan-out: no subscriber received the event")
        listening.cancel()
    await harvest.close()


def events(sse: int = 1000, ws: int = 1000, rounds: int = 5, interval_s: float = 1.0) -> None:
    processes, urls = start_simulators("small", stack="hubspot")
    try:
        env = gateway_env(urls, DEFAULT_AS_OF.isoformat(), cache_enabled=True)
        env.update(
            {
                "OPSGRAPH_EVENTS__POLL": "true",
                "OPSGRAPH_EVENTS__INTERVAL_S": str(interval_s),
                "OPSGRAPH_EVENTS__INTERVALS": json.dumps({"hubspot": 3600}),  # its changes come by webhook
            }
        )
        gateway, gql = start_gateway(env)
        processes.append(gateway)
        asyncio.run(measure(urls, gql, gateway.pid, sse, ws, rounds, interval_s))
    finally:
        stop_all(processes)
