"""The read graph end to end: the real gateway and simulators over sockets, checked against the world."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from test_gateway_support import HR, HV, NS, SF, running_gateway, settings_for

from opsgraph.model import record_key
from opsgraph.schema.relay import to_global_id
from simulators.netsuite.sim_rates import exchange_rate_rows
from simulators.netsuite.sim_state import CURRENCIES
from simulators.simkit.serve import SimulatorGroup
from simulators.world import AccountingPeriod as WorldPeriod
from simulators.world import Person, TimeEntry, World, salesforce_id

Gql = Callable[..., Awaitable[dict[str, Any]]]
OCT_FROM, OCT_TO = date(2026, 10, 1), date(2026, 10, 31)


def status_of(e: TimeEntry) -> str:
    return "BILLED" if e.is_billed else "APPROVED" if e.is_closed else "UNAPPROVED"


def entries_between(world: World, start: date, end: date) -> list[TimeEntry]:
    return [e for e in world.time_entries if start <= e.spent_date <= end]


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def codes(issues: list[dict[str, Any]]) -> set[str]:
    return {i["code"] for i in issues}


def eng_id(code: str) -> str:
    return to_global_id("Engagement", code)


def gid(type_name: str, system: str, record_id: object) -> str:
    """The global id of record `record_id` of `system`: the type and the record's canonical key."""
    return to_global_id(type_name, record_key(system, str(record_id)))


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


async def walk(gql: Gql, query: str, field: str, **variables: Any) -> tuple[list[dict[str, Any]], int, int]:
    """Every node of a connection, page by page: (nodes, totalCount, pages)."""
    nodes: list[dict[str, Any]] = []
    after, pages, totals = None, 0, set()
    while True:
        conn = (await gql(query, {**variables, "after": after}))["data"][field]
        nodes, pages, after = nodes + conn["nodes"], pages + 1, conn["pageInfo"]["endCursor"]
        totals.add(conn["totalCount"])
        if not conn["pageInfo"]["hasNextPage"]:
            assert len(totals) == 1, totals
            return nodes, totals.pop(), pages


