"""The simulated account's consolidated exchange rates, derived from the world's seed.

The simulated account is OneWorld with a parent subsidiary in the base currency (USD, currency 1)
and one child subsidiary per other currency; a subsidiary's id is its currency's id. NetSuite keeps,
per accounting period and child -> parent pair, three rates that translate 1 unit of the child's
currency into the parent's: `averagerate` (income statement), `currentrate` (the period-end rate, for
balance sheet accounts) and `historicalrate` (equity). Rates walk a seeded random path from a plausible
level, period by period, up to the world's as-of period; later (future) periods carry the latest
period-end rate, as NetSuite seeds a new period's rates from the currency exchange rate table.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from simulators.netsuite.sim_state import CURRENCIES, tf
from simulators.simkit.store import Row
from simulators.world import World

BASE_CURRENCY_ID = 1
START_LEVELS = {"GBP": 1.27, "CAD": 0.73, "EUR": 1.08}
"""1 unit of the currency in USD at the start of the world's history."""
MONTHLY_VOLATILITY = 0.015


def exchange_rate_rows(world: World) -> Iterator[Row]:
    """One row per (period, non-base currency), in period then currency order, with ids from 1."""
    rng = random.Random(f"{world.seed}:consolidated-exchange-rates")
    level = {sym: START_LEVELS.get(sym, 1.0) for cid, _, sym in CURRENCIES if cid != BASE_CURRENCY_ID}
    next_id = 1
    for period in sorted(world.periods, key=lambda p: p.start):
        started = period.start <= world.as_of
        for cid, _, sym in CURRENCIES:
            if cid == BASE_CURRENCY_ID:
                continue
            opening = level[sym]
            closing = opening * (1 + rng.gauss(0, MONTHLY_VOLATILITY)) if started else opening
            level[sym] = closing
            average = (opening + closing) / 2
            yield {
                "id": next_id,
                "postingperiod": int(period.id),
                "periodstartdate": period.start.isoformat(),
                "isperiodclosed": tf(period.closed),
                "fromsubsidiary": cid,
                "tosubsidiary": BASE_CURRENCY_ID,
                "fromcurrency": cid,
                "tocurrency": BASE_CURRENCY_ID,
                "isderived": "F",
                "averagerate": round(average, 6),
                "currentrate": round(closing, 6),
                "historicalrate": round(opening, 6),
            }
            next_id += 1
