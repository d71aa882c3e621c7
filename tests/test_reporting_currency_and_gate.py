"""The hand-built company of test_marts_edge_cases, plus a last day, through the real steps
(landing -> raw -> dbt build -> quality gate) in a pound and in a euro reporting currency.

Added to the company, all on Saturday 2026-01-31 (the gate's interval; ECB publishes nothing
on a Saturday, so Friday's rates apply):

* Google Ads spend 5.00 USD, Meta spend 2.25 EUR and LinkedIn spend 3.10 GBP, and an organic
  visit (so each source is fresh for the interval);
* Fay (106), a newsletter subscriber created that day who never became a lead: not a lead;
* Gus (107), created 2025-12-01 as a subscriber, a lead on 01-31 10:00, won deal 904 of
  200.00 GBP that day: a lead of the interval, although created long before it.

Each of these made the gate block correct marts before: the run context said USD whatever
the reporting currency (spend and revenue reconciliations off), the day 01-08 has only CRM
activity (an MQL and a deal created: a row in mart_channel_performance, none in
mart_channel_daily), and the gate counted contacts *created* in the interval as its leads.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from smarketing.config import Settings
from smarketing.demo.vendors import linkedin_ads as linkedin
from smarketing.intervals import resolve_window
from smarketing.landing import land_source
from smarketing.pipeline import quality_gate
from smarketing.quality.suites import SUITES
from smarketing.sources.catalog import SOURCES, EntitySpec
from smarketing.transform import DbtBuildFailed, run_dbt
from smarketing.warehouse.load import load_interval
from tests.test_marts_edge_cases import COMPANY, contact, convert, deal, session, settings_in

pytestmark = pytest.mark.slow

LAST_DAY = "2026-01-31"
COMPANY_31: dict[tuple[str, str], list[dict]] = copy.deepcopy(COMPANY)
COMPANY_31[("ga4", "events")] += session("u4", "2026-01-31 09:00", "google", "organic")
COMPANY_31[("hubspot", "contacts")] += [
    contact("106", "fay@subscriber.example", "2026-01-31 08:00", "501", "subscriber"),
    contact("107", "gus@late.example", "2025-12-01 08:00", "502", "lead", lead="2026-01-31 10:00"),
]
COMPANY_31[("hubspot", "deals")] += [
    deal("904", ["107"], "200.00", "GBP", "2026-01-31 10:00", "closedwon", "2026-01-31 12:00")
]
COMPANY_31[("google_ads", "campaign_stats")] += [
    {
        "customer": {"id": "1", "currencyCode": "USD"},
        "campaign": {"id": "1001", "name": "Brand_Search"},
        "adGroup": {"id": "100101"},
        "segments": {"date": LAST_DAY},
        "metrics": {"impressions": "5", "clicks": "0", "costMicros": "5000000"},
    }
]
COMPANY_31[("meta_ads", "insights")] += [
    {
        "account_id": "9",
        "account_currency": "EUR",
        "campaign_id": "2001",
        "campaign_name": "prospecting",
        "date_start": LAST_DAY,
        "date_stop": LAST_DAY,
        "impressions": "8",
        "clicks": "0",
        "spend": "2.25",
    }
]

# LinkedIn's account bills in pounds: a campaign that served impressions without a click
COMPANY_31[("linkedin_ads", "ad_analytics")] = [
    linkedin.landed_row(
        "508877001", "GBP", "7001", "abm_enterprise", date(2026, 1, 31), "3.10", 0, 150
    )
]

# (amount, currency, day) of every spend row and every won deal
SPEND = [
    ("12.34", "USD", "2026-01-02"),
    ("7.50", "EUR", "2026-01-03"),
    ("5.00", "USD", LAST_DAY),
    ("2.25", "EUR", LAST_DAY),
    ("3.10", "GBP", LAST_DAY),
]
WON = [
    ("1000.00", "USD", "2026-01-20"),
    ("500.00", "EUR", "2026-01-25"),
    ("200.00", "GBP", LAST_DAY),
]


class Reader:
    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        yield from json.loads(json.dumps(COMPANY_31.get((spec.source, spec.entity), [])))


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = settings_in(tmp_path_factory.mktemp("currency"))
    window = resolve_window(LAST_DAY, "2026-02-01", 0, "2025-09-01")
    for source in SOURCES:
        land_source(Reader(), source, window, settings.landing_dir)
    load_interval(settings.warehouse_path, settings.landing_dir, window)
    return settings


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def total(rows: list[tuple[str, str, str]], reporting: str) -> Decimal:
    return sum((convert(a, c, d, reporting) for a, c, d in rows), Decimal("0.00"))


@pytest.mark.parametrize("currency", ["GBP", "EUR"])
def test_reporting_currency_end_to_end_with_the_gate_green(landed: Settings, currency: str) -> None:
    settings = dataclasses.replace(landed, reporting_currency=currency)
    run_dbt(settings, "build")
    db = settings.warehouse_path
    spend, won = query(db, "select sum(spend), sum(won_revenue) from audit.mart_channel_daily")[0]
    assert spend == total(SPEND, currency)
    assert won == total(WON, currency)
    # amounts in the reporting currency itself stay exact
    exact = "200.00" if currency == "GBP" else "500.00"
    assert (Decimal(exact),) in query(
        db, "select amount_reporting from audit.fct_deals where won_at is not null"
    )
    assert query(db, "select distinct currency_code from audit.fct_attribution") == [(currency,)]
    # the subscriber is no lead; the late lead is one, dated by its lead date
    assert [r[0] for r in query(db, "select lead_id from audit.fct_lead_funnel order by 1")] == [
        "101",
        "102",
        "103",
        "104",
        "105",
        "107",
    ]
    assert query(
        db,
        "select leads from audit.mart_channel_daily where date_day = '2026-01-31'"
        " and channel = 'offline'",
    ) == [(1,)]
    # 01-08 has only CRM activity: a row in one mart, none in the other
    daily, performance = query(
        db,
        "select (select count(*) from audit.mart_channel_daily where date_day = '2026-01-08'),"
        " (select count(*) from audit.mart_channel_performance"
        "  where date_day = '2026-01-08')",
    )[0]
    assert daily == 0 and performance >= 1
    # the gate: every check runs and none fails (it raises on a blocking failure)
    gate = quality_gate(f"currency_{currency}", LAST_DAY, "2026-02-01", settings=settings)
    # every suite's checks plus the raw quarantine checks (value and counts)
    assert gate["checks_run"] == sum(len(s.checks) for s in SUITES) + len(gate["quarantine"])
    context = query(db, "select reporting_currency from audit._run_context")
    assert context == [(currency,)]


# the currency guard and what it reads; "buildable": not the mart reconciliations, whose marts
# this partial build leaves in the earlier currency
CURRENCY_GUARD = (
    "--select",
    "+assert_amounts_have_exchange_rates",
    "--indirect-selection",
    "buildable",
)


def test_missing_rate_names_currency_days_and_rows(landed: Settings, tmp_path: Path) -> None:
    """Rubles are no longer quoted by the ECB (since March 2022): every amount lacks a rate."""
    settings = dataclasses.replace(landed, reporting_currency="RUB")
    with pytest.raises(DbtBuildFailed) as err:
        run_dbt(settings, "build", *CURRENCY_GUARD)
    message = str(err.value)
    assert "assert_amounts_have_exchange_rates" in message
    assert (
        "missing_currency=RUB, rows_of=deals, first_day=2026-01-12, last_day=2026-01-31,"
        " rows_affected=4" in message
    )
    assert (
        "missing_currency=RUB, rows_of=ad spend rows, first_day=2026-01-02,"
        f" last_day=2026-01-31, rows_affected={len(SPEND)}" in message  # Google, Meta, LinkedIn
    )
    assert "SMARKETING_FX_RATES_PATH" in message
    # the user's own file supplies the missing rates: the same build passes
    own = tmp_path / "rub.csv"
    own.write_text(
        "rate_date,currency_code,units_per_eur\n"
        + "".join(f"2026-01-{d:02d},RUB,90.5\n" for d in range(1, 32))
    )
    run_dbt(
        dataclasses.replace(settings, fx_rates_path=own),
        "build",
        *CURRENCY_GUARD,
    )
    assert query(
        settings.warehouse_path,
        "select amount_reporting from intermediate.int_crm__deals where deal_id = '902'",
    ) == [(Decimal("45250.00"),)]