@pytest.fixture
async def gql(simulators: SimulatorGroup, world: World) -> AsyncIterator[Gql]:
    """Posts a query to the real gateway; by default asserts HTTP 200 and no errors, returns the body."""
    async with (
        running_gateway(settings_for(simulators, world)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):

        async def run(query: str, variables: dict[str, Any] | None = None, ok: bool = True) -> dict[str, Any]:
            response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
            body: dict[str, Any] = response.json()
            if ok:
                assert response.status_code == 200, body
                assert "errors" not in body, body["errors"]
            return body

        yield run


# -- paging and node round trips ----------------------------------------------------------------

PAGE = """query($after: String) { clients(first: 7, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id name region legalEntity currency } } }"""


async def test_clients_paging_walks_every_client_once(gql: Gql, world: World) -> None:
    seen, total, pages = await walk(gql, PAGE, "clients")
    assert total == len(world.clients)
    assert pages == -(-len(world.clients) // 7)
    assert len(seen) == len({c["id"] for c in seen}) == len(world.clients)
    got = {c["id"]: (c["name"], c["region"], c["legalEntity"], c["currency"]) for c in seen}
    want = {gid("Client", SF, c.sf_id): (c.name, c.region, c.legal_entity, c.currency) for c in world.clients}
    assert got == want


FIELDS = {  # per node type: the fields asked for, `alias:field` where types disagree on a field's type
    "Client": "name region industry legalEntity currency",
    "Opportunity": "name stage probability closeDate amount{amount} engagementCode",
    "Engagement": "code name billingModel startDate endDate engagementStatus:status",
    "Resource": "name email title department location",
    "TimeEntry": "date hours entryStatus:status billRate{amount} notes",
    "Invoice": "number issueDate dueDate total{amount} amountDue{amount} invoiceStatus:status",
}
NODE_FIELDS = "id __typename " + " ".join(f"... on {t} {{ {f} }}" for t, f in FIELDS.items())


def expect(type_name: str, key: str, *values: Any) -> tuple[str, dict[str, Any]]:
    """(global id, expected node) with `values` in the order of FIELDS[type_name]; Decimals as Money."""
    names = [f.split(":")[0].split("{")[0] for f in FIELDS[type_name].split()]
    shown = [{"amount": f"{v:.2f}"} if isinstance(v, Decimal) else v for v in values]
    return to_global_id(type_name, key), {"__typename": type_name, **dict(zip(names, shown, strict=True))}


async def test_node_and_nodes_round_trip_every_type(gql: Gql, world: World) -> None:
    client, eng, person = world.clients[3], world.engagements[10], world.people[5]
    opp = next(o for o in world.opportunities if o.engagement_code == eng.code)
    entry, inv = world.time_entries[500], world.invoices[7]
    ghost = next(p for p in world.people if p.bamboo_id is None)  # in the PSA only: the PSA user's key
    expected = dict(
        [
            expect("Client", f"{SF}:{client.sf_id}", client.name, client.region, client.industry,
                   client.legal_entity, client.currency),
            expect("Opportunity", f"{SF}:{opp.sf_id}", opp.name, opp.stage, float(opp.probability),
                   opp.close_date.isoformat(), opp.amount, eng.code),
            expect("Engagement", eng.code, eng.code, eng.name, eng.billing_model, eng.start.isoformat(),
                   eng.end.isoformat(), "ACTIVE" if eng.is_active else "COMPLETED"),
            expect("Resource", f"{HR}:{person.bamboo_id}", person.name, person.email, person.title,
                   person.department, person.location),
            expect("Resource", f"{HV}:{ghost.harvest_user_id}", ghost.name, ghost.email, None, None,
                   None),
            expect("TimeEntry", f"{HV}:{entry.id}", entry.spent_date.isoformat(), entry.hours,
                   status_of(entry), entry.billable_rate, entry.notes),
            expect("Invoice", f"{NS}:{inv.ns_id}", inv.number, inv.issue_date.isoformat(),
                   inv.due_date.isoformat(), inv.total, inv.amount_due,
                   "OPEN" if inv.amount_due > 0 else "PAID"),
        ]
    )  # fmt: skip
    for node_id, want in expected.items():
        node = (await gql(f"query($id: ID!) {{ node(id: $id) {{ {NODE_FIELDS} }} }}", {"id": node_id}))[
            "data"
        ]
        assert node["node"] == {"id": node_id, **want}
    ids = list(expected)
    got = await gql(f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {NODE_FIELDS} }} }}", {"ids": ids})
    assert got["data"]["nodes"] == [{"id": node_id, **want} for node_id, want in expected.items()]
    # The ids the graph hands out are the same ids.
    query = "query($c: [String!]) { engagements(filter: {codes: $c}) { nodes { id opportunity { id } } } }"
    (node,) = (await gql(query, {"c": [eng.code]}))["data"]["engagements"]["nodes"]
    assert node == {"id": eng_id(eng.code), "opportunity": {"id": gid("Opportunity", SF, opp.sf_id)}}


