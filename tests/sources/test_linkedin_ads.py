"""LinkedIn Ads connector against the demo vendor on 127.0.0.1, speaking LinkedIn's wire format.

The oracle is the rows the demo vendor was built from: the connector must land exactly the
campaign-days of its window, each with its account's currency and its campaign's name.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from smarketing import redact
from smarketing.demo.vendors import linkedin_ads as demo
from smarketing.intervals import DataWindow
from smarketing.landing import land_entity, type_problems, validate
from smarketing.sources.base import Malformed
from smarketing.sources.credentials import Credentials
from smarketing.sources.http import RetryPolicy, SourceHttpError, SourceResponseError
from smarketing.sources.linkedin_ads import (
    AD_ANALYTICS,
    ENTITIES,
    LinkedInAdsReader,
    LinkedInRequestError,
    restli_date_range,
)

ACCOUNT = demo.DEMO_ACCOUNT_ID
OTHER_ACCOUNT = "508877002"
START, END = datetime(2026, 1, 30, tzinfo=UTC), datetime(2026, 2, 3, tzinfo=UTC)


def day(n: int) -> date:
    return date(2026, 1, 28) + timedelta(days=n)


def _rows() -> list[dict]:
    """Two EUR campaigns, one GBP campaign of a second account; some days without activity."""
    rows = []
    for n in range(8):  # 2026-01-28 .. 2026-02-04
        rows.append(
            demo.landed_row(
                ACCOUNT, "EUR", "7001", "Brand – DACH", day(n), f"{10 + n}.25", n, 100 * n
            )
        )
        if n % 3 != 0:  # campaign 7002 is dark on 01-28, 01-31, 02-03
            rows.append(
                demo.landed_row(
                    ACCOUNT, "EUR", "7002", "Demand gen", day(n), Decimal("3.3333"), 1, 40
                )
            )
        rows.append(demo.landed_row(OTHER_ACCOUNT, "GBP", "8001", "UK ABM", day(n), "0.99", 2, 7))
    return rows


def _in_window(rows: list[dict], accounts: set[str], start=START, end=END) -> list[dict]:
    first, last = start.date().isoformat(), (end - timedelta(days=1)).date().isoformat()
    return [
        r for r in rows if r["account"].rsplit(":", 1)[1] in accounts and first <= r["day"] <= last
    ]


def _norm(rows) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


class Harness:
    def __init__(self, api: demo.LinkedInAdsApi, server: demo.LinkedInAdsServer):
        self.api, self.server, self.slept = api, server, []

    def reader(
        self, accounts: str = ACCOUNT, max_elements: int = demo.MAX_ELEMENTS, **extra: str
    ) -> LinkedInAdsReader:
        conn = demo.connection(self.server.url, accounts.split(","))
        creds = Credentials(
            "smarketing_linkedin_ads",
            conn["host"],
            conn["login"],
            conn["password"],
            {**conn["extra"], **extra},
        )
        policy = RetryPolicy(max_attempts=3, backoff_seconds=0.5)
        return LinkedInAdsReader(creds, policy, sleep=self.slept.append, max_elements=max_elements)

    def calls(self, path: str) -> list[str]:
        return [r for r in self.api.requests if r.split(" ")[1].split("?")[0] == path]


def api(**options: object) -> pytest.MarkDecorator:
    """Options of the demo vendor for one test (rows, limits, hostile behaviour)."""
    return pytest.mark.parametrize("vendor", [options], indirect=True, ids=["api"])


@pytest.fixture
def vendor(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """The demo vendor serving :func:`_rows` unless the test's :func:`api` options say else."""
    options = dict(getattr(request, "param", {}))
    rows = options.pop("rows", None)
    vendor_api = demo.LinkedInAdsApi(_rows() if rows is None else rows, **options)
    with demo.LinkedInAdsServer(vendor_api) as server:
        yield Harness(vendor_api, server)


