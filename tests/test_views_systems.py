"""The process layer over several systems of one role: two regional PSAs (Harvest simulators, one per
region) behind the loaders. Listings read every system in declared order; a region reads only the
systems routed for it; by-key reads fan out per system, and one system's outage fails only its keys."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from test_gateway_support import settings_for

from opsgraph.connectors.errors import SourceError
from opsgraph.model import Role, record_key
from opsgraph.resolvers import stitching
from opsgraph.resolvers.loaders import Loaders
from opsgraph.resolvers.sources import Sources
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World, build_world

NA, EMEA, CRM = "psa-na", "psa-emea", "salesforce"
REGIONS = {NA: {"AMER"}, EMEA: {"EMEA", "APAC"}}
JANUARY = (date(2026, 1, 1), date(2026, 1, 31))


@pytest.fixture(scope="module")
def regional_world() -> World:
    return build_world(seed=7, profile="small")


@pytest.fixture(scope="module")
def regional(regional_world: World) -> Iterator[SimulatorGroup]:
    with SimulatorThread(regional_world, psa_regions=REGIONS) as group:
        yield group


@pytest.fixture
async def sources(regional: SimulatorGroup, regional_world: World) -> AsyncIterator[Sources]:
    settings = settings_for(regional, regional_world, cache={"enabled": False})
    # no retries: an outage answers at once (the connector's retries are its own tests' concern)
    specs = [
        dataclasses.replace(s, config=s.config.model_copy(update={"max_retries": 0}))
        for s in settings.system_specs()
    ]
    built = Sources.from_specs(specs)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def admin(regional: SimulatorGroup) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        for url in regional.urls().values():
            (await client.post(f"{url}/_sim/reset")).raise_for_status()
        yield client
        for url in regional.urls().values():
            (await client.post(f"{url}/_sim/reset")).raise_for_status()


async def requests_at(admin: httpx.AsyncClient, group: SimulatorGroup) -> dict[str, int]:
    """Upstream requests each PSA system and the CRM served since the last reset."""
    totals = {}
    for name in (NA, EMEA, CRM):
        stats: dict[str, Any] = (await admin.get(f"{group.urls()[name]}/_sim/stats")).json()
        totals[name] = int(stats["total"])
    return totals


def codes_in(world: World, system: str) -> list[str]:
    return sorted(e.code for e in world.engagements if e.client.region in REGIONS[system])


async def test_a_listing_reads_every_system_in_declared_order(
    sources: Sources, admin: httpx.AsyncClient, regional: SimulatorGroup, regional_world: World
) -> None:
    assert [s.name for s in sources.of_role(Role.PSA)] == [NA, EMEA]
    loaders = Loaders(sources)
    engagements = await loaders.engagements()
    assert [e.system for e in engagements] == sorted(
        (e.system for e in engagements), key=[NA, EMEA].index
    )  # psa-na's first, then psa-emea's
    by_system = {name: sorted(e.code for e in engagements if e.system == name) for name in (NA, EMEA)}
    assert by_system == {NA: codes_in(regional_world, NA), EMEA: codes_in(regional_world, EMEA)}
    once = await requests_at(admin, regional)
    assert await loaders.engagements() == engagements  # memoised for the request
    assert set(await loaders.engagement_by_code()) == {e.code for e in regional_world.engagements}
    assert await requests_at(admin, regional) == once
    assert once == {NA: 1, EMEA: 1, CRM: 0}  # one listing call per system


async def test_a_region_reads_only_the_systems_that_own_it(
    sources: Sources, admin: httpx.AsyncClient, regional: SimulatorGroup, regional_world: World
) -> None:
    loaders = Loaders(sources)
    amer = await loaders.engagements(region="amer")  # regions compare without case
    assert sorted(e.code for e in amer) == codes_in(regional_world, NA)
    asked = await requests_at(admin, regional)
    assert asked == {NA: 1, EMEA: 0, CRM: 0}  # psa-na owns AMER alone: its engagements need no client

    # psa-emea owns EMEA and APAC: its engagements are kept by their client's region (a CRM read)
    emea = await loaders.engagements(region="EMEA")
    assert sorted(e.code for e in emea) == sorted(
        e.code for e in regional_world.engagements if e.client.region == "EMEA"
    )
    entries = await loaders.time_entries_in_range(*JANUARY, region="EMEA")
    expected = {
        str(t.id)
        for t in regional_world.time_entries
        if t.engagement.client.region == "EMEA" and JANUARY[0] <= t.spent_date <= JANUARY[1]
    }
    assert expected and {e.id for e in entries} == expected and {e.system for e in entries} == {EMEA}
    asked = await requests_at(admin, regional)
    assert asked[NA] == 1 and asked[CRM] > 0  # nothing more of psa-na


async def test_keys_fan_out_per_system_and_an_outage_fails_only_its_own_keys(
    sources: Sources, admin: httpx.AsyncClient, regional: SimulatorGroup, regional_world: World
) -> None:
    na = next(t for t in regional_world.time_entries if t.engagement.client.region in REGIONS[NA])
    emea = next(t for t in regional_world.time_entries if t.engagement.client.region in REGIONS[EMEA])
    keys = [record_key(NA, str(na.id)), record_key(EMEA, str(emea.id)), record_key("psa-apac", "1"), "nokey"]
    loaders = Loaders(sources)
    got = await loaders.time_entry.load_many(keys)
    assert [(e.system, e.id) if e else None for e in got] == [
        (NA, str(na.id)),
        (EMEA, str(emea.id)),
        None,
        None,
    ]
    assert got[0] is not None and got[0].engagement_code == na.engagement.code
    asked = await requests_at(admin, regional)
    assert asked == {NA: 1, EMEA: 1, CRM: 0}  # one batch read per system

    (await admin.put(f"{regional.urls()[EMEA]}/_sim/faults", json={"outage": True})).raise_for_status()
    fresh = Loaders(sources)
    ok = await fresh.time_entry.load(keys[0])
    assert ok is not None and ok.id == str(na.id)
    with pytest.raises(SourceError) as failed:
        await fresh.time_entry.load(keys[1])
    assert failed.value.system == EMEA
    with pytest.raises(SourceError) as listed:  # a listing needs every system of the role
        await fresh.engagements()
    assert listed.value.system == EMEA
    assert [e.system for e in await fresh.engagements(region="AMER")] == [NA] * len(
        codes_in(regional_world, NA)
    )


async def test_a_missing_record_is_looked_for_in_the_first_system_of_its_role(sources: Sources) -> None:
    loaders = Loaders(sources)
    engagement = (await loaders.engagements(region="EMEA"))[0]
    issues = stitching.engagement_issues(sources, engagement, None, None)
    assert [(i.code, i.system, i.role, i.field, i.message) for i in issues] == [
        (
            "MISSING_IN_ERP",
            "netsuite",
            Role.ERP,
            "code",
            f"No ERP job has engagement code {engagement.code!r}",
        ),
        (
            "MISSING_IN_CRM",
            "salesforce",
            Role.CRM,
            "code",
            f"No CRM opportunity carries engagement code {engagement.code!r}",
        ),
    ]
    user = (await loaders.psa_users())[0]
    (missing_hr,) = stitching.resource_issues(sources, user, None, user.email)
    assert (missing_hr.system, missing_hr.role, missing_hr.record_id) == ("bamboohr", Role.HR, user.id)
    assert missing_hr.message == f"PSA user {user.email} has no HR record"