async def test_node_malformed_id_is_bad_user_input_and_missing_is_null(gql: Gql) -> None:
    keys = [("Client", record_key(SF, salesforce_id("001", 999_999)))]
    keys += [("Opportunity", record_key(SF, salesforce_id("006", 999_999)))]
    keys += [("TimeEntry", record_key(HV, "1999999999")), ("Engagement", "ENG-9999")]
    keys += [("Resource", record_key(HR, "99999")), ("Resource", record_key(HV, "123"))]
    # a system that is not configured, or not of the type's role: nothing to ask, so nothing found
    keys += [("Client", "nosuch:001"), ("Invoice", record_key(HV, "5")), ("Resource", record_key(NS, "7"))]
    missing = [to_global_id(t, k) for t, k in [*keys, ("Invoice", record_key(NS, "99999"))]]
    for gid in missing:
        assert (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": gid}))["data"]["node"] is None
    assert (await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": missing}))["data"] == {
        "nodes": [None] * len(missing)
    }
    bad_keys = [("Engagement", ""), ("Client", "001"), ("Client", "Salesforce:001"), ("Invoice", "netsuite:")]
    for bad in ["garbage!!", "Zm9vOmJhcg", *(to_global_id(t, k) for t, k in bad_keys)]:
        body = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": bad}, ok=False)
        assert body["data"] == {"node": None}
        assert error_codes(body) == ["BAD_USER_INPUT"], body


# -- engagements, resources, data quality -------------------------------------------------------


async def test_engagement_links_contract_value_and_assignments(gql: Gql, world: World) -> None:
    sample = [world.engagements[i] for i in (0, 10, 33, 64, 99)]
    body = await gql(
        """query($codes: [String!]) { engagements(filter: {codes: $codes}) { nodes {
          code client { name } opportunity { id name } contractValue { amount currency } budgetHours
          assignments { hourlyRate budgetHours resource { email } } } } }""",
        {"codes": [e.code for e in sample]},
    )
    nodes = {n["code"]: n for n in body["data"]["engagements"]["nodes"]}
    assert set(nodes) == {e.code for e in sample}
    for eng in sample:
        node = nodes[eng.code]
        assert node["client"] == {"name": eng.client.name}
        assert node["opportunity"]["id"] == gid("Opportunity", SF, eng.opportunity_id)
        assert dec(node["contractValue"]["amount"]) == eng.contract_value
        assert node["contractValue"]["currency"] == eng.client.currency
        mine = [a for a in world.assignments if a.engagement is eng]
        assert len(node["assignments"]) == len(mine)
        rate = [None if a["hourlyRate"] is None else dec(a["hourlyRate"]) for a in node["assignments"]]
        got = sorted(zip([a["resource"]["email"] for a in node["assignments"]], rate, strict=True))
        assert got == sorted((a.person.email, a.hourly_rate) for a in mine)


async def test_data_quality_for_the_seeded_drift(gql: Gql, world: World) -> None:
    drift = world.drift
    ghost = next(p for p in world.people if p.harvest_user_id == drift.person_missing_in_hr)
    client = next(c for c in world.clients if c.sf_id == drift.client_without_legal_entity)
    body = await gql(
        """query($name: String, $codes: [String!]) {
          resources(first: 500) { totalCount nodes { id email name dataQuality { code recordId } } }
          clients(filter: {nameContains: $name}) { nodes { name legalEntity dataQuality { code } } }
          engagements(filter: {codes: $codes}) { nodes { code
            dataQuality { code source system role vendor } } } }""",
        {"name": client.name, "codes": [drift.engagement_missing_in_erp, drift.engagement_inactive_in_erp]},
    )
    data = body["data"]
    assert data["resources"]["totalCount"] == len(world.people)
    by_email = {r["email"]: r for r in data["resources"]["nodes"]}
    assert set(by_email) == {p.email for p in world.people}
    row = by_email[ghost.email]
    assert row["name"] == ghost.name
    assert row["id"] == gid("Resource", HV, ghost.harvest_user_id)
    assert row["dataQuality"] == [{"code": "MISSING_IN_HR", "recordId": str(ghost.harvest_user_id)}]
    assert all(not r["dataQuality"] for e, r in by_email.items() if e != ghost.email)
    (c,) = [c for c in data["clients"]["nodes"] if c["name"] == client.name]
    assert c["legalEntity"] is None and "MISSING_LEGAL_ENTITY" in codes(c["dataQuality"])
    engs = {e["code"]: e["dataQuality"] for e in data["engagements"]["nodes"]}
    erp = {"source": "NETSUITE", "system": NS, "role": "ERP", "vendor": NS}
    assert {"code": "MISSING_IN_ERP", **erp} in engs[drift.engagement_missing_in_erp]
    assert {"code": "INACTIVE_IN_ERP", **erp} in engs[drift.engagement_inactive_in_erp]


# -- time entries and invoices --------------------------------------------------------------------

ENTRIES = """query($after: String, $status: TimeEntryStatus) {
  timeEntries(first: 500, after: $after, filter: {from: "2026-10-01", to: "2026-10-31", status: $status}) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id date hours status billable billRate { amount } amount { amount } } } }"""


async def test_time_entries_of_october(gql: Gql, world: World) -> None:
    october = {gid("TimeEntry", HV, e.id): e for e in entries_between(world, OCT_FROM, OCT_TO)}
    seen, total, _ = await walk(gql, ENTRIES, "timeEntries")
    assert total == len(october)
    assert sorted(n["id"] for n in seen) == sorted(october)
    for node in seen:
        e = october[node["id"]]
        want = (e.spent_date.isoformat(), e.hours, status_of(e))
        assert (node["date"], node["hours"], node["status"]) == want
        if e.billable_rate is None:
            assert node["billRate"] is None and node["amount"] is None
        else:
            assert dec(node["billRate"]["amount"]) == e.billable_rate
            assert dec(node["amount"]["amount"]) == (e.billable_rate * dec(e.hours)).quantize(Decimal("0.01"))
    split = Counter(status_of(e) for e in october.values())
    assert Counter(n["status"] for n in seen) == split
    for status in ("APPROVED", "UNAPPROVED", "BILLED"):
        conn = (await gql(ENTRIES, {"status": status}))["data"]["timeEntries"]
        assert conn["totalCount"] == split[status], status


MONEY_OF_ENTRIES = """query($after: String) {
  timeEntries(first: 500, after: $after, filter: {from: "2026-10-01", to: "2026-10-31"}) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id billRate { currency } costRate { currency } amount { currency } } } }"""


async def test_time_entry_money_is_in_its_engagements_currency(gql: Gql, world: World) -> None:
    october = {gid("TimeEntry", HV, e.id): e for e in entries_between(world, OCT_FROM, OCT_TO)}
    seen, _, _ = await walk(gql, MONEY_OF_ENTRIES, "timeEntries")

    def currency(money: dict[str, str] | None) -> str | None:
        return None if money is None else money["currency"]

    got = {n["id"]: tuple(currency(n[f]) for f in ("billRate", "costRate", "amount")) for n in seen}
    want = {
        gid: tuple(
            None if value is None else e.engagement.client.currency
            for value in (e.billable_rate, e.cost_rate, e.billable_rate if e.billable else None)
        )
        for gid, e in october.items()
    }
    assert got == want
    non_usd = [g for g in got.values() if g[0] not in (None, "USD")]
    assert len(non_usd) > 500  # October really has EUR and GBP engagements


async def test_open_overdue_invoices(gql: Gql, world: World) -> None:
    body = await gql(
        """{ invoices(first: 500, filter: {status: OPEN, overdue: true}) { totalCount nodes {
          number status dueDate daysOverdue amountDue { amount } client { name } engagement { code } } } }"""
    )
    conn = body["data"]["invoices"]
    overdue = {i.number: i for i in world.invoices if i.amount_due > 0 and i.due_date < world.as_of}
    assert overdue, "the world should hold overdue invoices"
    assert conn["totalCount"] == len(overdue)
    assert {n["number"] for n in conn["nodes"]} == set(overdue)
    for node in conn["nodes"]:
        inv = overdue[node["number"]]
        assert node["status"] == "OPEN"
        assert node["daysOverdue"] == (world.as_of - inv.due_date).days > 0
        assert dec(node["amountDue"]["amount"]) == inv.amount_due
        assert node["client"] == {"name": inv.client.name}
        # An invoice of the engagement missing in the ERP has no job there, so no engagement link.
        linked = inv.engagement.ns_job_id is not None
        assert node["engagement"] == ({"code": inv.engagement.code} if linked else None)


# -- derived views --------------------------------------------------------------------------------

READINESS = """query($ids: [ID!]) { invoiceReadiness(engagementIds: $ids) {
  engagement { code } ready approvedUnbilledHours amount { amount } blockers { code source system role }
  periodStart periodEnd } }"""


def readiness_figures(world: World, code: str) -> tuple[float, Decimal, int]:
    """(hours, amount, unrated entries) of all approved, unbilled, billable time up to Oct 31."""
    mine = [e for e in world.time_entries if e.engagement.code == code and e.spent_date <= OCT_TO]
    mine = [e for e in mine if e.is_closed and not e.is_billed and e.billable]
    amount = sum((e.billable_rate * dec(e.hours) for e in mine if e.billable_rate is not None), Decimal(0))
    return sum(e.hours for e in mine), amount, sum(1 for e in mine if e.billable_rate is None)


async def test_invoice_readiness_amount_of_a_clean_engagement(gql: Gql, world: World) -> None:
    drift = world.drift
    special = {drift.engagement_missing_in_erp, drift.engagement_inactive_in_erp, drift.capped_over_budget}
    special |= {a.engagement.code for a in world.assignments if a.hourly_rate is None}
    live = [e for e in world.engagements if e.is_active and e.billing_model == "TIME_AND_MATERIALS"]
    clean = [e for e in live if e.code not in special and e.client.legal_entity]
    eng = next(e for e in clean if readiness_figures(world, e.code)[1] > 0)
    (row,) = (await gql(READINESS, {"ids": [eng_id(eng.code)]}))["data"]["invoiceReadiness"]
    hours, amount, _ = readiness_figures(world, eng.code)
    assert row["engagement"] == {"code": eng.code}
    assert (row["periodStart"], row["periodEnd"]) == ("2026-10-01", "2026-10-31")
    assert row["blockers"] == [] and row["ready"] is True
    assert row["approvedUnbilledHours"] == hours
    assert dec(row["amount"]["amount"]) == amount


async def test_invoice_readiness_blockers_for_the_drift(gql: Gql, world: World) -> None:
    drift = world.drift
    rateless = next(a for a in world.assignments if a.id == drift.assignment_without_rate).engagement.code
    no_entity = [e.code for e in world.engagements if e.client.sf_id == drift.client_without_legal_entity]
    wanted = {
        drift.engagement_missing_in_erp: "NOT_IN_ERP",
        drift.engagement_inactive_in_erp: "INACTIVE_IN_ERP",
        rateless: "MISSING_RATE",
        **dict.fromkeys(no_entity, "MISSING_LEGAL_ENTITY"),
    }
    ids = [eng_id(c) for c in [*wanted, drift.capped_over_budget]]
    rows = {
        r["engagement"]["code"]: r for r in (await gql(READINESS, {"ids": ids}))["data"]["invoiceReadiness"]
    }
    assert set(rows) == {*wanted, drift.capped_over_budget}
    for code, blocker in wanted.items():
        assert blocker in codes(rows[code]["blockers"]), (code, rows[code])
        assert rows[code]["ready"] is False
    # Unrated time is left out of the amount, and counted as a blocker.
    _, amount, unrated = readiness_figures(world, rateless)
    assert unrated > 0 and dec(rows[rateless]["amount"]["amount"]) == amount
    # The cap: what was billed plus what is ready to bill, against the (ERP) contract value.
    capped = next(e for e in world.engagements if e.code == drift.capped_over_budget)
    billed = sum((i.total for i in world.invoices if i.engagement is capped), Decimal(0))
    _, ready_amount, _ = readiness_figures(world, capped.code)
    assert billed + ready_amount > capped.contract_value, "the seeded cap drift is visible to readiness"
    row = rows[capped.code]
    assert dec(row["amount"]["amount"]) == ready_amount
    assert {"code": "CAP_EXCEEDED", "source": "NETSUITE", "system": NS, "role": "ERP"} in row["blockers"]


async def test_burn_hours_used_equal_the_worlds_total_hours(gql: Gql, world: World) -> None:
    body = await gql("{ engagements(first: 100) { nodes { code burn { hoursUsed budgetHours } } } }")
    total: dict[str, float] = defaultdict(float)
    for e in world.time_entries:
        total[e.engagement.code] += e.hours
    nodes = body["data"]["engagements"]["nodes"]
    assert len(nodes) == len(world.engagements)
    budget = {e.code: e.budget_hours for e in world.engagements}
    for node in nodes:
        assert node["burn"]["hoursUsed"] == pytest.approx(total[node["code"]], abs=0.005), node
        assert node["burn"]["budgetHours"] == budget[node["code"]]


async def test_reconciliation_over_the_unposted_months(gql: Gql, world: World) -> None:
    drift = world.drift
    unposted = [e for e in world.time_entries if e.id in set(drift.unposted_entry_ids)]
    start = min(e.spent_date for e in unposted).replace(day=1)
    last = max(e.spent_date for e in unposted)
    end = (last.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    body = await gql(
        """query($from: Date!, $to: Date!) { reconciliation(from: $from, to: $to) {
          from to engagementsChecked matched
          mismatches { engagementCode unpostedEntryCount unpostedEntryIds reasons psaApprovedHours }
          dataQuality { code recordId source system role } } }""",
        {"from": start.isoformat(), "to": end.isoformat()},
    )
    report = body["data"]["reconciliation"]
    assert (report["from"], report["to"]) == (start.isoformat(), end.isoformat())
    rows = {r["engagementCode"]: r for r in report["mismatches"]}
    by_code: dict[str, list[int]] = defaultdict(list)
    for e in unposted:
        by_code[e.engagement.code].append(e.id)
    for code, ids in by_code.items():
        row = rows[code]
        assert "UNPOSTED_TIME" in row["reasons"]
        assert row["unpostedEntryCount"] == len(ids)
        assert sorted(row["unpostedEntryIds"]) == sorted(gid("TimeEntry", HV, i) for i in ids)
    assert "MISSING_IN_ERP" in rows[drift.engagement_missing_in_erp]["reasons"]
    assert set(rows) == {*by_code, drift.engagement_missing_in_erp}
    assert report["matched"] == report["engagementsChecked"] - len(report["mismatches"])
    ghost = {"code": "MISSING_IN_HR", "recordId": str(drift.person_missing_in_hr), "source": "BAMBOOHR"}
    ghost |= {"system": HR, "role": "HR"}
    assert ghost in report["dataQuality"]


def key_of(person: Person) -> str:
    """A utilization row's key: the person's HR record key, or their email if HR has no record."""
    return record_key(HR, person.bamboo_id) if person.bamboo_id else person.email


async def test_utilization_billable_hours_of_october(gql: Gql, world: World) -> None:
    body = await gql(
        '{ utilization(from: "2026-10-01", to: "2026-10-31") { key label billableHours totalHours } }'
    )
    billable: dict[str, float] = defaultdict(float)
    for e in entries_between(world, OCT_FROM, OCT_TO):
        if e.billable:
            billable[key_of(e.person)] += e.hours
    rows = {r["key"]: r for r in body["data"]["utilization"]}
    assert set(rows) == {key_of(p) for p in world.people}
    for key, row in rows.items():
        assert row["billableHours"] == pytest.approx(billable.get(key, 0.0), abs=0.005), key


def world_rates(world: World) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(period id, currency) -> (average, current) rate to USD, as the ERP simulator serves them."""
    codes = {cid: sym for cid, _, sym in CURRENCIES}
    return {
        (str(r["postingperiod"]), codes[r["fromcurrency"]]): (dec(r["averagerate"]), dec(r["currentrate"]))
        for r in exchange_rate_rows(world)
    }


def period_of(world: World, day: date) -> WorldPeriod:
    return next(p for p in world.periods if p.start <= day <= p.end)


def to_usd(groups: dict[tuple[str, str], Decimal], world: World, rate: int) -> Decimal:
    """Each (currency, period id) group rounded to cents, converted at the average (0) or current (1)
    rate of its period, rounded to cents again; USD as is."""
    rates, total = world_rates(world), Decimal(0)
    for (currency, period_id), amount in groups.items():
        cents = amount.quantize(Decimal("0.01"))
        total += (
            cents
            if currency == "USD"
            else (cents * rates[(period_id, currency)][rate]).quantize(Decimal("0.01"))
        )
    return total


async def test_forecast_weighted_pipeline_per_month_in_usd(gql: Gql, world: World) -> None:
    body = await gql(
        """{ forecast(from: "2026-12-01", to: "2027-05-31") { from to periods {
          start end weightedPipeline { amount currency originals { amount currency }
            conversions { rateType periodName } } } } }"""
    )
    periods = body["data"]["forecast"]["periods"]
    assert len(periods) == 6
    currency = {c.sf_id: c.currency for c in world.clients}
    today = period_of(world, world.as_of)
    open_opps = [o for o in world.opportunities if not o.is_closed]
    for p in periods:
        start, end = date.fromisoformat(p["start"]), date.fromisoformat(p["end"])
        assert start.day == 1 and (end + timedelta(days=1)).day == 1
        groups: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for o in open_opps:
            if start <= o.close_date <= end:
                groups[(currency[o.account_id], today.id)] += o.amount * o.probability / 100
        pipeline = p["weightedPipeline"]
        assert pipeline["currency"] == "USD"
        assert dec(pipeline["amount"]) == to_usd(groups, world, rate=1), p
        assert {(m["currency"], dec(m["amount"])) for m in pipeline["originals"]} == {
            (c, a.quantize(Decimal("0.01"))) for (c, _), a in groups.items()
        }
        assert {(c["rateType"], c["periodName"]) for c in pipeline["conversions"]} <= {
            ("CURRENT", today.name)
        }


async def test_forecast_actual_revenue_converts_each_invoice_at_its_periods_average_rate(
    gql: Gql, world: World
) -> None:
    body = await gql(
        """{ forecast(from: "2026-01-01", to: "2026-03-31", granularity: QUARTER) { periods {
          actualRevenue { amount currency originals { amount currency }
            conversions { original { amount currency } converted { amount currency } rate rateType
              periodName periodStart periodEnd derived } } } } }"""
    )
    (quarter,) = body["data"]["forecast"]["periods"]
    actual = quarter["actualRevenue"]
    groups: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for inv in world.invoices:
        if date(2026, 1, 1) <= inv.issue_date <= date(2026, 3, 31):
            groups[(inv.client.currency, period_of(world, inv.issue_date).id)] += inv.total
    originals = {(m["currency"], dec(m["amount"])) for m in actual["originals"]}
    assert len(originals) >= 2  # the quarter really mixes currencies
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for (currency, _), amount in groups.items():
        by_currency[currency] += amount
    assert originals == set(by_currency.items())
    assert actual["currency"] == "USD"
    assert dec(actual["amount"]) == to_usd(groups, world, rate=0)
    assert dec(actual["amount"]) != sum(by_currency.values())  # not the currency-blind sum
    rates = world_rates(world)
    periods = {p.id: p for p in world.periods}
    want = {
        (
            c,
            periods[pid].name,
            periods[pid].start.isoformat(),
            periods[pid].end.isoformat(),
            rates[(pid, c)][0],
        )
        for c, pid in groups
        if c != "USD"
    }
    got = {
        (c["original"]["currency"], c["periodName"], c["periodStart"], c["periodEnd"], dec(c["rate"]))
        for c in actual["conversions"]
    }
    assert got == want
    for c in actual["conversions"]:
        assert c["rateType"] == "AVERAGE" and c["derived"] is False
        assert c["converted"]["currency"] == "USD"
        assert dec(c["converted"]["amount"]) == (dec(c["original"]["amount"]) * dec(c["rate"])).quantize(
            Decimal("0.01")
        )


# -- bad arguments --------------------------------------------------------------------------------


STATUS = "query($s: EngagementStatus) { engagements(filter: {status: $s}) { totalCount } }"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ clients(first: 501) { totalCount } }", {}),
        ("{ engagements(first: -1) { totalCount } }", {}),
        ('{ clients(first: 5, after: "not a cursor") { totalCount } }', {}),
        ('{ clients(first: 5, after: "Zm9vOjM=") { totalCount } }', {}),  # foo:3
        ('{ clients(first: 5, after: "b2Zmc2V0Oi0x") { totalCount } }', {}),  # offset:-1
        ('{ timeEntries(filter: {from: "2026-10-31", to: "2026-10-01"}) { totalCount } }', {}),
        ('{ timeEntries(filter: {from: "2025-01-01", to: "2026-10-01"}) { totalCount } }', {}),
        ('{ reconciliation(from: "2026-10-31", to: "2026-10-01") { matched } }', {}),
        ('{ utilization(from: "2024-01-01", to: "2026-10-01") { key } }', {}),
        ('{ forecast(from: "2026-01-01", to: "2030-01-01") { from } }', {}),
        ("{ engagements(filter: {status: PAUSED}) { totalCount } }", {}),
        (STATUS, {"s": "PAUSED"}),
    ],
)
async def test_bad_arguments_are_bad_user_input(gql: Gql, query: str, variables: dict[str, Any]) -> None:
    body = await gql(query, variables, ok=False)
    assert body.get("data") is None or all(v is None for v in body["data"].values()), body
    assert error_codes(body) == ["BAD_USER_INPUT"], body
