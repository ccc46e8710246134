"""prepareInvoice: readiness as validation, the ERP invoice and the PSA entries marked billed, the
cap parked for finance, compensation and replay; writes counted at the simulators (SQLite and
PostgreSQL stores). The tests write invoices, so they run on simulators of their own, reset before
each test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from test_gateway_support import serving
from test_gateway_support import settings_for as gateway_settings
from workflows_sim import ERP, PSA, TEST_TUNING, SimAdmin, erp_client, psa_client, settings_for, sources_for

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.clock import PinnedClock
from opsgraph.connectors.harvest.resources import INVOICES
from opsgraph.gateway.app import create_app
from opsgraph.resolvers.sources import Sources
from opsgraph.roles.filters import TimeEntryFilter
from opsgraph.schema.relay import to_global_id
from opsgraph.workflows import WorkflowConflict, WorkflowEngine, WorkflowRecord, WorkflowStatus
from opsgraph.workflows.invoice import PrepareInvoiceInput
from opsgraph.workflows.records import StepStatus
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

pytest_plugins = ("workflows_support",)

KIND = "prepareInvoice"
OCTOBER = {"start": "2026-10-01", "end": "2026-10-31"}
OCTOBER_GRAPH = {"from": "2026-10-01", "to": "2026-10-31"}
TM = "ENG-0063"  # time and materials, ready for October: 5 entries, 7507.50 USD
FIXED = "ENG-0012"  # fixed fee, ready: an instalment of 8250.00 USD, 56 unbilled entries
CAPPED_OVER = "ENG-0020"  # capped, only blocked by its cap
INVOICE_PUT = "PUT /services/rest/record/v1/{rtype}/{rid}"
INVOICE_DELETE = "DELETE /services/rest/record/v1/{rtype}/{rid}"
PSA_INVOICE_POST = "POST /v2/invoices"


@pytest.fixture
async def sources(own_simulators: SimulatorGroup, world: World) -> AsyncIterator[Sources]:
    found = sources_for(own_simulators.urls(), PinnedClock(world.as_of))
    yield found
    await found.close()


class Sims:
    def __init__(self, group: SimulatorGroup) -> None:
        self.erp = SimAdmin(group.running[ERP].url)
        self.psa = SimAdmin(group.running[PSA].url)

    async def clear(self) -> None:
        for admin in (self.erp, self.psa):
            await admin.clear_faults()
            await admin.clear_stats()

    async def writes(self) -> tuple[int, int, int]:
        """(ERP invoice upserts, ERP deletes, PSA invoices made to mark time billed)."""
        return (
            await self.erp.route_count(INVOICE_PUT),
            await self.erp.route_count(INVOICE_DELETE),
            await self.psa.route_count(PSA_INVOICE_POST),
        )


async def undo_invoicing(sources: Sources) -> None:
    """Delete what the tests invoiced (ERP invoices, and the PSA invoices that billed the time, which
    unbills it): the next test finds the world's state (a simulator reset takes seconds)."""
    erp = erp_client(sources)
    for code in (TM, FIXED, CAPPED_OVER):
        for invoice in await invoices_of(sources, code):
            await erp.delete_invoice(invoice.id, idempotency_key="test-cleanup")
    psa = psa_client(sources)
    for invoice in await psa.collect(INVOICES):
        if str(invoice.get("number", "")).startswith(f"{ERP}:"):
            await psa.request("DELETE", f"{INVOICES.path}/{invoice['id']}")


@pytest.fixture
async def sims(own_simulators: SimulatorGroup, sources: Sources) -> AsyncIterator[Sims]:
    found = Sims(own_simulators)
    await found.clear()
    yield found
    await found.clear()
    await undo_invoicing(sources)


@pytest.fixture
async def engine(database_url: str, sources: Sources, sims: Sims) -> AsyncIterator[WorkflowEngine]:
    async with WorkflowEngine(settings_for(database_url), sources).running() as running:
        yield running


def data(code: str, **period: str) -> dict[str, str]:
    return {"engagement_code": code, **OCTOBER, **period}


