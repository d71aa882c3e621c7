"""LinkedIn Ads from the vendor to staging: connector → landing → raw → stg_linkedin_ads.

The connector reads the demo vendor on 127.0.0.1, the rows are landed and loaded into
``raw.linkedin_ads__ad_analytics`` as every source is, then dbt builds the staging model and
its tests.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from smarketing.config import Settings, load_settings
from smarketing.demo.vendors import linkedin_ads as demo
from smarketing.intervals import DataWindow
from smarketing.landing import land_entity
from smarketing.sources.credentials import Credentials
from smarketing.sources.http import RetryPolicy
from smarketing.sources.linkedin_ads import AD_ANALYTICS, LinkedInAdsReader
from smarketing.transform import run_dbt
from smarketing.warehouse.load import load_interval

PROJECT_DIR = Path(__file__).resolve().parents[2]
PSEUDONYM_KEY = "linkedin-staging-pseudonym-key-0123456789abcdef"
A, B = demo.DEMO_ACCOUNT_ID, "508877002"


def _settings(base: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("AIRFLOW_CONN_SMARKETING_PSEUDONYM", json.dumps({"password": PSEUDONYM_KEY}))
    monkeypatch.setenv("SMARKETING_PROJECT_DIR", str(PROJECT_DIR))
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(base / "data"))
    settings = load_settings()
    settings.ensure_dirs()
    return settings


def test_staging_renames_and_casts_what_the_connector_landed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        demo.landed_row(A, "EUR", "7001", "Brand – DACH", date(2026, 1, 5), "12.345678", 3, 400),
        demo.landed_row(A, "EUR", "7001", "Brand – DACH", date(2026, 1, 6), "0.01", 1, 9),
        demo.landed_row(A, "EUR", "7002", "Ping +44 20 7946 0958", date(2026, 1, 6), "5", 0, 0),
        demo.landed_row(B, "GBP", "8001", None, date(2026, 1, 6), "99.99", 12, 1000),
        demo.landed_row(A, "EUR", "7001", "Brand – DACH", date(2026, 1, 7), "1.00", 1, 1),
    ]
    settings = _settings(tmp_path, monkeypatch)
    window = DataWindow(
        datetime(2026, 1, 5, tzinfo=UTC),
        datetime(2026, 1, 7, tzinfo=UTC),
        datetime(2026, 1, 5, tzinfo=UTC),
    )
    with demo.LinkedInAdsServer(demo.LinkedInAdsApi(rows)) as server:
        conn = demo.connection(server.url, [A, B])
        creds = Credentials(
            "smarketing_linkedin_ads", conn["host"], conn["login"], conn["password"], conn["extra"]
        )
        landed = land_entity(
            LinkedInAdsReader(creds, RetryPolicy(max_attempts=2)),
            AD_ANALYTICS,
            window,
            settings.landing_dir,
        )
    assert landed.records == 4  # 01-07 lies outside [01-05, 01-07)
    load_interval(settings.warehouse_path, settings.landing_dir, window, specs=(AD_ANALYTICS,))
    # the model and its own tests (not the spend reconciliation, which also reads the marts)
    run_dbt(
        settings,
        "build",
        "--select",
        "stg_linkedin_ads__ad_analytics",
        "--indirect-selection",
        "cautious",
    )
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        got = con.execute(
            """select account_id, campaign_id, campaign_name, date_day, cost, currency_code,
                      clicks, impressions
               from staging.stg_linkedin_ads__ad_analytics
               order by date_day, account_id, campaign_id"""
        ).fetchall()
        types = dict(
            con.execute(
                """select column_name, data_type from information_schema.columns
                   where table_name = 'stg_linkedin_ads__ad_analytics'"""
            ).fetchall()
        )
    finally:
        con.close()
    assert got == [
        (A, "7001", "Brand – DACH", date(2026, 1, 5), Decimal("12.345678"), "EUR", 3, 400),
        (A, "7001", "Brand – DACH", date(2026, 1, 6), Decimal("0.010000"), "EUR", 1, 9),
        (A, "7002", "Ping [phone]", date(2026, 1, 6), Decimal("5.000000"), "EUR", 0, 0),
        (B, "8001", None, date(2026, 1, 6), Decimal("99.990000"), "GBP", 12, 1000),
    ]
    assert types["cost"] == "DECIMAL(18,6)" and types["date_day"] == "DATE"
    assert types["clicks"] == "BIGINT" and types["impressions"] == "BIGINT"
