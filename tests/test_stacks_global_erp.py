"""The `global` stack's two ERPs (issue 15): NetSuite keeps the US entity's books, Sage Intacct the UK
entity's. AR per client, invoice ageing and reconciliation on the graph equal what the two vendors'
raw data gives (read here over their own APIs with the production clients, not through the graph);
a legal-entity filter reads only the ERP keeping that entity's books (counted at the simulators)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from stack_answers import RECONCILIATION, StackGateway, stack_gateway
from test_stacks_answers import unposted_months

from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.intacct.client import IntacctClient
from opsgraph.connectors.netsuite.client import NetSuiteClient
from simulators.simkit.serve import SimulatorGroup, SimulatorThread
from simulators.world import World, firm_entity

CLIENTS = "{ clients(first: 500) { nodes { name arBalance { amount currency } } } }"
AGEING = """{ invoices(first: 500, filter: {status: OPEN}) { totalCount nodes { number dueDate daysOverdue
  amountDue { amount currency } } } }"""
BY_ENTITY = """query($entity: String) { invoices(first: 500, filter: {legalEntity: $entity}) {
  totalCount nodes { number client { name } } } }"""


@pytest.fixture(scope="module")
def global_stack(world: World) -> Iterator[SimulatorGroup]:
    with SimulatorThread(world, stack="global") as group:
        yield group


@pytest.fixture
async def gateway(global_stack: SimulatorGroup, world: World) -> AsyncIterator[StackGateway]:
    async with stack_gateway("global", global_stack, world) as running:
        yield running


class Raw:
    """Each ERP's own records, over its API (SuiteQL; the XML gateway's readByQuery)."""

    def __init__(self, group: SimulatorGroup) -> None:
        tables = group.system_settings()
        self.netsuite = NetSuiteClient(self._config(tables["netsuite"]), system="netsuite")
        self.intacct = IntacctClient(self._config(tables["intacct"]), system="intacct")

    @staticmethod
    def _config(table: dict[str, Any]) -> SourceConfig:
        return SourceConfig(base_url=table["base_url"], credentials=table["credentials"])

    async def close(self) -> None:
        await self.netsuite.close()
        await self.intacct.close()

    async def balances(self) -> dict[str, tuple[Decimal, str]]:
        symbols = await self.netsuite.currencies()
        rows = await self.netsuite.suiteql("SELECT companyname, balance, currency FROM customer ORDER BY id")
        out = {r["companyname"]: (Decimal(r["balance"]), symbols[r["currency"]]) for r in rows}
        for r in await self.intacct.query("CUSTOMER", ("NAME", "TOTALDUE", "CURRENCY"), ""):
            assert r["NAME"] not in out, f"{r['NAME']} is booked by both entities"
            out[r["NAME"]] = (Decimal(r["TOTALDUE"]), r["CURRENCY"])
        return out

    async def open_invoices(self) -> dict[str, tuple[date, Decimal]]:
        rows = await self.netsuite.suiteql(
            "SELECT tranid, duedate, foreignamountremaining FROM transaction "
            "WHERE type = 'CustInvc' AND status = 'A' ORDER BY id"
        )
        out = {
            r["tranid"]: (date.fromisoformat(r["duedate"]), Decimal(r["foreignamountremaining"]))
            for r in rows
        }
        fields = ("RECORDID", "WHENDUE", "TOTALDUE")
        for r in await self.intacct.query("ARINVOICE", fields, "STATE IN ('Posted', 'Partially Paid')"):
            month, day, year = (int(p) for p in r["WHENDUE"].split("/"))
            out[r["RECORDID"]] = (date(year, month, day), Decimal(r["TOTALDUE"]))
        return out

    async def posted_hours(self, start: date, end: date) -> dict[str, float]:
        """Hours posted per engagement code in `start..end`, from both ERPs' time records."""
        codes = {
            r["id"]: r["entityid"]
            for r in await self.netsuite.suiteql("SELECT id, entityid FROM job ORDER BY id")
        }
        out: dict[str, float] = {}
        for p in await self.netsuite.list_time_postings(start, end):
            if p.job_id:
                out[codes[p.job_id]] = out.get(codes[p.job_id], 0.0) + p.hours
        where = f"ENTRYDATE >= '{start:%m/%d/%Y}' AND ENTRYDATE <= '{end:%m/%d/%Y}'"
        for r in await self.intacct.query("TIMESHEETENTRY", ("PROJECTID", "QTY"), where):
            if r["PROJECTID"]:
                out[r["PROJECTID"]] = out.get(r["PROJECTID"], 0.0) + float(r["QTY"])
        return out