async def run(engine: WorkflowEngine, code: str, key: str | None = None) -> WorkflowRecord:
    result = await engine.start(KIND, data(code), idempotency_key=key or uuid.uuid4().hex, caller="finance")
    assert result.workflow is not None, result.user_errors
    return result.workflow


def steps(record: WorkflowRecord) -> list[tuple[str, StepStatus, int, bool]]:
    return [(s.name, s.status, s.attempts, s.compensated) for s in record.steps]


async def unbilled(sources: Sources, code: str) -> int:
    psa = psa_client(sources)
    project = (await psa.engagements_by_codes([code]))[code]
    entries = await psa.list_time_entries(
        TimeEntryFilter(
            start=date(2026, 7, 1), end=date(2026, 10, 31), engagement_id=project.id, is_billed=False
        )
    )
    return sum(1 for e in entries if e.billable and e.status.value == "APPROVED")


async def invoices_of(sources: Sources, code: str) -> list[Any]:
    erp = erp_client(sources)
    job = (await erp.jobs_by_codes([code]))[code]
    external = PrepareInvoiceInput.model_validate(data(code)).external_id
    return [i for i in (await erp.invoices_by_job_ids([job.id]))[job.id] if i.psa_invoice_id == external]


# -- the happy paths ------------------------------------------------------------------------------


async def test_time_and_materials_invoice_then_entries_marked_billed(
    engine: WorkflowEngine, sims: Sims, sources: Sources
) -> None:
    assert await unbilled(sources, TM) == 5

    record = await run(engine, TM)

    assert record.status is WorkflowStatus.COMPLETED, record.error
    assert steps(record) == [
        ("erp-invoice", StepStatus.COMPLETED, 1, False),
        ("psa-billed", StepStatus.COMPLETED, 1, False),
    ]
    assert [s.system for s in record.steps] == [ERP, PSA]
    assert record.result is not None
    assert (record.result["amount"], record.result["currency"], record.result["billed"]) == (
        "7507.50",
        "USD",
        5,
    )
    [invoice] = await invoices_of(sources, TM)
    assert invoice.key == record.result["invoice_key"]
    assert invoice.total.amount == Decimal("7507.50") and invoice.total.currency == "USD"
    assert sum(Decimal(str(li.quantity)) * li.rate.amount for li in invoice.lines) == Decimal("7507.50")
    assert await unbilled(sources, TM) == 0
    assert await sims.writes() == (1, 0, 1)
    # the correlation id is on the invoice's memo and on the PSA invoice's notes
    body = (await erp_client(sources).request("GET", f"record/v1/invoice/{invoice.id}")).body
    assert f"[correlation {record.correlation_id}]" in body["memo"]
    psa = psa_client(sources)
    project = (await psa.engagements_by_codes([TM]))[TM]
    psa_invoices = await psa.collect(INVOICES, {"project_id": project.id})
    assert [i["number"] for i in psa_invoices if record.correlation_id in (i.get("notes") or "")] == [
        f"{ERP}:{invoice.id}"
    ]


async def test_fixed_fee_invoices_the_period_instalment(
    engine: WorkflowEngine, sims: Sims, sources: Sources
) -> None:
    record = await run(engine, FIXED)

    assert record.status is WorkflowStatus.COMPLETED, record.error
    [invoice] = await invoices_of(sources, FIXED)
    assert invoice.total.amount == Decimal("8250.00")
    assert [(li.quantity, li.rate.amount) for li in invoice.lines] == [(1.0, Decimal("8250.00"))]
    assert await unbilled(sources, FIXED) == 0
    assert await sims.writes() == (1, 0, 1)


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "period", "field", "error"),
    [
        ("ENG-9999", {}, "engagementCode", "NOT_FOUND"),
        ("ENG-0017", {}, "engagementCode", "NOT_IN_ERP"),
        ("ENG-0019", {}, "engagementCode", "INACTIVE_IN_ERP"),
        ("ENG-0024", {}, "engagementCode", "MISSING_LEGAL_ENTITY"),
        ("ENG-0025", {}, "engagementCode", "MISSING_RATE"),
        (TM, {"start": "2026-11-01", "end": "2026-11-30"}, "end", "PERIOD_NOT_ENDED"),
    ],
)
async def test_an_engagement_not_ready_is_a_user_error_and_writes_nothing(
    engine: WorkflowEngine, sims: Sims, code: str, period: dict[str, str], field: str, error: str
) -> None:
    result = await engine.start(
        KIND, data(code, **period), idempotency_key=uuid.uuid4().hex, caller="finance"
    )

    assert result.workflow is None
    assert (("engagementCode",) if error != "PERIOD_NOT_ENDED" else (field,), error) in {
        (e.field, e.code) for e in result.user_errors
    }
    assert await sims.writes() == (0, 0, 0)


