"""A company whose leads never visited the website, in HubSpot's real shapes, through the real
steps (landing -> raw -> dbt build).

Without a web visit HubSpot's original source (hs_analytics_source and its drill-down)
decides the lead's channel in every channel mart; `offline` only when neither exists. The
same company carries what real accounts send: a contact without e-mail, an open deal
without amount, a deal without currency (the company currency), timestamps as epoch
milliseconds, without milliseconds and as plain dates.

* Fay (201) PAID_SEARCH / google, created 2026-01-05 10:00 (epoch ms); open deal 911 with no
  amount yet (created 01-10).
* Gus (202) ORGANIC_SEARCH, no e-mail, created 2026-01-06 (a plain date: midnight UTC);
  deal 912 of 200.00, no currency (USD, the company currency), won 2026-01-20 (epoch ms).
* Hal (203) no source at all: offline. Open deal 913 of 100.00 USD.
* Ida (204) SOCIAL_MEDIA: other.
* Jo (205) visited from a referral and filled in the form; HubSpot says DIRECT_TRAFFIC: the
  web decides (referral); the two disagree.
* Kim (206) visited from organic search; HubSpot says ORGANIC_SEARCH: they agree.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from smarketing.config import Settings
from smarketing.intervals import resolve_window
from smarketing.landing import land_source
from smarketing.sources.catalog import SOURCES, EntitySpec
from smarketing.transform import dbt_env, run_dbt
from smarketing.warehouse.load import load_interval
from tests.test_marts_edge_cases import contact, deal, person_key, query, session, settings_in

pytestmark = pytest.mark.slow


def epoch_ms(text: str) -> str:
    return str(int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000))


def sourced(record: dict, source: str | None, drill: str | None = None, **props) -> dict:
    record["properties"]["hs_analytics_source"] = source
    record["properties"]["hs_analytics_source_data_1"] = drill
    record["properties"].update(props)
    return record


def _deals() -> list[dict]:
    fay = deal("911", ["201"], "", "USD", "2026-01-10 09:00", "appointmentscheduled")
    fay["properties"]["amount"] = None  # open, not priced yet
    gus = deal("912", ["202"], "200.00", "USD", "2026-01-08 09:00", "closedwon", "2026-01-20 15:00")
    gus["properties"]["deal_currency_code"] = None  # the company currency
    gus["properties"]["closedate"] = epoch_ms("2026-01-20 15:00")
    hal = deal("913", ["203"], "100.00", "USD", "2026-01-12 09:00", "appointmentscheduled")
    return [fay, gus, hal]


COMPANY: dict[tuple[str, str], list[dict]] = {
    ("ga4", "events"): [
        *session("v5", "2026-01-09 09:00", "news.example", "referral", form=True),
        *session("v6", "2026-01-09 11:00", "google", "organic", form=True),
    ],
    ("hubspot", "contacts"): [
        sourced(
            contact("201", "fay@a.example", "2026-01-05 10:00", "501", "opportunity"),
            "PAID_SEARCH",
            "google",
            createdate=epoch_ms("2026-01-05 10:00"),
        ),
        sourced(
            contact("202", "", "2026-01-06 00:00", "501", "customer"),
            "ORGANIC_SEARCH",
            email=None,
            createdate="2026-01-06",
        ),
        sourced(
            contact("203", "hal@c.example", "2026-01-07 10:00:00", "502", "opportunity"),
            None,
            createdate="2026-01-07T10:00:00Z",  # without milliseconds
        ),
        sourced(contact("204", "ida@d.example", "2026-01-08 10:00", "502", "lead"), "SOCIAL_MEDIA"),
        sourced(
            contact("205", "jo@e.example", "2026-01-09 09:02", "501", "lead", ga="v5"),
            "DIRECT_TRAFFIC",
        ),
        sourced(
            contact("206", "kim@f.example", "2026-01-09 11:02", "501", "lead", ga="v6"),
            "ORGANIC_SEARCH",
        ),
    ],
    ("hubspot", "deals"): _deals(),
}


class Reader:
    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        yield from json.loads(json.dumps(COMPANY.get((spec.source, spec.entity), [])))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    settings = settings_in(tmp_path_factory.mktemp("crm_sources"))
    window = resolve_window("2026-01-31", "2026-02-01", 0, "2025-12-01")
    for source in SOURCES:
        landed = land_source(Reader(), source, window, settings.landing_dir)
        assert all(item.quarantined == 0 for item in landed)  # every timestamp form accepted
    load_interval(settings.warehouse_path, settings.landing_dir, window)
    run_dbt(settings, "build")
    return settings, settings.warehouse_path


def test_leads_without_a_visit_take_the_crms_original_source(warehouse) -> None:
    _, db = warehouse
    got = query(
        db,
        "select lead_id, person_key, first_touch_channel, first_touch_campaign_key,"
        " channel_source, crm_channel, crm_source_agrees, lead_at"
        " from audit.fct_lead_funnel order by lead_id",
    )
    at = lambda s: datetime.fromisoformat(s)  # noqa: E731
    assert [r[:1] + r[2:] for r in got] == [
        (
            "201",
            "paid_search",
            "paid_search:(none)",
            "crm",
            "paid_search",
            None,
            at("2026-01-05 10:00"),
        ),
        (
            "202",
            "organic_search",
            "organic_search:(none)",
            "crm",
            "organic_search",
            None,
            at("2026-01-06 00:00"),
        ),
        ("203", "offline", "offline:(none)", "none", None, None, at("2026-01-07 10:00")),
        ("204", "other", "other:(none)", "crm", "other", None, at("2026-01-08 10:00")),
        ("205", "referral", "referral:(none)", "web", "direct", False, at("2026-01-09 09:02")),
        (
            "206",
            "organic_search",
            "organic_search:(none)",
            "web",
            "organic_search",
            True,
            at("2026-01-09 11:02"),
        ),
    ]
    keys = {r[0]: r[1] for r in got}
    # no e-mail: still a person, identified by the CRM id (published only as its keyed hash)
    assert keys["202"] == person_key("hubspot:202")
    assert len(set(keys.values())) == 6
    # how often the CRM's source and the stitched first touch agree: 1 of the 2 comparable
    rate = query(db, "select avg(crm_source_agrees::int) from audit.fct_lead_funnel")
    assert rate == [(0.5,)]


def test_every_channel_mart_shows_the_crm_sources(warehouse) -> None:
    _, db = warehouse
    daily = query(
        db,
        "select date_day::varchar, channel, leads, won_deals, won_revenue"
        " from audit.mart_channel_daily where leads > 0 or won_deals > 0 order by 1, 2",
    )
    assert daily == [
        ("2026-01-05", "paid_search", 1, 0, Decimal("0.00")),
        ("2026-01-06", "organic_search", 1, 0, Decimal("0.00")),
        ("2026-01-07", "offline", 1, 0, Decimal("0.00")),
        ("2026-01-08", "other", 1, 0, Decimal("0.00")),
        ("2026-01-09", "organic_search", 1, 0, Decimal("0.00")),
        ("2026-01-09", "referral", 1, 0, Decimal("0.00")),
        ("2026-01-20", "organic_search", 0, 1, Decimal("200.00")),
    ]
    perf = query(
        db,
        "select campaign_key, sum(leads), sum(won_revenue) from audit.mart_channel_performance"
        " group by 1 having sum(leads) > 0 or sum(won_revenue) > 0 order by 1",
    )
    assert perf == [
        ("offline:(none)", 1, Decimal("0.00")),
        ("organic_search:(none)", 2, Decimal("200.00")),
        ("other:(none)", 1, Decimal("0.00")),
        ("paid_search:(none)", 1, Decimal("0.00")),
        ("referral:(none)", 1, Decimal("0.00")),
    ]
    funnel = query(
        db,
        "select channel, sum(leads), sum(won_deals) from audit.mart_funnel_conversion"
        " group by 1 having sum(leads) > 0 order by 1",
    )
    assert funnel == [
        ("offline", 1, 0),
        ("organic_search", 2, 1),
        ("other", 1, 0),
        ("paid_search", 1, 0),
        ("referral", 1, 0),
    ]
    deals = query(
        db,
        "select deal_id, source_channel, deal_amount, deal_currency, amount_reporting, is_priced"
        " from audit.fct_deals order by 1",
    )
    assert deals == [
        ("911", "paid_search", None, "USD", None, False),
        ("912", "organic_search", Decimal("200.00"), "USD", Decimal("200.00"), True),
        ("913", "offline", Decimal("100.00"), "USD", Decimal("100.00"), True),
    ]


def test_unpriced_open_deals_are_counted_not_valued(warehouse) -> None:
    _, db = warehouse
    summary = query(
        db,
        "select month::varchar, opportunities_created, unpriced_opportunities_created,"
        " pipeline_created, bookings from audit.mart_revenue_summary order by 1",
    )
    assert summary == [("2026-01-01", 3, 1, Decimal("300.00"), Decimal("200.00"))]
    accounts = query(
        db,
        "select sum(open_deals), sum(unpriced_open_deals), sum(open_pipeline)"
        " from audit.mart_account_journey",
    )
    assert accounts == [(2, 1, Decimal("100.00"))]
    # the unpriced deal has nothing to attribute; the won deal is credited in full
    credited = query(
        db,
        "select deal_id, sum(attributed_amount) from audit.fct_attribution"
        " where attribution_model = 'linear' group by 1 order by 1",
    )
    assert ("911",) not in [r[:1] for r in credited]


def test_company_currency_is_a_setting_that_reaches_staging(settings: Settings) -> None:
    """A deal without currency is in the account's company currency: a setting, not code."""
    custom = dataclasses.replace(settings, hubspot_company_currency="EUR")
    assert dbt_env(custom)["SMARKETING_HUBSPOT_COMPANY_CURRENCY"] == "EUR"
    assert run_dbt(custom, "compile", "--select", "stg_hubspot__deals").success
    compiled = (
        settings.data_dir / "dbt" / "target" / "compiled" / "smarketing" / "models" / "staging"
    )
    sql = (compiled / "hubspot" / "stg_hubspot__deals.sql").read_text()
    assert "upper('EUR')" in sql