@pytest.fixture
async def raw(global_stack: SimulatorGroup) -> AsyncIterator[Raw]:
    reader = Raw(global_stack)
    yield reader
    await reader.close()


async def test_the_uk_entity_books_are_in_intacct_in_gbp(raw: Raw, world: World) -> None:
    balances = await raw.balances()
    uk = {c.name for c in world.clients if firm_entity(c) == "UK"}
    intacct = {
        r["NAME"]: r["CURRENCY"] for r in await raw.intacct.query("CUSTOMER", ("NAME", "CURRENCY"), "")
    }
    assert set(intacct) == uk and uk and set(intacct.values()) == {"GBP"}
    assert set(balances) == {c.name for c in world.clients}


async def test_ar_per_client_is_the_vendors_balances(gateway: StackGateway, raw: Raw) -> None:
    nodes = (await gateway.data(CLIENTS))["clients"]["nodes"]
    balances = await raw.balances()
    got = {n["name"]: (Decimal(str(n["arBalance"]["amount"])), n["arBalance"]["currency"]) for n in nodes}
    assert got == balances
    assert any(currency == "GBP" and amount > 0 for amount, currency in got.values())


async def test_invoice_ageing_is_the_vendors_due_dates(gateway: StackGateway, raw: Raw, world: World) -> None:
    data = (await gateway.data(AGEING))["invoices"]
    due = await raw.open_invoices()
    assert data["totalCount"] == len(due) == len(data["nodes"])
    for node in data["nodes"]:
        due_date, amount = due[node["number"]]
        assert date.fromisoformat(node["dueDate"]) == due_date
        assert node["daysOverdue"] == max(0, (world.as_of - due_date).days), node
        assert Decimal(str(node["amountDue"]["amount"])) == amount
    assert any(n["amountDue"]["currency"] == "GBP" and n["daysOverdue"] > 0 for n in data["nodes"])


async def test_reconciliation_is_the_vendors_postings(gateway: StackGateway, raw: Raw, world: World) -> None:
    months = unposted_months(world)
    report = (await gateway.data(RECONCILIATION, months))["reconciliation"]
    posted = await raw.posted_hours(date.fromisoformat(months["from"]), date.fromisoformat(months["to"]))
    assert report["mismatches"], "the world's drift leaves time unposted"
    for row in report["mismatches"]:
        assert row["erpPostedHours"] == pytest.approx(posted.get(row["engagementCode"], 0.0)), row
        assert row["difference"] == pytest.approx(row["psaApprovedHours"] - row["erpPostedHours"])
    unposted = {t.engagement.code for t in world.time_entries if t.id in set(world.drift.unposted_entry_ids)}
    assert {r["engagementCode"] for r in report["mismatches"]} >= unposted
    uk = {e.code for e in world.engagements if firm_entity(e.client) == "UK"}
    assert uk & set(posted), "the UK entity's posted time (in Intacct) is in the months reconciled"


@pytest.mark.parametrize(
    ("entity", "reads", "skips"), [("UK", "intacct", "netsuite"), ("US", "netsuite", "intacct")]
)
async def test_a_legal_entity_filter_reads_only_its_own_erp(
    gateway: StackGateway, world: World, entity: str, reads: str, skips: str
) -> None:
    data, counts = await gateway.measure(BY_ENTITY, {"entity": entity})
    want = {i.number for i in world.invoices if firm_entity(i.client) == entity}
    assert {n["number"] for n in data["invoices"]["nodes"]} == want and want
    assert data["invoices"]["totalCount"] == len(want)
    assert sum(counts[reads].values()) > 0
    assert sum(counts[skips].values()) == 0, counts[skips]


async def test_a_legal_entity_without_books_of_its_own_is_bad_input(gateway: StackGateway) -> None:
    response = await gateway.http.post("/graphql", json={"query": BY_ENTITY, "variables": {"entity": "FR"}})
    body = response.json()
    assert response.status_code == 200 and body["data"]["invoices"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "legal entities with books of their own: UK, US" in error["message"]