def test_reads_campaign_days_with_currency_names_and_no_rows_for_dark_days(
    vendor: Harness,
) -> None:
    got = list(vendor.reader().read(AD_ANALYTICS, START, END))
    want = _in_window(vendor.api.rows, {ACCOUNT})
    assert _norm(got) == _norm(want)
    # 4 days × campaign 7001 + the 3 days campaign 7002 was active (dark on 01-31)
    assert len(got) == 7
    assert {(r["campaign"], r["day"]) for r in got if r["campaign"].endswith("7002")} == {
        ("urn:li:sponsoredCampaign:7002", "2026-01-30"),
        ("urn:li:sponsoredCampaign:7002", "2026-02-01"),
        ("urn:li:sponsoredCampaign:7002", "2026-02-02"),
    }
    assert {r["accountCurrency"] for r in got} == {"EUR"}
    assert sum(Decimal(r["costInLocalCurrency"]) for r in got) == Decimal("12.25") + Decimal(
        "13.25"
    ) + Decimal("14.25") + Decimal("15.25") + 3 * Decimal("3.3333")
    assert {r["campaignName"] for r in got} == {"Brand – DACH", "Demand gen"}
    # one token exchange, one account, one campaign page, one analytics call for 4 days
    assert [r.split("?")[0] for r in vendor.api.requests] == [
        "POST /oauth/v2/accessToken",
        f"GET /rest/adAccounts/{ACCOUNT}",
        f"GET /rest/adAccounts/{ACCOUNT}/adCampaigns",
        "GET /rest/adAnalytics",
    ]


def test_the_window_is_sent_as_an_inclusive_restli_date_range_and_an_encoded_account_list(
    vendor: Harness,
) -> None:
    list(vendor.reader().read(AD_ANALYTICS, START, END))
    (call,) = vendor.calls("/rest/adAnalytics")
    query = call.split("?", 1)[1]
    # [01-30, 02-03) is the inclusive 01-30..02-02, across the month end
    assert "dateRange=(start:(year:2026,month:1,day:30),end:(year:2026,month:2,day:2))" in query
    assert "accounts=List(urn%3Ali%3AsponsoredAccount%3A508877001)" in query
    assert "q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY" in query
    assert "fields=dateRange,pivotValues,costInLocalCurrency,impressions,clicks" in query


def test_the_demo_refuses_a_percent_encoded_restli_structure_as_a_2_0_parser_does(
    vendor: Harness,
) -> None:
    """What ``requests``' own parameter encoding would send: the structure is lost."""
    token = vendor.api._issue(_grant())[1]["access_token"]  # a live token
    headers = {
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": demo.API_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
    }
    good = (
        "/rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY&dateRange="
        + restli_date_range(date(2026, 1, 30), date(2026, 1, 30))
        + "&accounts=List(urn%3Ali%3AsponsoredAccount%3A508877001)&fields=clicks"
    )
    status, body, _ = vendor.api.handle("GET", good, headers)
    assert status == 200 and body["elements"] == [{"clicks": 2}, {"clicks": 1}]
    encoded = good.replace("(", "%28").replace(")", "%29").replace(":", "%3A")
    status, body, _ = vendor.api.handle("GET", encoded, headers)
    assert status == 400 and body["code"] == "ILLEGAL_ARGUMENT" and "dateRange" in body["message"]


def _grant() -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "refresh_token": demo.DEMO_REFRESH_TOKEN,
        "client_id": demo.DEMO_CLIENT_ID,
        "client_secret": demo.DEMO_CLIENT_SECRET,
    }


def test_each_account_is_read_in_its_own_currency(vendor: Harness) -> None:
    got = list(vendor.reader(f"{ACCOUNT},{OTHER_ACCOUNT}").read(AD_ANALYTICS, START, END))
    assert _norm(got) == _norm(_in_window(vendor.api.rows, {ACCOUNT, OTHER_ACCOUNT}))
    by_currency: dict[str, Decimal] = {}
    for r in got:
        by_currency[r["accountCurrency"]] = by_currency.get(r["accountCurrency"], 0) + Decimal(
            r["costInLocalCurrency"]
        )
    assert by_currency == {"EUR": Decimal("64.9999"), "GBP": Decimal("3.96")}
    assert len(vendor.calls("/rest/adAnalytics")) == 2  # one per account: rows name no account


