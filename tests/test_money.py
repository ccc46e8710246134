"""Money arithmetic and conversion to the reporting currency (pure; no sources involved)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from opsgraph.model import (
    AccountingPeriod,
    Engagement,
    ErpCustomer,
    ExchangeRate,
    MixedCurrencyError,
    Money,
    TimeEntry,
    TimeEntryStatus,
)
from opsgraph.money import ExchangeRates, MissingExchangeRate, RateType, converted
from opsgraph.resolvers.views.readiness import ReadinessInputs, compute_readiness

ERP = "erp-global"
"""The ERP system the periods and rates come from (what a MissingExchangeRate names)."""
JAN = AccountingPeriod(
    system=ERP, id="301", name="Jan 2026", start=date(2026, 1, 1), end=date(2026, 1, 31), closed=True
)
FEB = AccountingPeriod(
    system=ERP, id="302", name="Feb 2026", start=date(2026, 2, 1), end=date(2026, 2, 28), closed=False
)


def rate(period: AccountingPeriod, source: str, average: str, current: str) -> ExchangeRate:
    return ExchangeRate(
        from_currency=source,
        to_currency="USD",
        period_id=period.id,
        average_rate=Decimal(average),
        current_rate=Decimal(current),
        historical_rate=Decimal(average),
    )


RATES = [
    rate(JAN, "EUR", "1.10", "1.20"),
    rate(FEB, "EUR", "1.05", "1.00"),
    rate(JAN, "GBP", "1.25", "1.30"),
]


def test_adding_mixed_currencies_raises() -> None:
    assert Money.of(10, "EUR") + Money.of("2.5", "EUR") == Money.of("12.5", "EUR")
    with pytest.raises(MixedCurrencyError, match="EUR"):
        Money.of(10, "USD") + Money.of(1, "EUR")
    with pytest.raises(MixedCurrencyError):
        Money.of(10, "USD") - Money.of(1, "GBP")
    with pytest.raises(MixedCurrencyError):
        Money.total([Money.of(1, "USD"), Money.of(1, "EUR")], "USD")
    assert Money.total([], "GBP") == Money.of(0, "GBP")


def test_each_amount_converts_at_the_average_rate_of_its_period() -> None:
    rates = ExchangeRates(RATES, [FEB, JAN], "USD")
    amounts = [
        (Money.of(100, "EUR"), date(2026, 1, 5)),
        (Money.of(50, "EUR"), date(2026, 1, 20)),
        (Money.of(200, "EUR"), date(2026, 2, 3)),
        (Money.of("10.01", "USD"), date(2026, 2, 3)),
    ]
    result = converted(rates, amounts, RateType.AVERAGE)
    # Jan: 150 EUR x 1.10 = 165.00; Feb: 200 EUR x 1.05 = 210.00; plus 10.01 USD
    assert result.total == Money.of("385.01", "USD")
    assert result.originals == (Money.of(350, "EUR"), Money.of("10.01", "USD"))
    got = [
        (c.original, c.converted, c.rate, c.rate_type, c.period.name, c.derived) for c in result.conversions
    ]
    assert got == [
        (Money.of(150, "EUR"), Money.of(165, "USD"), Decimal("1.10"), RateType.AVERAGE, "Jan 2026", False),
        (Money.of(200, "EUR"), Money.of(210, "USD"), Decimal("1.05"), RateType.AVERAGE, "Feb 2026", False),
    ]


def test_balances_convert_at_the_current_rate() -> None:
    rates = ExchangeRates(RATES, [JAN, FEB], "USD")
    result = converted(rates, [(Money.of(100, "GBP"), date(2026, 1, 31))], RateType.CURRENT)
    assert result.total == Money.of(130, "USD")
    assert [c.rate_type for c in result.conversions] == [RateType.CURRENT]


def test_another_reporting_currency_uses_cross_rates_through_the_base() -> None:
    rates = ExchangeRates(RATES, [JAN], "EUR")
    result = converted(
        rates,
        [(Money.of(110, "USD"), date(2026, 1, 2)), (Money.of(100, "GBP"), date(2026, 1, 2))],
        RateType.AVERAGE,
    )
    gbp, usd = sorted(result.conversions, key=lambda c: c.original.currency)
    assert (gbp.original.currency, gbp.rate, gbp.derived) == ("GBP", Decimal("1.13636364"), True)
    assert (usd.original.currency, usd.rate, usd.derived) == ("USD", Decimal("0.90909091"), True)
    assert result.total == Money.of(Decimal("100.00") + Decimal("113.64"), "EUR")


def test_a_missing_rate_is_a_precise_source_data_error() -> None:
    rates = ExchangeRates(RATES, [JAN, FEB], "USD")
    with pytest.raises(MissingExchangeRate, match="GBP to USD for period Feb 2026") as err:
        converted(rates, [(Money.of(1, "GBP"), date(2026, 2, 1))], RateType.AVERAGE)
    assert (err.value.code, err.value.system) == ("SOURCE_DATA_ERROR", ERP)
    with pytest.raises(MissingExchangeRate, match="2026-03-01"):
        converted(rates, [(Money.of(1, "EUR"), date(2026, 3, 1))], RateType.AVERAGE)
    # amounts already in the reporting currency need neither a rate nor a period
    assert converted(rates, [(Money.of(1, "USD"), date(2030, 1, 1))], RateType.AVERAGE).total == Money.of(
        1, "USD"
    )


def test_rates_without_periods_name_the_system_they_were_asked_for() -> None:
    rates = ExchangeRates([], [], "USD", system="erp-emea")
    with pytest.raises(MissingExchangeRate, match="2026-01-01") as err:
        converted(rates, [(Money.of(1, "EUR"), date(2026, 1, 1))], RateType.AVERAGE)
    assert err.value.system == "erp-emea"


def test_converted_sums_add_up_with_their_conversions() -> None:
    rates = ExchangeRates(RATES, [JAN, FEB], "USD")
    a = converted(rates, [(Money.of(100, "EUR"), date(2026, 1, 2))], RateType.AVERAGE)
    b = converted(
        rates,
        [(Money.of(10, "EUR"), date(2026, 2, 2)), (Money.of(5, "USD"), date(2026, 2, 2))],
        RateType.CURRENT,
    )
    both = a + b
    assert both.total == Money.of(Decimal("110.00") + Decimal("10.00") + Decimal("5.00"), "USD")
    assert both.originals == (Money.of(110, "EUR"), Money.of(5, "USD"))
    assert both.conversions == a.conversions + b.conversions


def test_readiness_does_not_add_time_in_another_currency() -> None:
    def entry(entry_id: int, currency: str) -> TimeEntry:
        return TimeEntry(
            system="psa-emea",
            id=str(entry_id),
            date=date(2026, 10, 5),
            hours=2.0,
            billable=True,
            status=TimeEntryStatus.APPROVED,
            user_id="1",
            engagement_id="7",
            currency=currency,
            bill_rate=Decimal("100"),
        )

    inputs = ReadinessInputs(
        engagement=Engagement(system="psa-emea", id="7", code="ENG-1", name="E"),
        job=None,
        client=None,
        customer=ErpCustomer(system=ERP, id="1", name="C", legal_entity="C GmbH", currency="EUR"),
        unbilled_entries=[entry(1, "EUR"), entry(2, "USD"), entry(3, "EUR")],
        periods=[],
        billed_to_date=Decimal(0),
        erp_system=ERP,
        crm_system="crm-emea",
    )
    r = compute_readiness(inputs, date(2026, 11, 20), datetime(2026, 11, 20, tzinfo=UTC))
    assert r.amount == Money.of(400, "EUR")  # the USD entry is not added to EUR
    mismatch = [b for b in r.blockers if b.code == "CURRENCY_MISMATCH"]
    assert [(b.message, b.system) for b in mismatch] == [
        ("1 approved entries are in USD; the client is invoiced in EUR", "psa-emea")
    ]
    # no job: the ERP blocks where the job was looked for; today's period is missing there too
    assert {b.code: b.system for b in r.blockers if b.code in ("NOT_IN_ERP", "PERIOD_CLOSED")} == {
        "NOT_IN_ERP": ERP,
        "PERIOD_CLOSED": ERP,
    }
