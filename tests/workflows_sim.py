"""Helpers of the workflow tests: a simulator's `/_sim/` admin routes, the engine's test settings, and
the gateway's `Sources` over the classic stack's simulators (systems named after their vendors)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, cast

import httpx

from opsgraph.clock import Clock
from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.netsuite.client import NetSuiteClient
from opsgraph.gateway.settings import demo_settings
from opsgraph.resolvers.sources import Sources
from opsgraph.workflows import WorkflowSettings
from simulators.simkit.serve import SimulatorGroup

ERP, PSA = "netsuite", "harvest"
"""The classic stack's ERP and PSA systems (named after their vendors, as the simulators are)."""

TEST_TUNING = {"max_retries": 0, "retry_backoff_s": 0.01, "breaker_failure_threshold": 1000}
"""No retries (a fault is seen once) and no breaker opening: the tests count every write."""


def system_tables(urls: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The `[systems.<name>]` tables of the classic simulators at `urls` (system name -> host URL)."""
    from simulators.simkit.serve import simulator_info

    tables = {}
    for name, url in urls.items():
        info = simulator_info(name)
        tables[name] = {
            "vendor": info.vendor,
            "base_url": info.connector_base_url(url),
            "credentials": dict(info.credentials),
            **TEST_TUNING,
        }
    return tables


def sources_for(urls: Mapping[str, str], clock: Clock | None = None) -> Sources:
    """The gateway's systems over the simulators at `urls`, built as the gateway builds them."""
    return Sources.from_specs(demo_settings(system_tables(urls)).system_specs(), clock=clock)


def erp_client(systems: Sources) -> NetSuiteClient:
    return cast(NetSuiteClient, systems.system(ERP).client)


def psa_client(systems: Sources) -> HarvestClient:
    return cast(HarvestClient, systems.system(PSA).client)


class SimAdmin:
    """One simulator's `/_sim/` routes."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.request(method, path, json=body)
            response.raise_for_status()
            return response.json()

    async def clear_stats(self) -> None:
        await self._call("DELETE", "/_sim/stats")

    async def clear_counts(self) -> None:
        """The ERP's request counts and its time bill write log."""
        await self.clear_stats()
        await self._call("DELETE", "/_sim/writes")

    async def reset(self) -> None:
        """Rebuild the vendor's state from the world (undoes every write)."""
        await self._call("POST", "/_sim/reset")

    async def faults(self, **faults: Any) -> None:
        await self._call("PUT", "/_sim/faults", faults)

    async def clear_faults(self) -> None:
        await self.faults(error_rate=0.0, outage=False, latency_ms=0.0, methods=None, after=0)

    async def route_count(self, route: str) -> int:
        """Requests the simulator answered on `route` (`PUT /services/rest/record/v1/timeBill/{rid}`)."""
        stats = await self._call("GET", "/_sim/stats")
        return int(stats["routes"].get(route, {}).get("count", 0))

    async def writes(self, method: str | None = None) -> list[dict[str, Any]]:
        """Time bill writes the ERP accepted (204), oldest first."""
        log = (await self._call("GET", "/_sim/writes"))["writes"]
        return [w for w in log if method is None or w["method"] == method]


class Admins:
    """The `/_sim/` routes of a group's simulators, by system name."""

    def __init__(self, group: SimulatorGroup) -> None:
        self.by_system = {name: SimAdmin(sim.url) for name, sim in group.running.items()}

    async def reset(self) -> None:
        """No faults and zero counts at every simulator."""
        for admin in self.by_system.values():
            await admin.clear_faults()
            await admin.clear_stats()

    async def writes(self, system: str, routes: tuple[str, ...]) -> int:
        """Requests `system`'s simulator answered on `routes`."""
        admin = self.by_system[system]
        return sum([await admin.route_count(r) for r in routes])

    async def writes_by_system(self, routes: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
        """Requests each system's simulator answered on its `routes` (system -> routes)."""
        return {system: await self.writes(system, names) for system, names in routes.items()}


TIMEBILL_PUT = "PUT /services/rest/record/v1/timeBill/{rid}"
TIMEBILL_DELETE = "DELETE /services/rest/record/v1/timeBill/{rid}"


def settings_for(database_url: str, **overrides: Any) -> WorkflowSettings:
    return WorkflowSettings(database_url=database_url, poll_interval_s=0.02, wait_s=60, **overrides)


TESTS = Path(__file__).parent


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 60.0) -> None:
    """Return once `check()` holds; fail after `timeout_s` (a condition, not a fixed wait)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.05)


async def start_worker(
    database_url: str, urls: Mapping[str, str], key: str, *args: str
) -> tuple[asyncio.subprocess.Process, str]:
    """`workflows_worker.py` in a process of its own, starting a workflow with idempotency `key` (`args`:
    its data and kind, see that script); the process, and the id of the workflow it started."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable, str(TESTS / "workflows_worker.py"), database_url, json.dumps(dict(urls)), key, *args,
        cwd=TESTS, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(TESTS)},
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        line = (await asyncio.wait_for(worker.stdout.readline(), 60)).decode().split()
        assert line[:1] == ["started"], line
    except BaseException:
        worker.kill()
        await worker.wait()
        raise
    return worker, line[1]


async def kill_when(worker: asyncio.subprocess.Process, check: Callable[[], Awaitable[bool]]) -> None:
    """SIGKILL `worker` once `check()` holds (a crash at that point); reaped whatever happens."""
    try:
        await until(check)
        worker.send_signal(signal.SIGKILL)
        assert await worker.wait() == -signal.SIGKILL
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
