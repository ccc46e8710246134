"""What an XML vendor adds to the ERP suite (Sage Intacct's XML gateway, against its simulator):
a malformed answer, an entity-expansion bomb and an external entity are refused as bad responses
(the system failing: retried, counted, moving the breaker), never expanded; several reads share one
request; a lost session logs in once more; a write with `uniqueid=true` is never done twice."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from opsgraph.connectors.breaker import CircuitState
from opsgraph.connectors.errors import SourceBadResponse
from opsgraph.connectors.intacct.transport import DuplicateControl
from opsgraph.connectors.intacct.xmlwire import element
from simulators.world import World

from .conftest import MakeClient
from .contract import served
from .serving import Admin, SimServer

pytestmark = pytest.mark.parametrize("vendor", ["intacct"])


@pytest.fixture
async def corrupt(admin: Admin) -> AsyncIterator[Admin]:
    yield admin
    await admin.event(type="corrupt_answers", body=None)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("malformed", "response body is not well-formed XML"),
        ("bomb", "refused an XML response with a DTD or entities (DTDForbidden)"),
        ("external_entity", "refused an XML response with a DTD or entities (DTDForbidden)"),
    ],
)
async def test_bad_xml_is_refused_as_a_bad_response(
    body: str, reason: str, make_client: MakeClient, corrupt: Admin, sim: SimServer, conformance_world: World
) -> None:
    client = make_client(breaker_failure_threshold=3)
    await client.probe()
    await corrupt.event(type="corrupt_answers", body=body)
    mark = sim.log.mark()
    with pytest.raises(SourceBadResponse) as failed:
        await client.customers_by_ids([conformance_world.clients[0].ns_customer_id])
    assert failed.value.system == client.system
    assert failed.value.message.startswith(reason), failed.value.message
    assert len(sim.log.since(mark)) == 3, "a bad answer is the system failing: the read is tried three times"
    assert client.breaker.state is CircuitState.OPEN


async def test_batched_reads_share_requests(
    make_client: MakeClient, sim: SimServer, conformance_world: World
) -> None:
    """1200 record numbers: three `IN` lists of 500, in one request of three functions."""
    client = make_client()
    await client.probe()
    ids = [c.ns_customer_id for c in conformance_world.clients] + [str(900_000 + n) for n in range(1200)]
    found, seen = await served(sim, client.customers_by_ids(ids[:1200]))
    assert set(found) == {c.ns_customer_id for c in conformance_world.clients} & set(ids[:1200])
    assert len(seen) == 1 and seen[0].body.count(b"<readByQuery>") == 3


async def test_a_lost_session_logs_in_once_more(
    make_client: MakeClient, admin: Admin, sim: SimServer, conformance_world: World
) -> None:
    client = make_client()
    await client.probe()
    await admin.event(type="expire_sessions")
    found, seen = await served(sim, client.customers_by_ids([conformance_world.clients[0].ns_customer_id]))
    assert len(found) == 1
    assert [s.status for s in seen] == [401, 200, 200], "refused, a new login, the read again"
    assert b"<login>" in seen[1].body and b"<getAPISession" in seen[1].body


async def test_a_repeated_write_is_refused_not_done_twice(
    make_client: MakeClient, sim: SimServer, conformance_world: World
) -> None:
    client = make_client()
    c = conformance_world.clients[5]
    update = element("update", {"CUSTOMER": {"RECORDNO": c.ns_customer_id, "NAME": c.name}})
    first = await client.call([update], write_key="conformance-xml-repeat")
    assert first[0].ok
    assert b"<uniqueid>true</uniqueid>" in sim.log.seen[-1].body
    with pytest.raises(DuplicateControl) as refused:
        await client.call([update], write_key="conformance-xml-repeat")
    assert refused.value.vendor_code == "XL03000009" and refused.value.system == client.system
