"""Demo daily exchange rates (USD per unit), the source of dbt's exchange_rates seed.

These are made-up, smooth random-walk rates for the demo company, not market data. Users
replace ``dbt_project/seeds/exchange_rates.csv`` with their finance team's daily rates; the
demo's ground truth converts with the same numbers (a test keeps seed and function equal).
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

BASE = {"EUR": Decimal("1.0850"), "GBP": Decimal("1.2700")}
FIRST_DAY, LAST_DAY = date(2025, 1, 1), date(2027, 12, 31)


def daily_rates() -> dict[tuple[date, str], Decimal]:
    """(day, currency) -> USD per unit, 6 decimals; USD is always 1."""
    rng = random.Random("smarketing-fx")
    rates: dict[tuple[date, str], Decimal] = {}
    level = dict(BASE)
    day = FIRST_DAY
    while day <= LAST_DAY:
        rates[(day, "USD")] = Decimal("1.000000")
        for cur in sorted(level):
            step = Decimal(str(round(rng.gauss(0, 0.002), 6)))
            level[cur] = (level[cur] * (1 + step)).quantize(Decimal("0.000001"))
            rates[(day, cur)] = level[cur]
        day += timedelta(days=1)
    return rates


def to_usd_cents(amount_cents: int, currency: str, day: date, rates: dict) -> int:
    """Convert like dbt does: amount × rate, rounded half away from zero to the cent."""
    usd = Decimal(amount_cents) / 100 * rates[(day, currency)]
    return int((usd.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100).to_integral_value())


def write_seed(path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["rate_date", "currency_code", "usd_per_unit"])
        for (day, cur), rate in sorted(daily_rates().items()):
            writer.writerow([day.isoformat(), cur, f"{rate:.6f}"])
