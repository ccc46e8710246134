"""Change events on the global stack (issue 14): a CRM change is traced to its engagement in the PSA
owning the engagement's region, so an opportunity changed for a North American engagement reads Harvest
and never Kantata, and one for an EMEA engagement the reverse (the cache off: every read is counted at
the simulators)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from events_support import events_gateway

from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World

SF, HARVEST, KANTATA = "salesforce", "harvest", "kantata"


@pytest.fixture(scope="module")
def group(world: World) -> Iterator[SimulatorGroup]:
    with SimulatorThread(world, stack="global") as running:
        yield running


@pytest.mark.parametrize(
    ("region", "owner", "other"), [("AMER", HARVEST, KANTATA), ("EMEA", KANTATA, HARVEST)]
)
async def test_a_changed_opportunity_reads_only_the_psa_owning_its_engagement(
    group: SimulatorGroup, world: World, region: str, owner: str, other: str
) -> None:
    engagement = next(e for e in world.engagements if e.client.region == region and e.is_active)
    async with events_gateway(group, world, changes=(SF,), cache={"enabled": False}) as gw:
        await gw.events.poll_once()  # the marks and the readiness baseline (every system)
        for system in (HARVEST, KANTATA):
            await gw.sim(system, "DELETE", "stats")

        await gw.sim(SF, "POST", "events", {"type": "close_opportunity_won", "id": engagement.opportunity_id})
        changed = await gw.events.poll_once([SF])

        assert changed.changes == 1
        assert sum((await gw.sim_counts(owner)).values()) > 0  # the engagement and its readiness
        assert await gw.sim_counts(other) == {}
