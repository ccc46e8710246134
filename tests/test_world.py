"""The shared world: deterministic by seed, and carrying every seeded drift case."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from simulators.world import (
    PROFILES,
    REGIONS,
    World,
    build_world,
    crm_client_id,
    crm_opportunity_id,
    for_regions,
    salesforce_id,
    with_crm,
)


def _fingerprint(world: World) -> list[tuple[object, ...]]:
    return [
        *(dataclasses.astuple(c) for c in world.clients),
        *((o.sf_id, o.stage, o.amount, o.engagement_code) for o in world.opportunities),
        *(
            (e.id, e.spent_date, e.hours, e.is_closed, e.harvest_invoice_id, e.ns_timebill_id)
            for e in world.time_entries
        ),
        *((i.ns_id, i.total, i.amount_paid, i.due_date) for i in world.invoices),
    ]


def test_same_seed_same_world(world: World) -> None:
    again = build_world(seed=7, profile="small")
    assert _fingerprint(again) == _fingerprint(world)
    assert again.drift == world.drift


def test_other_seed_other_world(world: World) -> None:
    other = build_world(seed=8, profile="small")
    assert _fingerprint(other) != _fingerprint(world)


def test_small_profile_sizes(world: World) -> None:
    counts = world.counts()
    for key, value in PROFILES["small"].items():
        assert counts[key] == value
    assert counts["time_entries"] > 20_000  # 12 months of daily time
    days = {e.spent_date for e in world.time_entries}
    assert (max(days) - min(days)).days > 330


def test_realism(world: World) -> None:
    assert Counter(e.billing_model for e in world.engagements).keys() == {
        "TIME_AND_MATERIALS",
        "FIXED_FEE",
        "CAPPED",
    }
    stages = Counter(o.stage for o in world.opportunities)
    assert stages["Closed Won"] > 100 and stages["Closed Lost"] > 0
    assert any(not o.is_closed for o in world.opportunities)
    states = Counter((e.is_closed, e.is_billed) for e in world.time_entries)
    assert states[(False, False)] > 0 and states[(True, False)] > 0 and states[(True, True)] > 0
    overdue = [i for i in world.invoices if i.amount_due > 0 and i.due_date < world.as_of]
    assert overdue, "some invoices are overdue"
    assert any(p.closed for p in world.periods) and any(not p.closed for p in world.periods)
    assert world.time_off and all(t.end >= t.start for t in world.time_off)
    # Every billed entry points at an invoice that exists.
    invoice_ids = {i.harvest_invoice_id for i in world.invoices}
    assert {e.harvest_invoice_id for e in world.time_entries if e.is_billed} <= invoice_ids


def test_join_keys_line_up(world: World) -> None:
    codes = {e.code for e in world.engagements}
    assert codes == {o.engagement_code for o in world.opportunities if o.engagement_code}
    by_opp = {o.sf_id: o for o in world.opportunities}
    for e in world.engagements:
        assert by_opp[e.opportunity_id].engagement_code == e.code
        assert by_opp[e.opportunity_id].account_id == e.client.sf_id


def test_drift_cases_present(world: World) -> None:
    d = world.drift
    unposted = [e for e in world.time_entries if e.id in set(d.unposted_entry_ids)]
    assert unposted and all(e.is_closed and not e.is_billed and e.ns_timebill_id is None for e in unposted)
    missing = next(e for e in world.engagements if e.code == d.engagement_missing_in_erp)
    assert missing.ns_job_id is None and missing.is_active
    inactive = next(e for e in world.engagements if e.code == d.engagement_inactive_in_erp)
    assert inactive.erp_inactive and inactive.is_active
    client = next(c for c in world.clients if c.sf_id == d.client_without_legal_entity)
    assert client.legal_entity is None
    assert sum(c.legal_entity is None for c in world.clients) == 1
    ghost = next(p for p in world.people if p.harvest_user_id == d.person_missing_in_hr)
    assert ghost.bamboo_id is None
    assert any(e.person is ghost for e in world.time_entries), "the ghost books time in the PSA"
    gap = next(a for a in world.assignments if a.id == d.assignment_without_rate)
    assert gap.hourly_rate is None
    capped = next(e for e in world.engagements if e.code == d.capped_over_budget)
    delivered = sum(
        float(e.billable_rate or 0) * e.hours for e in world.time_entries if e.engagement is capped
    )
    assert capped.billing_model == "CAPPED" and delivered > float(capped.contract_value)


def test_salesforce_ids_are_18_chars_with_type_prefix() -> None:
    sid = salesforce_id("001", 12345)
    assert len(sid) == 18 and sid.startswith("001")
    assert salesforce_id("006", 1) != salesforce_id("006", 2)


def test_hubspot_ids_are_distinct_and_deterministic(world: World) -> None:
    companies = [c.hubspot_id for c in world.clients]
    deals = [o.hubspot_id for o in world.opportunities]
    assert len(set(companies)) == len(companies) and len(set(deals)) == len(deals)
    assert companies[0] == "9000001000" and deals[0] == "8000005000"
    assert [c.hubspot_id for c in build_world(seed=8, profile="small").clients] == companies


def test_with_crm_is_a_view_of_the_same_records(world: World) -> None:
    on_hubspot = with_crm(world, "hubspot")
    assert on_hubspot.crm == "hubspot" and world.crm == "salesforce"
    assert on_hubspot.clients is world.clients and on_hubspot.time_entries is world.time_entries
    client, engagement = world.clients[0], world.engagements[0]
    assert crm_client_id(on_hubspot, client) == client.hubspot_id
    assert crm_client_id(world, client) == client.sf_id
    assert crm_opportunity_id(on_hubspot, engagement) == engagement.hubspot_deal_id
    assert crm_opportunity_id(world, engagement) == engagement.opportunity_id
    with pytest.raises(ValueError, match="unknown CRM 'pipedrive'"):
        with_crm(world, "pipedrive")


def test_region_slices_partition_the_delivery_side(world: World) -> None:
    slices = {region: for_regions(world, {region}) for region in REGIONS}
    for region, part in slices.items():
        assert part.clients and {c.region for c in part.clients} == {region}
        assert {e.client.region for e in part.engagements} == {region}
        assert {t.engagement.client.region for t in part.time_entries} == {region}
        assert {i.client.region for i in part.invoices} == {region}
        assert {a.engagement.client.region for a in part.assignments} == {region}
        assert {o.account_id for o in part.opportunities} <= {c.sf_id for c in part.clients}
        assert part.people is world.people and part.periods is world.periods
    for name in ("clients", "opportunities", "engagements", "assignments", "time_entries", "invoices"):
        sizes = [len(getattr(part, name)) for part in slices.values()]
        assert sum(sizes) == len(getattr(world, name)), name
    both = for_regions(world, ["EMEA", "APAC"])
    assert len(both.time_entries) == len(slices["EMEA"].time_entries) + len(slices["APAC"].time_entries)
    with pytest.raises(ValueError, match="regions must be a non-empty set"):
        for_regions(world, ["Mars"])
