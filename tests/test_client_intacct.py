"""The Intacct kit's writes against its simulator (a small world of its own: the tests write): each is
found first by the key the vendor holds and created once, however often it is repeated; writes carry
`uniqueid=true`; compensations are safe to repeat. Writes are counted at the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal

import pytest
from conformance.serving import Admin, ServerThread, SimServer

from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.errors import SourceRejected
from opsgraph.connectors.intacct.client import IntacctClient
from opsgraph.model import BillingModel, Money, Role, SourceRef
from opsgraph.roles.drafts import CustomerDraft, InvoiceDraft, InvoiceLineDraft, JobDraft, TimePostingDraft
from simulators.intacct.simulator import SIMULATOR
from simulators.world import World

CRM = SourceRef(system="salesforce", role=Role.CRM, vendor="salesforce", id="001NEWCLIENT0000AAA")


@pytest.fixture(scope="module")
def sim(world: World) -> Iterator[SimServer]:
    thread = ServerThread()
    try:
        yield thread.serve(SIMULATOR, world)
    finally:
        thread.close()


@pytest.fixture
async def client(sim: SimServer) -> AsyncIterator[IntacctClient]:
    made = IntacctClient(SourceConfig(base_url=sim.base_url, credentials=sim.credentials), system="erp-uk")
    yield made
    await made.close()


async def counts(sim: SimServer) -> dict[str, int]:
    return await Admin(sim).event(type="write_counts")


def grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}


async def test_customer_and_project_are_created_once(client: IntacctClient, sim: SimServer) -> None:
    before = await counts(sim)
    draft = CustomerDraft(client=CRM, name="Newco Ltd", legal_entity="Newco Ltd", currency="GBP")
    first = await client.upsert_customer(draft, idempotency_key="k1")
    again = await client.upsert_customer(draft, idempotency_key="k1")
    renamed = await client.upsert_customer(
        draft.model_copy(update={"name": "Newco UK Ltd"}), idempotency_key="k2"
    )
    assert first == again and (first.client_id, first.currency, first.balance) == (
        CRM.id,
        "GBP",
        Money.of(0, "GBP"),
    )
    assert renamed.id == first.id and renamed.name == "Newco UK Ltd"
    job = JobDraft(
        code="UK-NEW-1",
        name="Newco discovery",
        customer_id=first.id,
        billing_model=BillingModel.FIXED_FEE,
        contract_value=Money.of(Decimal("12000.00"), "GBP"),
        practice="Strategy",
        start_date=date(2026, 12, 1),
    )
    made = await client.create_job(job, idempotency_key="j1")
    assert made == await client.create_job(job, idempotency_key="j1")
    assert (made.code, made.customer_id, made.contract_value, made.billing_model, made.start_date) == (
        "UK-NEW-1", first.id, Money.of(Decimal("12000.00"), "GBP"), BillingModel.FIXED_FEE, date(2026, 12, 1)
    )  # fmt: skip
    changed = await client.set_job_contract_value(
        made.id, Money.of(Decimal("15000"), "GBP"), idempotency_key="c1"
    )
    assert changed.contract_value == Money.of(Decimal("15000.00"), "GBP")
    await client.deactivate_job(made.id, idempotency_key="d1")
    await client.deactivate_job(made.id, idempotency_key="d1")  # the same control id: refused, not redone
    assert (await client.jobs_by_ids([made.id]))[made.id].is_inactive
    assert grown(before, await counts(sim)) == {
        "create CUSTOMER": 1, "update CUSTOMER": 1, "create PROJECT": 1, "update PROJECT": 2,
    }  # fmt: skip
    with pytest.raises(SourceRejected):
        await client.create_job(job.model_copy(update={"customer_id": "2001"}), idempotency_key="j2")


async def test_time_is_posted_once_per_entry(client: IntacctClient, sim: SimServer, world: World) -> None:
    engagement = next(e for e in world.engagements if e.ns_job_id and not e.erp_inactive)
    assert engagement.ns_job_id is not None
    person = next(p for p in world.people if p.status == "Active")
    entries = [SourceRef(system="harvest", role=Role.PSA, vendor="harvest", id=f"77700{n}") for n in range(3)]
    drafts = [
        TimePostingDraft(time_entry=e, job_id=engagement.ns_job_id, person_email=person.email.upper(),
                         date=date(2026, 11, 16 + n), hours=2.0 + n, memo="wf-1")
        for n, e in enumerate(entries)
    ]  # fmt: skip
    before = await counts(sim)
    posted = await client.post_time(drafts, idempotency_key="t1")
    again = await client.post_time(drafts, idempotency_key="t1")
    assert [p.time_entry_id for p in posted] == [e.id for e in entries] and again == posted
    assert [(p.job_id, p.date, p.hours) for p in posted] == [
        (engagement.ns_job_id, date(2026, 11, 16 + n), 2.0 + n) for n in range(3)
    ]
    listed = await client.list_time_postings(date(2026, 11, 16), date(2026, 11, 18))
    assert [p.id for p in listed if p.time_entry_id in {e.id for e in entries}] == [p.id for p in posted]
    assert await client.delete_time_postings(entries, idempotency_key="u1") == 3
    assert await client.delete_time_postings(entries, idempotency_key="u1") == 0
    assert grown(before, await counts(sim)) == {
        "create TIMESHEET": 1, "update TIMESHEETENTRY": 3, "delete TIMESHEETENTRY": 3,
    }  # fmt: skip
    with pytest.raises(SourceRejected, match="no active employee"):
        await client.post_time(
            [drafts[0].model_copy(update={"person_email": "nobody@x.test"})], idempotency_key="t2"
        )


async def test_an_invoice_is_raised_once_and_voided(
    client: IntacctClient, sim: SimServer, world: World
) -> None:
    engagement = next(e for e in world.engagements if e.ns_job_id and e.client.currency == "GBP")
    assert engagement.ns_job_id is not None
    customer = engagement.client.ns_customer_id
    draft = InvoiceDraft(
        external_id="ENG-X-2026-11",
        customer_id=customer,
        job_id=engagement.ns_job_id,
        issue_date=date(2026, 11, 30),
        due_date=date(2026, 12, 30),
        currency="GBP",
        lines=(
            InvoiceLineDraft(description="Consulting", quantity=10.5, rate=Money.of(Decimal("150"), "GBP")),
            InvoiceLineDraft(description="Review", quantity=2, rate=Money.of(Decimal("200"), "GBP")),
        ),
        memo="wf-2",
    )
    balance = (await client.customers_by_ids([customer]))[customer].balance
    assert balance is not None
    before = await counts(sim)
    invoice = await client.create_invoice(draft, idempotency_key="i1")
    assert invoice == await client.create_invoice(draft, idempotency_key="i1")
    total = Money.of(Decimal("1975.00"), "GBP")
    assert (invoice.total, invoice.amount_due, invoice.psa_invoice_id, invoice.job_id) == (
        total, total, "ENG-X-2026-11", engagement.ns_job_id
    )  # fmt: skip
    assert [(ln.description, ln.quantity, ln.amount.amount) for ln in invoice.lines] == [
        ("Consulting", 10.5, Decimal("1575.00")), ("Review", 2.0, Decimal("400.00"))
    ]  # fmt: skip
    assert (await client.customers_by_ids([customer]))[customer].balance == balance + invoice.total
    await client.delete_invoice(invoice.id, idempotency_key="v1")
    await client.delete_invoice(invoice.id, idempotency_key="v2")  # gone: left so
    assert await client.invoices_by_ids([invoice.id]) == {}
    assert grown(before, await counts(sim)) == {"create ARINVOICE": 1, "delete ARINVOICE": 1}
