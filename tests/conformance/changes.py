"""How to change one record of each polled entity in a vendor's simulator, as a user of the vendor would.

Where the simulator has an admin event for it (`POST /_sim/events`) that is used; where it has none, the
change is made through the vendor's own write API, sent with the `request` of a second client of the
vendor (the user's session, apart from the client under test). Each change answers the changed
record's id in that system.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from opsgraph.connectors.intacct.xmlwire import element
from opsgraph.roles import Entity
from simulators import world as w
from simulators.world.psa_ids import kantata_participation_id, kantata_time_entry_id, kantata_workspace_id

from .serving import Admin

Change = Callable[[w.World, Admin, Any], Awaitable[str]]


def _open_opportunity(world: w.World) -> w.Opportunity:
    return next(o for o in world.opportunities if not o.is_closed)


async def _salesforce_client(world: w.World, admin: Admin, writer: Any) -> str:
    c = world.clients[3]
    await admin.event(type="update_account", id=c.sf_id, fields={"Name": f"{c.name} Renamed"})
    return c.sf_id


async def _salesforce_opportunity(world: w.World, admin: Admin, writer: Any) -> str:
    o = _open_opportunity(world)
    await admin.event(type="close_opportunity_won", id=o.sf_id)
    return o.sf_id


async def _hubspot_client(world: w.World, admin: Admin, writer: Any) -> str:
    """Needs the simulator's `update_company` event (not there yet: the admin call fails naming it)."""
    c = world.clients[3]
    await admin.event(type="update_company", id=c.hubspot_id, properties={"name": f"{c.name} Renamed"})
    return c.hubspot_id


async def _hubspot_opportunity(world: w.World, admin: Admin, writer: Any) -> str:
    did = _open_opportunity(world).hubspot_id
    await admin.event(type="set_deal_stage", id=did, stage="closedwon")
    return did


async def _harvest_engagement(world: w.World, admin: Admin, writer: Any) -> str:
    e = world.engagements[5]
    await admin.event(type="update_project", id=e.harvest_project_id, fields={"notes": "Re-scoped"})
    return str(e.harvest_project_id)


async def _harvest_assignment(world: w.World, admin: Admin, writer: Any) -> str:
    a = next(a for a in world.assignments if a.engagement is world.engagements[5])
    await admin.event(type="update_user_assignment", id=a.id, fields={"budget": a.budget_hours + 8})
    return str(a.id)


async def _harvest_time_entry(world: w.World, admin: Admin, writer: Any) -> str:
    t = next(t for t in reversed(world.time_entries) if not t.is_closed)
    await admin.event(type="approve_time_entries", ids=[t.id])
    return str(t.id)


async def _kantata_engagement(world: w.World, admin: Admin, writer: Any) -> str:
    workspace = kantata_workspace_id(world.engagements[5])
    await admin.event(type="update_workspace", id=workspace, fields={"description": "Re-scoped"})
    return workspace


async def _kantata_assignment(world: w.World, admin: Admin, writer: Any) -> str:
    a = next(a for a in world.assignments if a.engagement is world.engagements[5])
    participation = kantata_participation_id(a)
    await admin.event(
        type="update_participation",
        id=participation,
        fields={"estimated_minutes": int(a.budget_hours * 60) + 480},
    )
    return participation


async def _kantata_time_entry(world: w.World, admin: Admin, writer: Any) -> str:
    entry = kantata_time_entry_id(next(t for t in reversed(world.time_entries) if not t.is_closed))
    await admin.event(type="approve_time_entries", ids=[entry])
    return entry


async def _bamboohr_resource(world: w.World, admin: Admin, writer: Any) -> str:
    p = next(p for p in world.people if p.bamboo_id is not None and p.billable)
    await admin.event(type="change_employee", id=p.bamboo_id, fields={"jobTitle": "Principal"})
    assert p.bamboo_id is not None
    return p.bamboo_id


async def _workday_resource(world: w.World, admin: Admin, writer: Any) -> str:
    p = next(p for p in world.people if p.bamboo_id is not None and p.billable)
    assert p.bamboo_id is not None
    await admin.event(type="change_worker", id=p.bamboo_id, fields={"title": "Principal"})
    return p.bamboo_id


async def _netsuite_patch(writer: Any, record_type: str, record_id: str, body: dict[str, Any]) -> str:
    await writer.request("PATCH", f"record/v1/{record_type}/{record_id}", json=body, ok=(200, 204))
    return record_id


