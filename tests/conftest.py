"""Shared fixtures: the simulators over real sockets and a private Redis server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

from opsgraph.sources.simkit.serve import SimulatorGroup, SimulatorThread
from opsgraph.sources.world import World, build_world

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def world() -> World:
    return build_world(seed=7, profile="small")


@pytest.fixture(scope="session")
def simulators(world: World) -> Iterator[SimulatorGroup]:
    """All four simulators on free loopback ports, in a thread of their own, for the whole session.

    Tests that change state or faults must reset what they touched (see `fresh_simulators`).
    """
    with SimulatorThread(world) as group:
        yield group


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"Redis is required under CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private `redis-server` on a free port; yields its URL. Skips if none can start, fails under CI."""
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("redis-server is not on PATH")
        return
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="opsgraph-redis-")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--protected-mode",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        _unavailable("redis-server did not answer PING within 10 s")
        return
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