async def test_a_period_invoiced_once_is_refused_the_second_time(engine: WorkflowEngine, sims: Sims) -> None:
    assert (await run(engine, TM)).status is WorkflowStatus.COMPLETED

    again = await engine.start(KIND, data(TM), idempotency_key=uuid.uuid4().hex, caller="finance")

    assert again.workflow is None
    assert {e.code for e in again.user_errors} >= {"ALREADY_INVOICED"}
    assert await sims.writes() == (1, 0, 1)


# -- idempotency ----------------------------------------------------------------------------------


async def test_ten_concurrent_calls_with_one_key_make_one_invoice(
    engine: WorkflowEngine, sims: Sims, sources: Sources
) -> None:
    key = uuid.uuid4().hex
    results = await asyncio.gather(
        *(engine.start(KIND, data(TM), idempotency_key=key, caller="finance") for _ in range(10))
    )

    ids = {r.workflow.id for r in results if r.workflow is not None}
    assert len(ids) == 1 and all(r.user_errors == () for r in results)
    final = await engine.get(ids.pop())
    assert final is not None and final.status is WorkflowStatus.COMPLETED
    assert len(await invoices_of(sources, TM)) == 1
    assert await sims.writes() == (1, 0, 1)
    with pytest.raises(WorkflowConflict):
        await engine.start(KIND, data(TM, end="2026-10-30"), idempotency_key=key, caller="finance")


# -- the cap, compensation, parking ------------------------------------------------------------------


async def test_a_capped_contract_over_its_cap_parks_for_finance_and_replays_once_raised(
    engine: WorkflowEngine, sims: Sims, sources: Sources
) -> None:
    parked = await run(engine, CAPPED_OVER)

    assert parked.status is WorkflowStatus.PARKED
    assert parked.failing_step == "finance-review"
    assert parked.error is not None and parked.error.startswith("NEEDS_REVIEW: CAP_EXCEEDED")
    assert steps(parked)[0] == ("finance-review", StepStatus.FAILED, 1, False)
    assert await sims.writes() == (0, 0, 0)

    erp = erp_client(sources)
    job = (await erp.jobs_by_codes([CAPPED_OVER]))[CAPPED_OVER]
    assert job.contract_value is not None
    path, cap = f"record/v1/job/{job.id}", float(job.contract_value.amount)
    await erp.request("PATCH", path, json={"custentity_contract_value": 9_000_000.0}, ok=(204,))
    await sims.erp.clear_stats()
    try:
        replayed = await engine.replay(parked.id)
    finally:
        await erp.request("PATCH", path, json={"custentity_contract_value": cap}, ok=(204,))

    assert replayed.workflow is not None
    done = replayed.workflow
    assert done.status is WorkflowStatus.COMPLETED, done.error
    assert [(s.name, s.status) for s in done.steps] == [
        ("finance-review", StepStatus.COMPLETED),
        ("erp-invoice", StepStatus.COMPLETED),
        ("psa-billed", StepStatus.COMPLETED),
    ]
    assert len(await invoices_of(sources, CAPPED_OVER)) == 1
    assert await sims.writes() == (1, 0, 1)


