"""Shared fixtures: the simulators over real sockets and a private Redis server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_process import RedisProcess, RedisUnavailable

from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World, build_world

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# No background change polling in tests (it would add upstream calls to what they count): a test that
# wants the loops passes `events={"poll": True}`; the others drive polls with `events.poll_once()`.
os.environ.setdefault("OPSGRAPH_EVENTS__POLL", "false")


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


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"Redis is required under CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private `redis-server` on a free port; yields its URL. Skips if none can start, fails under CI."""
    try:
        server = RedisProcess(tmp_path_factory.mktemp("redis"))
        server.start()
    except RedisUnavailable as exc:
        _unavailable(str(exc))
        return
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def own_redis(redis_server: str, tmp_path: Path) -> Iterator[RedisProcess]:
    """A second, persistent redis-server for one test, which may stop and restart it."""
    server = RedisProcess(tmp_path, persistent=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()