@api(rows=[demo.landed_row(ACCOUNT, "", "7001", "x", date(2026, 1, 30), "1.00", 1, 1)])
def test_an_account_without_a_currency_fails_naming_it(vendor: Harness) -> None:
    with pytest.raises(SourceResponseError) as err:
        list(vendor.reader().read(AD_ANALYTICS, START, END))
    assert f"account {ACCOUNT} has no ISO 4217 'currency'" in str(err.value)
    assert "endpoint=GET /rest/adAccounts/508877001" in str(err.value)
    assert vendor.calls("/rest/adAnalytics") == []  # no spend of unknown currency fetched


@api(
    campaigns=[
        {"id": str(9000 + i), "account_id": ACCOUNT, "name": f"Old {i}", "status": status}
        for i, status in enumerate(["ARCHIVED", "REMOVED", "PAUSED"] * 70)
    ]
)
def test_campaign_names_page_by_cursor_over_every_status(vendor: Harness) -> None:
    reader = vendor.reader()
    names = reader.campaign_names(ACCOUNT)
    assert len(names) == 212  # 210 without spend + 7001 + 7002
    assert names["urn:li:sponsoredCampaign:9001"] == "Old 1"  # a REMOVED campaign still named
    calls = vendor.calls(f"/rest/adAccounts/{ACCOUNT}/adCampaigns")
    assert len(calls) == 3  # pages of 100: 100, 100, 12
    assert "pageToken" not in calls[0] and all("pageToken=" in c for c in calls[1:])
    assert "search=(status:(values:List(ACTIVE,PAUSED,ARCHIVED," in calls[0]


@api(unlisted_campaigns=["7002"])
def test_spend_of_a_campaign_missing_from_the_listing_keeps_its_id_without_a_name(
    vendor: Harness,
) -> None:
    got = list(vendor.reader().read(AD_ANALYTICS, START, END))
    dark = [r for r in got if r["campaign"] == "urn:li:sponsoredCampaign:7002"]
    assert len(dark) == 3 and {r["campaignName"] for r in dark} == {None}
    assert sum(Decimal(r["costInLocalCurrency"]) for r in dark) == Decimal("9.9999")


def _grid(campaigns: int, days: int) -> list[dict]:
    return [
        demo.landed_row(ACCOUNT, "USD", str(100 + c), f"C{c}", day(d), f"{c}.{d:02d}", c, d)
        for c in range(campaigns)
        for d in range(days)
    ]


@api(rows=_grid(3, 10), max_elements=10)
def test_windows_keep_campaigns_times_days_under_the_element_cap(vendor: Harness) -> None:
    start, end = datetime(2026, 1, 28, tzinfo=UTC), datetime(2026, 2, 7, tzinfo=UTC)
    got = list(vendor.reader(max_elements=10).read(AD_ANALYTICS, start, end))
    assert _norm(got) == _norm(vendor.api.rows)  # all 30, though one reply holds at most 10
    calls = vendor.calls("/rest/adAnalytics")
    assert len(calls) == 4  # 3 campaigns → 3 days per request: 3 + 3 + 3 + 1 days
    assert "end:(year:2026,month:1,day:30)" in calls[0]


@api(rows=_grid(3, 10), max_elements=10, unlisted_campaigns=["101", "102"])
def test_a_reply_at_the_cap_is_split_and_asked_again(vendor: Harness) -> None:
    """Two campaigns missing from the listing: the first windows are too wide and cut short."""
    start, end = datetime(2026, 1, 28, tzinfo=UTC), datetime(2026, 2, 7, tzinfo=UTC)
    got = list(vendor.reader(max_elements=10).read(AD_ANALYTICS, start, end))
    unnamed = [
        {**r, "campaignName": None if r["campaignName"] != "C0" else "C0"} for r in vendor.api.rows
    ]
    assert _norm(got) == _norm(unnamed)  # all 30; the unlisted campaigns without a name
    # 9-day window (one campaign known) cut at 10 → 5 + 4 days, each cut again → 2 + 2 each
    assert len(vendor.calls("/rest/adAnalytics")) == 1 + 2 + 4 + 1


@api(rows=_grid(4, 1), max_elements=3)
def test_a_single_day_at_the_cap_fails_naming_account_and_day(vendor: Harness) -> None:
    with pytest.raises(SourceResponseError) as err:
        list(
            vendor.reader(max_elements=3).read(
                AD_ANALYTICS, datetime(2026, 1, 28, tzinfo=UTC), datetime(2026, 1, 29, tzinfo=UTC)
            )
        )
    assert "account 508877001 on 2026-01-28: 3 elements reach the cap of 3" in str(err.value)