async def test_the_psa_failing_voids_the_erp_invoice(
    engine: WorkflowEngine, sims: Sims, sources: Sources
) -> None:
    await sims.psa.faults(error_rate=1.0, methods=["POST"])

    record = await run(engine, TM)

    assert record.status is WorkflowStatus.COMPENSATED
    assert record.failing_step == "psa-billed"
    assert steps(record) == [
        ("erp-invoice", StepStatus.COMPENSATED, 1, True),
        ("psa-billed", StepStatus.FAILED, 1, True),
    ]
    assert await invoices_of(sources, TM) == []
    assert await unbilled(sources, TM) == 5
    assert await sims.writes() == (1, 1, 1)  # the PSA's refused invoice counted too


async def test_a_failing_void_parks_and_replay_completes_it(
    engine: WorkflowEngine, sims: Sims, sources: Sources
) -> None:
    await sims.psa.faults(error_rate=1.0, methods=["POST"])
    await sims.erp.faults(error_rate=1.0, methods=["DELETE"])

    parked = await run(engine, TM)

    assert parked.status is WorkflowStatus.PARKED
    assert parked.failing_step == "psa-billed"
    assert parked.error is not None and "compensation of erp-invoice failed" in parked.error
    assert len(await invoices_of(sources, TM)) == 1  # the invoice stays until the operator acts

    await sims.psa.clear_faults()
    await sims.erp.clear_faults()
    replayed = await engine.replay(parked.id)

    assert replayed.workflow is not None
    done = replayed.workflow
    assert done.status is WorkflowStatus.COMPLETED, done.error
    # its compensation failed, so the invoice step runs again: an upsert on the same external id
    assert [(s.name, s.status, s.attempts) for s in done.steps] == [
        ("erp-invoice", StepStatus.COMPLETED, 2),
        ("psa-billed", StepStatus.COMPLETED, 2),
    ]
    assert len(await invoices_of(sources, TM)) == 1
    assert await unbilled(sources, TM) == 0
    assert await sims.writes() == (2, 1, 2)


# -- through the gateway --------------------------------------------------------------------------

PREPARE = """mutation Prepare($input: PrepareInvoiceInput!) {
  prepareInvoice(input: $input) {
    workflow { kind status steps { name status } }
    userErrors { field message code }
    invoice { number total { amount currency } }
    timeEntries { id billable }
  }
}"""
READINESS = """query R($id: ID!) {
  node(id: $id) { ... on Engagement { invoiceReadiness { ready blockers { code } } } }
}"""


@pytest.fixture
async def gateway(
    database_url: str, own_simulators: SimulatorGroup, world: World, sims: Sims
) -> AsyncIterator[httpx.AsyncClient]:
    settings = gateway_settings(
        own_simulators, world, workflows={"database_url": database_url, "poll_interval_s": 0.02}
    )
    for name in settings.systems:
        settings = settings.with_system(name, **TEST_TUNING)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield http


async def test_the_graph_shows_the_invoice_and_the_billed_entries_at_once(
    gateway: httpx.AsyncClient, sims: Sims
) -> None:
    engagement_id = to_global_id("Engagement", TM)
    variables = {
        "input": {"idempotencyKey": uuid.uuid4().hex, "engagementId": engagement_id, **OCTOBER_GRAPH}
    }

    finance = {"X-API-Key": DEMO_API_KEYS["finance"]}
    body = (
        await gateway.post("/graphql", json={"query": PREPARE, "variables": variables}, headers=finance)
    ).json()
    payload = body["data"]["prepareInvoice"]
    after = (
        await gateway.post("/graphql", json={"query": READINESS, "variables": {"id": engagement_id}})
    ).json()

    assert payload["userErrors"] == [] and payload["workflow"]["status"] == "COMPLETED"
    assert payload["invoice"]["total"] == {"amount": "7507.50", "currency": "USD"}
    assert len(payload["timeEntries"]) == 5
    assert after["data"]["node"]["invoiceReadiness"]["ready"] is False  # nothing left to invoice
    assert await sims.writes() == (1, 0, 1)
