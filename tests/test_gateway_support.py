"""Helpers for the gateway tests (no tests here): the real app under uvicorn on a free loopback port,
with settings declaring one `[systems.<name>]` table per running simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette

from opsgraph.gateway.app import create_app
from opsgraph.gateway.settings import Settings, demo_settings
from simulators.simkit.serve import SimulatorGroup, bind
from simulators.world import World

CLASSIC: tuple[str, ...] = ("salesforce", "harvest", "bamboohr", "netsuite")
"""The classic stack's systems, named after their vendors (CRM, PSA, HR, ERP): the simulators' keys."""
SF, HV, HR, NS = CLASSIC


def system_tables(simulators: SimulatorGroup) -> dict[str, dict[str, Any]]:
    """One `[systems.<name>]` table per running simulator (vendor, base URL, credentials, and role
    and scope where the group split a role by region)."""
    return simulators.system_settings()


TEST_ANONYMOUS_ROLE = "executive"
"""The role of a test's request without credentials, unless the test configures `auth`: one that
reads every field the shipped policy protects (cost rates, HR details). Tests about authorization
send the demo keys (`auth/demo.py`) or configure `auth` themselves; mutations need their roles' keys."""


def settings_for(simulators: SimulatorGroup, world: World, **overrides: Any) -> Settings:
    """Settings over the running simulators, "today" pinned to the world's as-of date; no background
    change polling unless `events={"poll": True}` asks for it (tests drive polls with `poll_once()`);
    anonymous requests as `TEST_ANONYMOUS_ROLE` unless `auth` is given."""
    overrides.setdefault("events", {"poll": False})
    overrides.setdefault("auth", {"anonymous_role": TEST_ANONYMOUS_ROLE})
    return demo_settings(system_tables(simulators), today=world.as_of, **overrides)


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """`app` served by uvicorn in this event loop (lifespan on); yields its base URL."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_keep_alive=Settings.model_fields["keep_alive_s"].default,  # as `opsgraph serve`
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the gateway stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def running_gateway(settings: Settings) -> AsyncIterator[str]:
    """The gateway app for `settings`, served as `serving` does."""
    async with serving(create_app(settings)) as url:
        yield url
