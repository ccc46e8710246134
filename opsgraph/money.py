"""Aggregating money across currencies: convert to the reporting currency at the ERP's rates.

Amounts in different currencies are never added (`Money.__add__` raises): an aggregate over
records in several currencies converts each to the firm's reporting currency first, at the ERP's
consolidated exchange rate of an accounting period. Which rate:

- `AVERAGE` for flows over a period (revenue invoiced in it): the period's average rate, as the
  ERP's income statement translates them;
- `CURRENT` for positions and projections as of a day (approved unbilled time, backlog, weighted
  pipeline): the period-end rate of the period holding that day, the latest rate the ERP knows.

Amounts are grouped by (currency, period, rate type); each group is converted once and rounded to
cents, and every conversion is reported with its rate and period so a figure can be checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from opsgraph.connectors.errors import SourceDataError
from opsgraph.model import AccountingPeriod, ExchangeRate, Money

DERIVED_RATE_PLACES = Decimal("0.00000001")


class RateType(StrEnum):
    AVERAGE = "AVERAGE"
    CURRENT = "CURRENT"


class MissingExchangeRate(SourceDataError):
    """The ERP system `system` has no rate (or no accounting period) for a conversion an aggregate needs."""

    def __init__(self, system: str, message: str) -> None:
        super().__init__(system, message)


@dataclass(frozen=True)
class Conversion:
    """One group of amounts in `original.currency`, converted at one rate of one period."""

    original: Money
    converted: Money
    rate: Decimal  # 1 original currency = rate x reporting currency
    rate_type: RateType
    period: AccountingPeriod
    derived: bool  # a cross rate through the ERP's base currency, not one the ERP holds directly


@dataclass(frozen=True)
class ConvertedMoney:
    """A sum in the reporting currency, with the originals per currency and the conversions used."""

    total: Money
    originals: tuple[Money, ...] = ()
    conversions: tuple[Conversion, ...] = ()

    def __add__(self, other: ConvertedMoney) -> ConvertedMoney:
        originals: dict[str, Money] = {m.currency: m for m in self.originals}
        for m in other.originals:
            originals[m.currency] = originals[m.currency] + m if m.currency in originals else m
        return ConvertedMoney(
            total=self.total + other.total,
            originals=tuple(originals[c] for c in sorted(originals)),
            conversions=self.conversions + other.conversions,
        )


class ExchangeRates:
    """One ERP system's rates for some of its periods, looked up towards one reporting currency.

    `system` is the ERP system the rates and periods come from (what a `MissingExchangeRate` names);
    by default the periods' system.
    """

    def __init__(
        self,
        rates: Iterable[ExchangeRate],
        periods: Iterable[AccountingPeriod],
        reporting_currency: str,
        *,
        system: str | None = None,
    ) -> None:
        self.reporting_currency = reporting_currency
        self.periods = sorted(periods, key=lambda p: p.start)
        self.system = system or (self.periods[0].system if self.periods else "")
        self._rates = {(r.period_id, r.from_currency, r.to_currency): r for r in rates}
        self._period_by_day: dict[date, AccountingPeriod] = {}

    def period_of(self, day: date) -> AccountingPeriod:
        found = self._period_by_day.get(day)
        if found is not None:
            return found
        for p in self.periods:
            if p.start <= day <= p.end:
                self._period_by_day[day] = p
                return p
        raise MissingExchangeRate(
            self.system, f"no ERP accounting period holds {day}, so no exchange rate applies"
        )

    def rate(self, currency: str, period: AccountingPeriod, rate_type: RateType) -> tuple[Decimal, bool]:
        """(rate, derived): 1 `currency` = rate x the reporting currency in `period`."""
        target = self.reporting_currency
        if currency == target:
            return Decimal(1), False
        direct = self._rates.get((period.id, currency, target))
        if direct is not None:
            return _pick(direct, rate_type), False
        inverse = self._rates.get((period.id, target, currency))
        if inverse is not None:
            return (1 / _pick(inverse, rate_type)).quantize(DERIVED_RATE_PLACES), True
        for (pid, source, base), r in self._rates.items():  # cross rate through a common currency
            other = self._rates.get((period.id, target, base))
            if pid == period.id and source == currency and other is not None:
                return (_pick(r, rate_type) / _pick(other, rate_type)).quantize(DERIVED_RATE_PLACES), True
        raise MissingExchangeRate(
            self.system, f"the ERP has no exchange rate from {currency} to {target} for period {period.name}"
        )


def _pick(rate: ExchangeRate, rate_type: RateType) -> Decimal:
    return rate.average_rate if rate_type is RateType.AVERAGE else rate.current_rate


@dataclass
class Converter:
    """Collects amounts with the day and rate type each converts at, then converts them in groups."""

    rates: ExchangeRates
    _groups: dict[tuple[str, str, RateType], Decimal] = field(default_factory=dict)
    _periods: dict[str, AccountingPeriod] = field(default_factory=dict)

    def add(self, amount: Decimal, currency: str, day: date, rate_type: RateType) -> None:
        """Plain values, not `Money`: views add tens of thousands of amounts per request."""
        period_id = ""  # amounts already in the reporting currency need no rate, hence no period
        if currency != self.rates.reporting_currency:
            period = self.rates.period_of(day)
            self._periods[period_id := period.id] = period
        key = (currency, period_id, rate_type)
        self._groups[key] = self._groups.get(key, Decimal(0)) + amount

    def result(self) -> ConvertedMoney:
        target = self.rates.reporting_currency
        total = Money.of(0, target)
        originals: dict[str, Money] = {}
        conversions: list[Conversion] = []
        for (currency, period_id, rate_type), amount in sorted(self._groups.items()):
            original = Money.of(amount, currency)
            originals[currency] = originals[currency] + original if currency in originals else original
            if currency == target:
                total = total + original
                continue
            period = self._periods[period_id]
            rate, derived = self.rates.rate(currency, period, rate_type)
            converted = Money.of(amount * rate, target)
            total = total + converted
            conversions.append(Conversion(original, converted, rate, rate_type, period, derived))
        return ConvertedMoney(total, tuple(originals[c] for c in sorted(originals)), tuple(conversions))


def converted(
    rates: ExchangeRates, amounts: Iterable[tuple[Money, date]], rate_type: RateType
) -> ConvertedMoney:
    """Convert amounts, each at the rate of the period holding its day."""
    c = Converter(rates)
    for amount, day in amounts:
        c.add(amount.amount, amount.currency, day, rate_type)
    return c.result()
