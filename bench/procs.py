"""The bench's child processes: one per simulator of a stack, the gateways; each its own interpreter."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp

from simulators.simkit.serve import simulator_info
from simulators.simkit.stacks import DEFAULT_STACK, SystemSpec, stack_systems

__all__ = ["Process", "free_port", "gateway_env", "rss_mb", "start_gateway", "start_simulators", "stop_all"]


class Process:
    """A child process running `python -m MODULE ARGS`, its output read line by line."""

    def __init__(self, module: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for(self, pattern: str, count: int = 1, timeout_s: float = 120) -> list[re.Match[str]]:
        """Read the child's output until `pattern` matched `count` lines."""
        found: list[re.Match[str]] = []
        deadline = time.monotonic() + timeout_s
        assert self.proc.stdout is not None
        while len(found) < count and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.proc.args!r} exited with {self.proc.wait()}")
            if match := re.search(pattern, line):
                found.append(match)
        if len(found) < count:
            raise RuntimeError(f"{self.proc.args!r}: no {pattern!r} within {timeout_s}s")
        self.drain()
        return found

    def drain(self) -> None:
        """Keep reading the child's output in the background so a full pipe never blocks it."""
        stream = self.proc.stdout
        if stream is not None:
            threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()

    def stop(self, grace_s: float = 15) -> None:
        """SIGINT, then SIGKILL if it has not exited within `grace_s` (a blocked event loop never will)."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def stop_all(processes: list[Process]) -> None:
    for process in processes:
        process.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of a process now (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def start_simulators(
    profile: str, seed: int = 7, stack: str = DEFAULT_STACK
) -> tuple[list[Process], dict[str, str]]:
    """One `bench.simulator` process per system of `stack`, all started at once; returns when each
    listens, with each system's host URL by system name (each system is named after its vendor)."""
    args = ["--profile", profile, "--seed", str(seed), "--stack", stack]
    procs = {s.system: Process("bench.simulator", [s.system, *args]) for s in stack_systems(stack)}
    urls: dict[str, str] = {}
    try:
        for name, process in procs.items():
            (match,) = process.wait_for(rf"^ready {name} (http://\S+)", timeout_s=300)
            urls[name] = match.group(1)
    except BaseException:
        stop_all(list(procs.values()))
        raise
    return list(procs.values()), urls


def gateway_env(
    urls: dict[str, str],
    today: str,
    cache_enabled: bool,
    stack: str = DEFAULT_STACK,
    *,
    response_cache: bool = False,
    redis_url: str | None = None,
) -> dict[str, str]:
    """The gateway's environment: one `OPSGRAPH_SYSTEMS__<NAME>__*` system per simulator in `urls`
    (system name -> host URL, as `start_simulators` runs them), with its role and scope when scoped.
    The whole-response cache is off unless asked for (the warm figures are the read cache's);
    `redis_url`: the cache on Redis."""
    specs: dict[str, SystemSpec] = {s.system: s for s in stack_systems(stack)}
    env = {
        "OPSGRAPH_TODAY": today,
        "OPSGRAPH_CACHE__ENABLED": str(cache_enabled).lower(),
        "OPSGRAPH_RESPONSE_CACHE__ENABLED": str(response_cache).lower(),
        "OPSGRAPH_LOG_LEVEL": "warning",
        "OPSGRAPH_EVENTS__POLL": "false",  # no change polling among the measured upstream calls
        # Load clients send no credentials: they read as the role that sees every field.
        "OPSGRAPH_AUTH__ANONYMOUS_ROLE": "executive",
        # All the load is one caller (one address): the limiter still runs, but never refuses it.
        "OPSGRAPH_RATE_LIMIT__BURST": "1000000",
        "OPSGRAPH_RATE_LIMIT__PER_SECOND": "1000000",
    }
    if redis_url is not None:
        env["OPSGRAPH_REDIS_URL"] = redis_url
    for name, url in urls.items():
        spec = specs.get(name)
        info = simulator_info(spec.vendor if spec is not None else name)
        prefix = f"OPSGRAPH_SYSTEMS__{name.upper()}__"
        env[prefix + "VENDOR"] = info.vendor
        if spec is not None and spec.scope is not None:
            env[prefix + "ROLE"] = spec.role.value
            env[prefix + "SCOPE"] = json.dumps(sorted(spec.scope))
        env[prefix + "BASE_URL"] = info.connector_base_url(url)
        env[prefix + "CREDENTIALS"] = json.dumps(dict(info.credentials))
    return env


def start_gateway(env: dict[str, str], extra_args: list[str] | None = None) -> tuple[Process, str]:
    """`opsgraph serve` on a free port; returns once `/healthz` answers 200."""
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), *(extra_args or [])]
    gateway = Process("opsgraph.cli", args, env)
    gateway.drain()
    try:
        asyncio.run(wait_healthy(f"http://127.0.0.1:{port}/healthz", gateway))
    except BaseException:
        gateway.stop()
        raise
    return gateway, f"http://127.0.0.1:{port}/graphql"


async def wait_healthy(url: str, process: Process, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.proc.poll() is not None:
                raise RuntimeError(f"{process.proc.args!r} exited with {process.proc.returncode}")
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not healthy within {timeout_s}s")
