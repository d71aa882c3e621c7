"""LinkedIn Ads, added through the registry, reaches every published mart as the demo truth says.

The tiny demo company is extracted (LinkedIn through its real connector against the demo
server: OAuth refresh, adAnalytics finder), loaded, built and published once per session
(``published_demo``); its LinkedIn spend (pounds, converted per row at the ECB rate of the
day) and the web visits its ads brought must come out of the marts exactly as the ground
truth, computed from the simulated world alone, has them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import duckdb
import pytest

from smarketing.config import Settings
from smarketing.demo.vendors import linkedin_ads as demo
from smarketing.demo.world import amount_known, generate, iso
from tests.conftest import TINY

pytestmark = pytest.mark.slow  # builds the published demo (~1 min) unless another test did

PLATFORM = "linkedin_ads"
CAMPAIGNS = {name: campaign_id for campaign_id, name in demo.LINKEDIN_CAMPAIGNS}


def _cents(value: int) -> Decimal:
    return Decimal(value) / 100


@pytest.fixture(scope="module")
def marts(published_demo: Settings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(published_demo.published_path), read_only=True)
    yield con
    con.close()


def test_linkedin_spend_per_day_and_campaign_month_equals_the_truth(
    marts: duckdb.DuckDBPyConnection, truth: dict
) -> None:
    want = {
        r["date_day"]: _cents(r["spend_cents"])
        for r in truth["spend_by_platform_day"]
        if r["platform"] == PLATFORM
    }
    assert len(want) == 45 and all(v > 0 for v in want.values())  # every day of the demo
    got = dict(
        marts.execute(
            "select strftime(date_day, '%Y-%m-%d'), sum(spend) from mart_channel_performance"
            " where platform = ? group by 1",
            [PLATFORM],
        ).fetchall()
    )
    assert got == want
    # the daily mart's paid social is Meta's and LinkedIn's spend together, day by day
    daily = dict(
        marts.execute(
            "select strftime(date_day, '%Y-%m-%d'), spend from mart_channel_daily"
            " where channel = 'paid_social'"
        ).fetchall()
    )
    social = {
        r["date_day"]: _cents(r["spend_cents"])
        for r in truth["channel_daily"]
        if r["channel"] == "paid_social"
    }
    assert daily == social
    meta = sum(
        _cents(r["spend_cents"])
        for r in truth["spend_by_platform_day"]
        if r["platform"] == "meta_ads"
    )
    assert sum(daily.values()) == meta + sum(want.values())
    # unit economics: the LinkedIn campaigns' monthly spend is the truth's per month
    months: dict[str, Decimal] = defaultdict(Decimal)
    for day, spend in want.items():
        months[day[:7]] += spend
    monthly = marts.execute(
        "select strftime(month, '%Y-%m'), sum(spend) from mart_unit_economics"
        " where grain = 'campaign' and channel = 'paid_social' and campaign in (?, ?)"
        " group by 1 order by 1",
        list(CAMPAIGNS),
    ).fetchall()
    assert monthly == sorted(months.items()) and len(monthly) == 2


def test_linkedin_campaigns_are_in_the_campaign_dimension_with_their_ids(
    marts: duckdb.DuckDBPyConnection,
) -> None:
    rows = marts.execute(
        "select campaign_name, platform_campaign_id, channel from dim_campaign"
        " where platform = ? order by 1",
        [PLATFORM],
    ).fetchall()
    assert rows == [(name, CAMPAIGNS[name], "paid_social") for name in sorted(CAMPAIGNS)]


def test_linkedin_ad_clicks_are_attributed_touches_of_the_leads_that_clicked(
    marts: duckdb.DuckDBPyConnection,
) -> None:
    """Every LinkedIn visit of a deal's buying group within the lookback before its
    opportunity (won or priced open deals) is an ad-click touch of that deal, and nothing
    else is credited to a LinkedIn campaign."""
    world = generate(TINY["seed"], TINY["scale"], TINY["start"], TINY["end"])
    visits = defaultdict(list)
    for s in world.sessions:
        if s.source == demo.UTM_SOURCE:
            visits[s.user_pseudo_id].append(s)
    want = {
        (c.deal_id, iso(s.started_at), s.campaign)
        for c in world.contacts
        if c.deal_id and c.lost_at is None and amount_known(c) and c.ga_client_id
        for s in visits[c.ga_client_id]
        if c.opportunity_at - timedelta(days=90) <= s.started_at <= c.opportunity_at
    }
    assert len(want) >= 3
    got = marts.execute(
        "select distinct deal_id, strftime(touched_at, '%Y-%m-%dT%H:%M:%S.%g') || 'Z', campaign,"
        " touch_type, channel from fct_attribution where campaign in (?, ?)",
        list(CAMPAIGNS),
    ).fetchall()
    assert {(d, t, c) for d, t, c, _, _ in got} == want
    assert {(kind, channel) for *_, kind, channel in got} == {("ad_click", "paid_social")}
