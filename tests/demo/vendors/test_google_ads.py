"""Google Ads' view of the demo company: campaign stats, click_view, and its API."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from smarketing.demo.company import write_world
from smarketing.demo.vendors.google_ads import Api, GoogleAdsRequestError
from smarketing.demo.world import GOOGLE_CAMPAIGNS, generate
from tests.demo.helpers import jsonl


def test_auto_tagged_paid_search_sessions_join_their_click_by_gclid(tmp_path: Path) -> None:
    """Some paid search visits land with only the gclid (Google Ads auto-tagging): no UTM
    values in GA4, yet the click id finds the session's campaign in click_view exactly once."""
    world = generate(11, 0.2, date(2026, 2, 1), date(2026, 2, 7))
    truth = write_world(world, tmp_path)
    paid = [s for s in world.sessions if s.channel == "paid_search"]
    tagged = [s for s in paid if s.autotagged]
    assert all(s.gclid for s in paid)
    assert [s for s in world.sessions if s.autotagged and s.channel != "paid_search"] == []
    assert 0 < len(tagged) < len(paid) and 0.1 < len(tagged) / len(paid) < 0.5
    assert truth["totals"]["autotagged_sessions"] == len(tagged)
    clicks = jsonl(tmp_path / "google_ads" / "clicks.jsonl")
    assert len(clicks) == len(paid)  # one click per paid search session
    assert clicks == sorted(clicks, key=lambda r: (r["segments"]["date"], r["clickView"]["gclid"]))
    by_gclid = Counter(r["clickView"]["gclid"] for r in clicks)
    click = {r["clickView"]["gclid"]: r for r in clicks}
    campaign_ids = {name: cid for cid, name in GOOGLE_CAMPAIGNS}
    events = [r for p in sorted((tmp_path / "ga4").glob("events_*.jsonl")) for r in jsonl(p)]
    first_event: dict[tuple[str, int], dict] = {}
    for row in events:
        session_id = row["event_params"][0]["value"]["int_value"]
        first_event.setdefault((row["user_pseudo_id"], session_id), row)
    for s in paid:
        assert by_gclid[s.gclid] == 1
        row = click[s.gclid]
        assert row["campaign"] == {
            "resourceName": f"customers/1234567890/campaigns/{campaign_ids[s.campaign]}",
            "id": campaign_ids[s.campaign],
            "name": s.campaign,
        }
        assert row["adGroup"]["id"] == f"{campaign_ids[s.campaign]}01"
        assert row["segments"]["date"] == s.started_at.date().isoformat()
        ga4 = first_event[(s.user_pseudo_id, s.session_id)]
        assert ga4["event_name"] == "session_start"
        traffic = ga4["collected_traffic_source"]
        page = ga4["event_params"][1]["value"]["string_value"]
        assert traffic["gclid"] == s.gclid
        if s.autotagged:
            assert traffic == {
                "gclid": s.gclid,
                "manual_source": None,
                "manual_medium": None,
                "manual_campaign_name": None,
            }
            assert page.endswith(f"/home?gclid={s.gclid}") and "utm_" not in page
        else:
            assert (traffic["manual_source"], traffic["manual_medium"]) == ("google", "cpc")
            assert traffic["manual_campaign_name"] == s.campaign and "utm_source=google" in page
    # the truth still counts auto-tagged visits as paid search of their Google campaign
    paid_daily = sum(r["sessions"] for r in truth["channel_daily"] if r["channel"] == "paid_search")
    assert paid_daily == len(paid)
    tagged_leads = {s.user_pseudo_id for s in tagged if s.lead_form}
    for c in world.contacts:
        if c.ga_client_id in tagged_leads:
            lead = truth["leads"][c.contact_id]
            assert lead["channel"] == "paid_search" and lead["campaign"] in campaign_ids


def test_stats_are_the_worlds_ad_days_in_micros(tmp_path: Path) -> None:
    world = generate(11, 0.2, date(2026, 2, 1), date(2026, 2, 7))
    write_world(world, tmp_path)
    stats = jsonl(tmp_path / "google_ads" / "campaign_stats.jsonl")
    days = world.ad_days_of("google_ads")
    assert len(stats) == len(days) == 14
    for row, ad in zip(stats, days, strict=True):
        assert row["customer"] == {"id": "1234567890", "currencyCode": "USD"}
        assert row["segments"]["date"] == ad.day.isoformat()
        assert int(row["metrics"]["costMicros"]) == ad.spend_cents * 10_000
        assert int(row["metrics"]["clicks"]) == ad.clicks


def test_search_stream_answers_days_and_refuses_a_ranged_click_view(tmp_path: Path) -> None:
    world = generate(11, 0.2, date(2026, 2, 1), date(2026, 2, 7))
    write_world(world, tmp_path)
    api = Api(tmp_path, page_size=3)
    query = (
        "SELECT campaign.id FROM ad_group WHERE segments.date BETWEEN '2026-02-02' AND '2026-02-03'"
    )
    batches = api.search_stream("1234567890", {"query": query})
    rows = [r for b in batches for r in b["results"]]
    assert [len(b["results"]) for b in batches] == [3, 1]
    assert [r["segments"]["date"] for r in rows] == ["2026-02-02"] * 2 + ["2026-02-03"] * 2
    assert api.search_stream("999", {"query": query}) == [
        {"results": [], "fieldMask": batches[0]["fieldMask"], "requestId": "demo-0"}
    ]
    one_day = "SELECT clickView.gclid FROM click_view WHERE segments.date = '2026-02-04'"
    clicks = [r for b in api.search_stream("1234567890", {"query": one_day}) for r in b["results"]]
    paid = [s for s in world.google_ads_clicks() if s.started_at.date() == date(2026, 2, 4)]
    assert sorted(r["clickView"]["gclid"] for r in clicks) == sorted(s.gclid for s in paid)
    assert len(paid) > 3
    ranged = "SELECT clickView.gclid FROM click_view WHERE segments.date BETWEEN '2026-02-01'"
    with pytest.raises(GoogleAdsRequestError) as err:
        api.search_stream("1234567890", {"query": ranged + " AND '2026-02-02'"})
    error = err.value.body["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["errors"][0]["errorCode"] == {
        "clickViewError": "EXPECTED_FILTER_ON_A_SINGLE_DAY"
    }
    assert api.indexes.builds == 2
