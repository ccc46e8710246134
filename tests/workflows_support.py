"""Fixtures of the workflow tests: a store on SQLite or on a PostgreSQL database of its own, the
gateway's systems over the shared `simulators` (`systems`) or over the module's own (`sources`), the
engine launched on them, and the ERP simulator's admin routes."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from workflows_sim import ERP, PSA, SimAdmin, erp_client, settings_for, sources_for

from opsgraph.model import SourceRef
from opsgraph.resolvers.sources import Sources
from opsgraph.workflows import WorkflowEngine
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES = os.environ.get("OPSGRAPH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _postgres_database() -> Iterator[str]:
    """A database of its own on the local PostgreSQL, dropped afterwards; skipped when there is no
    server (failed under CI=true)."""
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"opsgraph_wf_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        # As a deployment sets it: no driver named (DBOS and the store both use psycopg 3).
        yield admin.url.set(database=name, drivername="postgresql").render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One database for the test run (DBOS migrates a new one in seconds); tests use their own keys."""
    yield from _postgres_database()


@pytest.fixture(params=["sqlite", "postgres"])
def own_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store no other test shares (queue limits are the store's: the test sets its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'workflows.sqlite'}"
    else:
        yield from _postgres_database()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'workflows.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="module")
def own_simulators(world: World) -> Iterator[SimulatorGroup]:
    """Simulators of the module's own: what its workflows write never reaches another module's reads."""
    with SimulatorThread(world) as group:
        yield group


@pytest.fixture
async def sources(own_simulators: SimulatorGroup) -> AsyncIterator[Sources]:
    """The gateway's systems over `own_simulators`."""
    found = sources_for(own_simulators.urls())
    yield found
    await found.close()


@pytest.fixture
async def systems(simulators: SimulatorGroup) -> AsyncIterator[Sources]:
    found = sources_for(simulators.urls())
    yield found
    await found.close()


@pytest.fixture
async def erp_sim(simulators: SimulatorGroup, systems: Sources) -> AsyncIterator[SimAdmin]:
    """The ERP simulator with no faults and zero counts; afterwards the bills the test wrote are
    deleted again (a reset rebuilds the whole store: seconds)."""
    admin = SimAdmin(simulators.running[ERP].url)
    await admin.clear_faults()
    await admin.clear_counts()
    yield admin
    await admin.clear_faults()
    written = {w["key"].removeprefix("eid:") for w in await admin.writes("PUT")}
    psa = systems.system(PSA)
    refs = [SourceRef(system=psa.name, role=psa.role, vendor=psa.vendor, id=i) for i in sorted(written)]
    await erp_client(systems).delete_time_postings(refs, idempotency_key="test-cleanup")
    await admin.clear_counts()


@pytest.fixture
async def engine(database_url: str, systems: Sources, erp_sim: SimAdmin) -> AsyncIterator[WorkflowEngine]:
    async with WorkflowEngine(settings_for(database_url), systems).running() as running:
        yield running
