"""Row rules hold for subscriptions: a subscriber whose key is scoped to a region receives readiness
events only for the engagements of that region's clients. ENG-0023's client is in APAC, ENG-0027's in
AMER (the small world, seed 7); time logged on both in October changes both readinesses."""

from __future__ import annotations

from datetime import date

from events_support import events_gateway, subscribed
from test_gateway_support import HV

from opsgraph.auth.api_keys import hash_api_key
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

APAC_ENGAGEMENT, AMER_ENGAGEMENT = "ENG-0023", "ENG-0027"
APAC_KEY = "og_test-apac-viewer-0123456789abcdefghijklm"
AMER_KEY = "og_test-amer-viewer-0123456789abcdefghijklm"
OCTOBER = date(2026, 10, 16)
ALL_KEY = "og_test-every-region-0123456789abcdefghijkl"


def _keys() -> dict[str, dict[str, object]]:
    return {
        "apac": {"hash": hash_api_key(APAC_KEY), "roles": ["viewer"], "scopes": ["apac"]},
        "amer": {"hash": hash_api_key(AMER_KEY), "roles": ["viewer"], "scopes": ["AMER"]},
        "all": {"hash": hash_api_key(ALL_KEY), "roles": ["viewer"]},
    }


async def test_a_scoped_subscriber_receives_only_its_regions_events(
    simulators: SimulatorGroup, world: World
) -> None:
    regions = {e.code: e.client.region for e in world.engagements}
    assert (regions[APAC_ENGAGEMENT], regions[AMER_ENGAGEMENT]) == ("APAC", "AMER")
    auth = {"api_keys": _keys(), "anonymous_role": "viewer"}
    async with events_gateway(simulators, world, changes=(HV,), auth=auth) as gw:
        await gw.events.poll_once()  # the marks and the baseline
        async with (
            subscribed(gw, {}, init_payload={"X-API-Key": APAC_KEY}) as apac,
            subscribed(gw, {}, init_payload={"X-API-Key": AMER_KEY}) as amer,
            subscribed(gw, {}, init_payload={"X-API-Key": ALL_KEY}) as everyone,
        ):
            logged = [
                await gw.log_time(APAC_ENGAGEMENT, OCTOBER, 6.0),
                await gw.log_time(AMER_ENGAGEMENT, OCTOBER, 5.0),
            ]
            polled = await gw.events.poll_once()
            assert sorted(e.code for e in polled.events) == [APAC_ENGAGEMENT, AMER_ENGAGEMENT]

            both = await everyone.next_count(2)
            assert sorted(e["readiness"]["engagement"]["code"] for e in both) == [
                APAC_ENGAGEMENT,
                AMER_ENGAGEMENT,
            ]
            # the unscoped subscriber has both, so each scoped one has had its chance at both
            assert [e["readiness"]["engagement"]["code"] for e in await apac.next_count(1)] == [
                APAC_ENGAGEMENT
            ]
            assert [e["readiness"]["engagement"]["code"] for e in await amer.next_count(1)] == [
                AMER_ENGAGEMENT
            ]
            # approving the time makes both ready again: one more event each, and nothing else queued
            assert await gw.approve(ids=[int(entry.id) for entry in logged]) == 2
            approved = await gw.events.poll_once()
            assert sorted(e.code for e in approved.events) == [APAC_ENGAGEMENT, AMER_ENGAGEMENT]
            assert len(await everyone.next_count(4)) == 4
            assert {e["readiness"]["engagement"]["code"] for e in await apac.next_count(2)} == {
                APAC_ENGAGEMENT
            }
            assert {e["readiness"]["engagement"]["code"] for e in await amer.next_count(2)} == {
                AMER_ENGAGEMENT
            }
            assert len(apac.received) == 2 and len(amer.received) == 2