@api(token_lifetime_calls=2)
def test_an_expired_token_is_refreshed_once_and_the_call_repeated(vendor: Harness) -> None:
    reader = vendor.reader()
    got = list(reader.read(AD_ANALYTICS, START, END))
    assert _norm(got) == _norm(_in_window(vendor.api.rows, {ACCOUNT}))
    # token 1 serves adAccounts and adCampaigns, lapses on adAnalytics: one more exchange
    assert reader.refreshes == 2 and len(vendor.api.tokens_issued) == 2
    assert [r.split("?")[0] for r in vendor.api.requests] == [
        "POST /oauth/v2/accessToken",
        f"GET /rest/adAccounts/{ACCOUNT}",
        f"GET /rest/adAccounts/{ACCOUNT}/adCampaigns",
        "GET /rest/adAnalytics",  # 401 EXPIRED_ACCESS_TOKEN
        "POST /oauth/v2/accessToken",
        "GET /rest/adAnalytics",
    ]


@api(token_lifetime_calls=0)
def test_a_token_refused_after_a_refresh_fails_fast_without_a_third_try(
    vendor: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reader = vendor.reader()
    with pytest.raises(LinkedInRequestError) as err:
        list(reader.read(AD_ANALYTICS, START, END))
    assert isinstance(err.value, SourceResponseError)  # deterministic: Airflow does not retry
    message = str(err.value)
    assert message.startswith(f"source=linkedin_ads endpoint=GET /rest/adAccounts/{ACCOUNT}: ")
    assert "HTTP 401" in message and "EXPIRED_ACCESS_TOKEN" in message and "65602" in message
    assert reader.refreshes == 2 and len(vendor.calls(f"/rest/adAccounts/{ACCOUNT}")) == 2
    for token in vendor.api.tokens_issued:
        assert token not in message and token not in caplog.text


def test_a_wrong_refresh_token_fails_fast_quoting_the_oauth_error(vendor: Harness) -> None:
    vendor.api.refresh_token = "AQXsomeOtherRefreshToken"
    with pytest.raises(LinkedInRequestError) as err:
        list(vendor.reader().read(AD_ANALYTICS, START, END))
    assert "endpoint=POST /oauth/v2/accessToken: HTTP 400" in str(err.value)
    assert "invalid_grant" in str(err.value)
    assert demo.DEMO_REFRESH_TOKEN not in str(err.value)


def test_429_is_retried_honouring_retry_after_and_5xx_with_backoff(vendor: Harness) -> None:
    vendor.api.faults.add("/rest/adAnalytics", [429], retry_after="7")
    vendor.api.faults.add("/rest/adAnalytics", [503])
    got = list(vendor.reader().read(AD_ANALYTICS, START, END))
    assert _norm(got) == _norm(_in_window(vendor.api.rows, {ACCOUNT}))
    assert vendor.slept == [7.0, 1.0]  # Retry-After, then the second backoff step (0.5 × 2)
    assert len(vendor.calls("/rest/adAnalytics")) == 3


@api(daily_quota=2)
def test_an_exhausted_daily_quota_fails_after_the_retries_naming_the_endpoint(
    vendor: Harness,
) -> None:
    """LinkedIn's 429 carries no Retry-After: the client's backoff applies."""
    with pytest.raises(SourceHttpError) as err:
        list(vendor.reader().read(AD_ANALYTICS, START, END))
    assert str(err.value) == (
        "source=linkedin_ads endpoint=GET /rest/adAnalytics: HTTP 429 after 3 attempts"
    )
    assert not isinstance(err.value, SourceResponseError)  # a quota resets: retry the task
    assert vendor.slept == [0.5, 1.0]
    status, body, headers = vendor.api.handle("GET", "/rest/adAccounts/1", _auth(vendor))
    assert status == 429 and body["serviceErrorCode"] == 101 and "Retry-After" not in headers


def _auth(vendor: Harness) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {vendor.api.tokens_issued[-1]}",
        "LinkedIn-Version": demo.API_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
    }


