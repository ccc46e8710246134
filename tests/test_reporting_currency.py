"""The reporting currency: a setting, reaching the forecast through the request context."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import date
from decimal import Decimal

import httpx
import pytest
from test_gateway_support import running_gateway, settings_for

from opsgraph.gateway.settings import ConfigError, load_settings
from simulators.netsuite.sim_rates import exchange_rate_rows
from simulators.netsuite.sim_state import CURRENCIES
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

Q1 = """{ forecast(from: "2026-01-01", to: "2026-03-31", granularity: QUARTER) { periods {
  actualRevenue { amount currency originals { amount currency }
    conversions { original { currency } rate rateType periodName derived } } } } }"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OPSGRAPH_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_env")
def test_reporting_currency_defaults_to_usd_and_must_be_an_iso_code(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(require_sources=False).reporting_currency == "USD"
    monkeypatch.setenv("OPSGRAPH_REPORTING_CURRENCY", "EUR")
    assert load_settings(require_sources=False).reporting_currency == "EUR"
    monkeypatch.setenv("OPSGRAPH_REPORTING_CURRENCY", "euro")
    with pytest.raises(ConfigError) as caught:
        load_settings(require_sources=False)
    assert "reporting_currency" in str(caught.value)


async def test_forecast_in_another_reporting_currency_uses_cross_rates(
    simulators: SimulatorGroup, world: World
) -> None:
    settings = settings_for(simulators, world, reporting_currency="EUR")
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        body = (await http.post("/graphql", json={"query": Q1})).json()
    assert "errors" not in body, body
    (quarter,) = body["data"]["forecast"]["periods"]
    actual = quarter["actualRevenue"]
    symbols = {cid: sym for cid, _, sym in CURRENCIES}
    eur_to_usd = {
        str(r["postingperiod"]): Decimal(str(r["averagerate"]))
        for r in exchange_rate_rows(world)
        if symbols[r["fromcurrency"]] == "EUR"
    }
    usd_by_period: dict[str, Decimal] = defaultdict(Decimal)
    eur = Decimal(0)
    for inv in world.invoices:
        if date(2026, 1, 1) <= inv.issue_date <= date(2026, 3, 31):
            if inv.client.currency == "EUR":
                eur += inv.total
            else:
                assert inv.client.currency == "USD"
                period = next(p for p in world.periods if p.start <= inv.issue_date <= p.end)
                usd_by_period[period.id] += inv.total
    want = eur
    for period_id, usd in usd_by_period.items():
        rate = (1 / eur_to_usd[period_id]).quantize(Decimal("0.00000001"))
        want += (usd * rate).quantize(Decimal("0.01"))
    assert actual["currency"] == "EUR"
    assert Decimal(actual["amount"]) == want
    assert {c["original"]["currency"] for c in actual["conversions"]} == {"USD"}
    assert all(c["derived"] and c["rateType"] == "AVERAGE" for c in actual["conversions"])
    assert len(actual["conversions"]) == len(usd_by_period) == 3