async def _netsuite_customer(world: w.World, admin: Admin, writer: Any) -> str:
    c = world.clients[3]
    return await _netsuite_patch(writer, "customer", c.ns_customer_id, {"companyName": f"{c.name} Renamed"})


async def _netsuite_job(world: w.World, admin: Admin, writer: Any) -> str:
    e = next(e for e in world.engagements if e.ns_job_id is not None)
    assert e.ns_job_id is not None
    return await _netsuite_patch(writer, "job", e.ns_job_id, {"custentity_practice": "Operations"})


async def _netsuite_invoice(world: w.World, admin: Admin, writer: Any) -> str:
    i = next(i for i in world.invoices if i.amount_due > 0)
    await admin.event(type="pay_invoice", id=i.ns_id)
    return i.ns_id


async def _netsuite_time_posting(world: w.World, admin: Admin, writer: Any) -> str:
    open_periods = [p for p in world.periods if not p.closed]
    t = next(
        t
        for t in reversed(world.time_entries)
        if t.ns_timebill_id is not None and any(p.start <= t.spent_date <= p.end for p in open_periods)
    )
    assert t.ns_timebill_id is not None
    return await _netsuite_patch(writer, "timeBill", t.ns_timebill_id, {"memo": "Corrected"})


async def _intacct_update(writer: Any, obj: str, record_no: str, fields: dict[str, str]) -> str:
    """An `<update>` through the gateway, as the company's user would make it in Intacct."""
    body = element("update", {obj: {"RECORDNO": record_no, **fields}})
    writer.succeeded((await writer.call([body], write_key=f"conformance-{uuid.uuid4()}"))[0])
    return record_no


async def _intacct_customer(world: w.World, admin: Admin, writer: Any) -> str:
    c = world.clients[3]
    return await _intacct_update(writer, "CUSTOMER", c.ns_customer_id, {"NAME": f"{c.name} Renamed"})


async def _intacct_job(world: w.World, admin: Admin, writer: Any) -> str:
    e = next(e for e in world.engagements if e.ns_job_id is not None)
    assert e.ns_job_id is not None
    return await _intacct_update(writer, "PROJECT", e.ns_job_id, {"PRACTICE": "Operations"})


async def _intacct_time_posting(world: w.World, admin: Admin, writer: Any) -> str:
    t = next(t for t in reversed(world.time_entries) if t.ns_timebill_id is not None)
    assert t.ns_timebill_id is not None
    return await _intacct_update(writer, "TIMESHEETENTRY", t.ns_timebill_id, {"DESCRIPTION": "Corrected"})


CHANGES: dict[str, dict[Entity, Change]] = {
    "salesforce": {Entity.CLIENT: _salesforce_client, Entity.OPPORTUNITY: _salesforce_opportunity},
    "hubspot": {Entity.CLIENT: _hubspot_client, Entity.OPPORTUNITY: _hubspot_opportunity},
    "harvest": {
        Entity.ENGAGEMENT: _harvest_engagement,
        Entity.ASSIGNMENT: _harvest_assignment,
        Entity.TIME_ENTRY: _harvest_time_entry,
    },
    "kantata": {
        Entity.ENGAGEMENT: _kantata_engagement,
        Entity.ASSIGNMENT: _kantata_assignment,
        Entity.TIME_ENTRY: _kantata_time_entry,
    },
    "bamboohr": {Entity.RESOURCE: _bamboohr_resource},
    "workday": {Entity.RESOURCE: _workday_resource},
    "netsuite": {
        Entity.CUSTOMER: _netsuite_customer,
        Entity.JOB: _netsuite_job,
        Entity.INVOICE: _netsuite_invoice,
        Entity.TIME_POSTING: _netsuite_time_posting,
    },
    "intacct": {
        Entity.CUSTOMER: _intacct_customer,
        Entity.JOB: _intacct_job,
        Entity.INVOICE: _netsuite_invoice,  # the same admin event: `pay_invoice`
        Entity.TIME_POSTING: _intacct_time_posting,
    },
}


def change_for(vendor: str, entity: Entity) -> Change:
    if entity not in CHANGES.get(vendor, {}):
        pytest.fail(f"no way to change a {entity} in the {vendor} simulator (tests/conformance/changes.py)")
    return CHANGES[vendor][entity]