@api(echo_credentials=True)
def test_an_error_body_is_quoted_without_the_tokens_it_echoes(
    vendor: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redact, "_known", set())
    monkeypatch.setattr(redact, "_pattern", None)
    caplog.set_level(logging.DEBUG)
    reader = vendor.reader("508877999")  # no such account: 404 echoing the Authorization
    with pytest.raises(LinkedInRequestError) as err:
        list(reader.read(AD_ANALYTICS, START, END))
    message = str(err.value)
    assert message.startswith("source=linkedin_ads endpoint=GET /rest/adAccounts/508877999: ")
    assert "HTTP 404" in message and "serviceErrorCode" in message and "NOT_FOUND" in message
    assert "(request had Authorization: ***)" in message  # the echo is there, the token not
    (token,) = vendor.api.tokens_issued
    secrets = [token, demo.DEMO_REFRESH_TOKEN, demo.DEMO_CLIENT_SECRET]
    for secret in secrets:
        assert secret not in message
        assert secret not in repr(err.value.args)
        assert secret not in caplog.text


@api(active_versions=["202610"])
def test_an_inactive_linkedin_version_fails_fast(vendor: Harness) -> None:
    with pytest.raises(LinkedInRequestError) as err:
        list(vendor.reader(linkedin_version="202201").read(AD_ANALYTICS, START, END))
    assert "HTTP 426" in str(err.value) and "NONEXISTENT_VERSION" in str(err.value)


def test_a_window_without_activity_lands_no_rows_and_no_error(vendor: Harness) -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC)
    assert list(vendor.reader().read(AD_ANALYTICS, start, end)) == []
    assert len(vendor.calls("/rest/adAnalytics")) == 1


def test_an_element_that_is_not_one_campaign_day_is_quarantined_not_dropped(
    vendor: Harness,
) -> None:
    creative = demo.landed_row(ACCOUNT, "EUR", "7001", "x", date(2026, 1, 31), "5.00", 1, 1)
    creative["pivotValues"] = ["urn:li:sponsoredCreative:55"]
    monthly = demo.landed_row(ACCOUNT, "EUR", "7001", "x", date(2026, 2, 1), "9.00", 1, 1)
    monthly["dateRange"]["end"] = {"year": 2026, "month": 2, "day": 28}
    vendor.api.rows += [creative, monthly]
    got = list(vendor.reader().read(AD_ANALYTICS, START, END))
    bad = [r for r in got if isinstance(r, Malformed)]
    assert sorted(m.reason for m in bad) == [
        "dateRange is not a single day",
        "pivotValues is not one urn:li:sponsoredCampaign:… value",
    ]
    assert {json.loads(m.raw)["costInLocalCurrency"] for m in bad} == {"5.00", "9.00"}
    assert len(got) == 7 + 2


def test_landed_rows_satisfy_the_catalog_entry_and_land_keyed_by_campaign_day(
    vendor: Harness, tmp_path: Path
) -> None:
    assert ENTITIES == (AD_ANALYTICS,) and AD_ANALYTICS.raw_table == "linkedin_ads__ad_analytics"
    got = list(vendor.reader().read(AD_ANALYTICS, START, END))
    for i, row in enumerate(got):
        validate(AD_ANALYTICS, row, i)
        assert type_problems(AD_ANALYTICS, row) is None
    keys = {tuple(row[p] for p in AD_ANALYTICS.key_paths) for row in got}
    assert len(keys) == len(got)  # the natural key is unique
    landed = land_entity(
        vendor.reader(), AD_ANALYTICS, DataWindow(START, END, START), tmp_path / "landing"
    )
    assert landed.records == 7 and landed.quarantined == 0


def test_a_campaign_day_sent_twice_is_kept_once_and_a_changed_twin_fails_naming_both(
    vendor: Harness,
) -> None:
    twin = demo.landed_row(ACCOUNT, "EUR", "7001", "Brand – DACH", day(2), "12.25", 2, 200)
    assert twin in vendor.api.rows  # the same campaign-day, figure for figure
    vendor.api.rows.append(dict(twin))
    got = list(vendor.reader().read(AD_ANALYTICS, START, END))
    assert _norm(got) == _norm(_in_window(vendor.api.rows[:-1], {ACCOUNT}))
    vendor.api.rows[-1] = {**twin, "costInLocalCurrency": "99.00"}
    with pytest.raises(SourceResponseError) as err:
        list(vendor.reader().read(AD_ANALYTICS, START, END))
    message = str(err.value)
    assert "urn:li:sponsoredCampaign:7001 on 2026-01-30 sent twice with different" in message
    assert '"costInLocalCurrency": "12.25"' in message and '"99.00"' in message


