"""NetSuite consolidated exchange rates: SuiteQL against the simulator through the real client."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from opsgraph.connectors.base import SourceConfig
from opsgraph.connectors.netsuite.client import NetSuiteClient
from simulators.simkit.serve import RunningSimulator, SimulatorGroup
from simulators.world import World

SUITEQL = "POST /services/rest/query/v1/suiteql"


@pytest.fixture
def sim(simulators: SimulatorGroup) -> RunningSimulator:
    return simulators.running["netsuite"]


@pytest.fixture
async def client(sim: RunningSimulator) -> AsyncIterator[NetSuiteClient]:
    config = SourceConfig(base_url=sim.url + sim.info.api_path, credentials=dict(sim.info.credentials))
    c = NetSuiteClient(config)
    await c.currencies()
    yield c
    await c.close()


async def _suiteql_calls(sim: RunningSimulator) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{sim.url}/_sim/stats") as resp:
        stats = await resp.json()
    return int(stats["routes"].get(SUITEQL, {}).get("count", 0))


async def test_rates_for_the_asked_periods_in_one_query(
    client: NetSuiteClient, sim: RunningSimulator, world: World
) -> None:
    periods = sorted(world.periods, key=lambda p: p.start)
    wanted = [p.id for p in periods[:3]]
    before = await _suiteql_calls(sim)
    rates = await client.exchange_rates(wanted)
    assert await _suiteql_calls(sim) - before == 1
    # every non-base currency of the account, to the base currency, once per asked period
    assert sorted((r.period_id, r.from_currency, r.to_currency) for r in rates) == sorted(
        (p, c, "USD") for p in wanted for c in ("GBP", "CAD", "EUR")
    )
    for r in rates:
        assert Decimal("0.3") < r.average_rate < Decimal("3")
        assert r.current_rate > 0 and r.historical_rate > 0
    # a period's opening rate is the previous period's closing rate
    by_key = {(r.period_id, r.from_currency): r for r in rates}
    for earlier, later in itertools.pairwise(wanted):
        for c in ("GBP", "EUR"):
            assert by_key[(later, c)].historical_rate == by_key[(earlier, c)].current_rate


async def test_rates_are_deterministic_and_future_periods_carry_the_latest(
    client: NetSuiteClient, world: World
) -> None:
    periods = sorted(world.periods, key=lambda p: p.start)
    future = [p for p in periods if p.start > world.as_of]
    assert future
    current = next(p for p in periods if p.start <= world.as_of <= p.end)
    rates = await client.exchange_rates([current.id, *(p.id for p in future)])
    again = await client.exchange_rates([current.id, *(p.id for p in future)])
    assert rates == again
    closing = {r.from_currency: r.current_rate for r in rates if r.period_id == current.id}
    for r in rates:
        if r.period_id != current.id:
            assert r.average_rate == r.current_rate == r.historical_rate == closing[r.from_currency]


async def test_no_period_ids_make_no_call(client: NetSuiteClient, sim: RunningSimulator) -> None:
    before = await _suiteql_calls(sim)
    assert await client.exchange_rates([]) == []
    assert await _suiteql_calls(sim) == before


async def test_the_rest_record_names_the_fields_as_netsuite_does(sim: RunningSimulator) -> None:
    config = SourceConfig(base_url=sim.url + sim.info.api_path, credentials=dict(sim.info.credentials))
    c = NetSuiteClient(config)
    try:
        record = await c.get_record("consolidatedExchangeRate", "1")
    finally:
        await c.close()
    assert record["fromCurrency"]["refName"] == "GBP"
    assert record["toCurrency"]["refName"] == "USD"
    assert {"averageRate", "currentRate", "historicalRate", "postingPeriod", "isDerived"} <= set(record)