def test_the_demo_world_side_costs_every_campaign_day_in_whole_pence() -> None:
    days = demo.ad_days_for_day(
        random.Random("7:linkedin_ads:2026-01-05"),
        date(2026, 1, 5),
        {"abm_enterprise": 3},
        "paid_social",
    )
    abm, webinar = days  # every campaign serves impressions: a row even without a click
    assert (abm.campaign_id, abm.clicks, webinar.campaign_id, webinar.clicks) == (
        "7001",
        3,
        "7002",
        0,
    )
    assert {(d.platform, d.currency, d.channel, d.day) for d in days} == {
        ("linkedin_ads", "GBP", "paid_social", date(2026, 1, 5))
    }
    # CPC £6–£14 per click plus a CPM of £8–£12 on impressions (whole pence)
    for d in days:
        clicks_share = d.clicks * 600, d.clicks * 1400
        lo = clicks_share[0] + d.impressions * 800 // 1000
        hi = clicks_share[1] + d.impressions * 1200 // 1000
        assert lo <= d.spend_cents <= hi and d.impressions >= 200
    # impressions: 60..140 per click on top of 200..800 served
    assert 3 * 60 + 200 <= abm.impressions <= 3 * 140 + 800 and webinar.impressions <= 800
    again = demo.ad_days_for_day(
        random.Random("7:linkedin_ads:2026-01-05"),
        date(2026, 1, 5),
        {"abm_enterprise": 3},
        "paid_social",
    )
    assert again == days  # the same seed, the same day


def test_the_demo_world_clicks_are_known_leads_tagged_with_utm_and_li_fat_id(
    tmp_path: Path,
) -> None:
    from smarketing.demo.vendors import ga4
    from smarketing.demo.world import generate

    world = generate(7, 0.4, date(2026, 1, 1), date(2026, 1, 21))
    visits = [s for s in world.sessions if s.source == demo.UTM_SOURCE]
    ads = world.ad_days_of("linkedin_ads")
    assert len(ads) == 2 * 21  # both campaigns, every day
    assert sum(a.clicks for a in ads) == len(visits) > 20  # a click is a visit
    lead_at = {c.ga_client_id: c.lead_at for c in world.contacts if c.ga_client_id}
    for visit in visits:
        assert visit.user_pseudo_id in lead_at and lead_at[visit.user_pseudo_id] < visit.started_at
        (name, click_id), *_ = visit.click_params
        assert name == "li_fat_id" and len(click_id) == 36 and click_id[14] == "4"  # UUID v4
    landing = ga4.events(visits[0])[0]["event_params"][1]["value"]["string_value"]
    query = parse_qs(landing.split("?", 1)[1])
    assert query == {
        "utm_source": ["linkedin"],
        "utm_medium": ["paid_social"],
        "utm_campaign": [visits[0].campaign],
        "li_fat_id": [visits[0].click_params[0][1]],
    }
    # the vendor's file: every campaign-day as the connector lands it, pence as a decimal
    demo.write(world, tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "linkedin_ads" / "ad_analytics.jsonl").open()]
    assert len(rows) == len(ads)
    assert sum(Decimal(r["costInLocalCurrency"]) for r in rows) * 100 == sum(
        a.spend_cents for a in ads
    )
    assert {(r["accountCurrency"], r["account"]) for r in rows} == {
        ("GBP", f"urn:li:sponsoredAccount:{ACCOUNT}")
    }


def test_the_api_serves_a_demo_file_of_landed_rows(tmp_path: Path) -> None:
    path = tmp_path / "ad_analytics.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _rows()) + "\n")
    api = demo.LinkedInAdsApi.from_jsonl(path)
    assert api.rows == _rows() and api.accounts == {ACCOUNT: "EUR", OTHER_ACCOUNT: "GBP"}
    with demo.LinkedInAdsServer(api) as server:
        harness = Harness(api, server)
        got = list(harness.reader().read(AD_ANALYTICS, START, END))
    assert _norm(got) == _norm(_in_window(_rows(), {ACCOUNT}))
