"""The demo company must be deterministic, self-consistent, and stable as its range grows."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path, PurePosixPath

from smarketing.demo.company import (
    GOOGLE_CAMPAIGNS,
    HUBSPOT_SOURCES,
    _iso,
    generate,
    ground_truth,
    write_world,
)
from smarketing.demo.fx import daily_rates, to_usd_cents
from smarketing.sources.timestamps import parse_vendor_timestamp

CLOSED = ("closedwon", "closedlost")

CRM_FILES = (
    "companies.jsonl",
    "contacts.jsonl",
    "deals.jsonl",
    "calls.jsonl",
    "emails.jsonl",
    "meetings.jsonl",
)
# web, e-mail and ad files of generate(3, 0.05, 2026-01-01..2026-01-10), as generated before
# companies, sales engagements and colleagues were added
NON_CRM_DIGEST = "4fb02c7eaecb878e3b2502eea54871d37914944ad95e48191a66c35d543643b6"


# the demo's files by their names before the vendor registry (folders per category then)
OLD_NAMES = {
    "mailchimp/": "email/",
    "google_ads/campaign_stats.jsonl": "ppc/google_ads.jsonl",
    "google_ads/clicks.jsonl": "ppc/google_ads_clicks.jsonl",
    "meta_ads/insights.jsonl": "ppc/meta_insights.jsonl",
    "ga4/": "web/",
    "hubspot/": "crm/",
}


def _old_name(relative: str) -> str:
    for new, old in OLD_NAMES.items():
        if relative.startswith(new):
            return old + relative[len(new) :]
    return relative


def _tree_digest(folder: Path, old_names: bool = False) -> str:
    """Digest of every file's name and bytes; ``old_names``: named as before the registry,
    so a digest taken then still proves the bytes unchanged."""
    digest = hashlib.sha256()
    files = [p for p in folder.rglob("*") if p.is_file()]
    named = [(p.relative_to(folder).as_posix(), p) for p in files]
    if old_names:
        named = [(_old_name(name), p) for name, p in named]
    for name, path in sorted(named, key=lambda item: PurePosixPath(item[0])):
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    args = (3, 0.05, date(2026, 1, 1), date(2026, 1, 10))
    write_world(generate(*args), tmp_path / "a")
    write_world(generate(*args), tmp_path / "b")
    assert _tree_digest(tmp_path / "a") == _tree_digest(tmp_path / "b")
    write_world(generate(4, *args[1:]), tmp_path / "c")
    assert _tree_digest(tmp_path / "a") != _tree_digest(tmp_path / "c")


def test_ad_clicks_equal_paid_sessions_per_day_and_campaign() -> None:
    world = generate(11, 0.2, date(2026, 2, 1), date(2026, 2, 7))
    sessions = Counter(
        (s.started_at.date().isoformat(), s.campaign)
        for s in world.sessions
        if s.channel in ("paid_search", "paid_social")
    )
    clicks = Counter()
    for row in world.google_rows:
        clicks[(row["segments"]["date"], row["campaign"]["name"])] += int(row["metrics"]["clicks"])
    for row in world.meta_rows:
        clicks[(row["date_start"], row["campaign_name"])] += int(row["clicks"])
    assert +clicks == sessions
    assert sum(sessions.values()) > 50
    # the click_view report has one row per Google Ads click: as many as the stats count
    click_view = Counter(
        (row["segments"]["date"], row["campaign"]["name"]) for row in world.google_clicks
    )
    google = Counter(
        {
            (row["segments"]["date"], row["campaign"]["name"]): int(row["metrics"]["clicks"])
            for row in world.google_rows
        }
    )
    assert click_view == +google and sum(click_view.values()) > 20


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
    clicks = _jsonl(tmp_path / "google_ads" / "clicks.jsonl")
    assert len(clicks) == len(paid)  # one click per paid search session
    assert clicks == sorted(clicks, key=lambda r: (r["segments"]["date"], r["clickView"]["gclid"]))
    by_gclid = Counter(r["clickView"]["gclid"] for r in clicks)
    click = {r["clickView"]["gclid"]: r for r in clicks}
    campaign_ids = {name: cid for cid, name in GOOGLE_CAMPAIGNS}
    events = [r for p in sorted((tmp_path / "ga4").glob("events_*.jsonl")) for r in _jsonl(p)]
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


def test_extending_the_range_keeps_earlier_days() -> None:
    short = generate(5, 0.1, date(2026, 1, 1), date(2026, 1, 10))
    long = generate(5, 0.1, date(2026, 1, 1), date(2026, 1, 20))
    assert {(c.contact_id, c.lead_at) for c in short.contacts} <= {
        (c.contact_id, c.lead_at) for c in long.contacts
    }
    # the same paid visits are auto-tagged and the same clicks reported
    tagged = {(s.user_pseudo_id, s.session_id, s.autotagged) for s in short.sessions}
    assert tagged <= {(s.user_pseudo_id, s.session_id, s.autotagged) for s in long.sessions}
    assert any(s.autotagged for s in short.sessions)
    assert all(r in long.google_clicks for r in short.google_clicks)
    # stage dates reached before the short horizon are the same in both worlds
    long_by_id = {c.contact_id: c for c in long.contacts}
    for c in short.contacts:
        other = long_by_id[c.contact_id]
        for stage in ("mql_at", "sql_at", "opportunity_at", "won_at", "lost_at", "amount_cents"):
            if getattr(c, stage) is not None:
                assert getattr(other, stage) == getattr(c, stage)


def test_ground_truth_totals_reconcile_with_the_world() -> None:
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    truth = ground_truth(world)
    rows = truth["channel_daily"]
    assert sum(r["leads"] for r in rows) == len(world.contacts) == truth["totals"]["leads"]
    assert sum(r["sessions"] for r in rows) == len(world.sessions)
    won = [c for c in world.contacts if c.won_at]
    rates = daily_rates()
    in_usd = [to_usd_cents(c.amount_cents, c.currency, c.won_at.date(), rates) for c in won]
    assert (
        sum(r["won_revenue_cents"] for r in rows)
        == sum(in_usd)
        == truth["totals"]["won_revenue_cents"]
    )
    # USD deals keep their amount; euro and pound deals are converted at the day's rate
    for c, usd in zip(won, in_usd, strict=True):
        if c.currency == "USD":
            assert usd == c.amount_cents
        else:
            day = c.won_at.date()
            # ECB: units per euro; one unit of the deal's currency is worth
            # units_per_eur(USD) / units_per_eur(currency) dollars
            rate = rates.units_per_eur("USD", day) / rates.units_per_eur(c.currency, day)
            assert abs(usd - c.amount_cents * rate) <= Decimal("0.5") and usd != c.amount_cents
    assert {c.currency for c in world.contacts if c.deal_id} == {"USD", "EUR", "GBP"}
    assert {c.currency for c in won} == {"USD", "EUR", "GBP"}
    assert truth["totals"]["won_deals"] == len(won) > 0
    # nothing happens after the horizon
    assert all(c.won_at < world.horizon for c in won)
    assert max(s.started_at for s in world.sessions) < world.horizon


def test_scale_knob_grows_the_company() -> None:
    small = generate(1, 0.1, date(2026, 1, 1), date(2026, 1, 7))
    big = generate(1, 1.0, date(2026, 1, 1), date(2026, 1, 7))
    assert 8 < len(big.sessions) / len(small.sessions) < 12


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_extending_the_range_keeps_every_earlier_crm_record(tmp_path: Path) -> None:
    """Companies, contacts, deals and sales engagements written for a shorter range recur
    unchanged in a longer one: nothing drawn depends on where the range ends."""
    short = generate(5, 0.3, date(2026, 1, 1), date(2026, 1, 20))
    long = generate(5, 0.3, date(2026, 1, 1), date(2026, 2, 10))
    write_world(short, tmp_path / "short")
    write_world(long, tmp_path / "long")
    for name in CRM_FILES:
        earlier = (tmp_path / "short" / "hubspot" / name).read_text().splitlines()
        later = set((tmp_path / "long" / "hubspot" / name).read_text().splitlines())
        assert earlier, name
        assert [line for line in earlier if line not in later] == [], name
    assert {(t.engagement_id, t.at) for t in short.sales_touches} <= {
        (t.engagement_id, t.at) for t in long.sales_touches
    }
    assert len(long.sales_touches) > len(short.sales_touches)


def test_web_email_and_ad_files_are_the_per_day_draws_as_before(tmp_path: Path) -> None:
    """Sales work, colleagues and auto-tagging have their own RNGs: the per-day draws are
    unchanged (pinned digest of the non-CRM files, the same as before companies, engagements
    and auto-tagging, once auto-tagging is undone and the newer click_view file left out)."""
    world = generate(3, 0.05, date(2026, 1, 1), date(2026, 1, 10))
    assert any(s.autotagged for s in world.sessions)
    for session in world.sessions:
        session.autotagged = False
    write_world(world, tmp_path)
    shutil.rmtree(tmp_path / "hubspot")
    (tmp_path / "ground_truth.json").unlink()
    (tmp_path / "google_ads" / "clicks.jsonl").unlink()
    assert _tree_digest(tmp_path, old_names=True) == NON_CRM_DIGEST


def test_sales_touches_follow_the_contact_and_stay_inside_the_range() -> None:
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    by_id = {c.contact_id: c for c in world.contacts}
    touches: dict[str, list] = {}
    for t in world.sales_touches:
        touches.setdefault(t.contact_id, []).append(t)
        c = by_id[t.contact_id]
        assert c.mql_at is not None and c.mql_at <= t.at < world.horizon
        assert t.owner_id == c.owner_id
        assert t.engagement_id == c.contact_id + {"call": "1", "email": "2", "meeting": "3"}[t.kind]
        if t.kind == "meeting":
            assert t.at == c.sql_at
        if t.kind == "email":
            (call,) = [x for x in touches[t.contact_id] if x.kind == "call"]
            assert t.at == call.at + timedelta(days=1)
    assert len({t.engagement_id for t in world.sales_touches}) == len(world.sales_touches)
    for c in world.contacts:
        mine = touches.get(c.contact_id, [])
        if c.sql_at is not None:  # every SQL was worked, first by a call before qualifying
            first = min(mine, key=lambda t: t.at)
            assert first.kind == "call" and c.mql_at < first.at < c.sql_at
            assert [t.at for t in mine if t.kind == "meeting"] == [c.sql_at]
        if c.mql_at is None:
            assert mine == []
    mqls = [c for c in world.contacts if c.mql_at and not c.sql_at]
    worked = [c for c in mqls if c.contact_id in touches]
    assert 0.5 < len(worked) / len(mqls) < 0.9  # 70 % of unqualified MQLs are worked
    assert Counter(t.kind for t in world.sales_touches).keys() == {"call", "email", "meeting"}


def test_colleagues_join_deals_as_second_contact_primary_first(tmp_path: Path) -> None:
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    write_world(world, tmp_path)
    colleagues = [c for c in world.contacts if c.primary_id is not None]
    assert len(colleagues) > 5
    index = {c.contact_id: i for i, c in enumerate(world.contacts)}
    by_id = {c.contact_id: c for c in world.contacts}
    for col in colleagues:
        primary = by_id[col.primary_id]
        assert index[col.contact_id] == index[primary.contact_id] + 1
        assert col.contact_id == str(200_000 + int(primary.contact_id) - 100_000)
        assert (col.company_id, col.owner_id) == (primary.company_id, primary.owner_id)
        assert (col.channel, col.ga_client_id, col.campaign) == ("offline", None, None)
        assert col.lead_at == primary.opportunity_at + timedelta(hours=1) < world.horizon
        assert col.mql_at is col.deal_id is col.won_at is None
        assert col.email.endswith(
            f".c{int(primary.contact_id) - 100_000}@{col.company.lower()}.example"
        )
    deals: dict[str, list[dict]] = {}
    for d in _jsonl(tmp_path / "hubspot" / "deals.jsonl"):
        deals.setdefault(d["id"], []).append(d)
    primaries = {col.primary_id: col for col in colleagues}
    for c in world.contacts:
        if c.deal_id is None:
            continue
        versions = deals[c.deal_id]
        ids = [[a["id"] for a in v["associations"]["contacts"]["results"]] for v in versions]
        col = primaries.get(c.contact_id)
        if col is None:
            assert ids == [[c.contact_id]] * len(versions)
            continue
        # opened with the primary; an hour later the colleague joins, and stays
        assert ids == [[c.contact_id]] + [[c.contact_id, col.contact_id]] * (len(versions) - 1)
        assert versions[1]["updatedAt"] == versions[1]["properties"]["hs_lastmodifieddate"]
        assert versions[1]["updatedAt"] == _iso(col.lead_at)
    # contacts carry their company; every company with a contact is written once
    contacts = _jsonl(tmp_path / "hubspot" / "contacts.jsonl")
    companies = {r["id"]: r for r in _jsonl(tmp_path / "hubspot" / "companies.jsonl")}
    assert {r["properties"]["associatedcompanyid"] for r in contacts} == set(companies)
    for r in contacts:
        company = companies[r["properties"]["associatedcompanyid"]]
        assert company["properties"]["name"] == r["properties"]["company"]
        # every other company's createdate is a plain date (HubSpot's date form)
        assert parse_vendor_timestamp(company["properties"]["createdate"]) <= (
            parse_vendor_timestamp(r["properties"]["createdate"])
        )
    first_lead = min(_iso(c.lead_at) for c in world.contacts if c.company_id == "300001")
    assert companies["300001"]["properties"]["createdate"] == first_lead


def test_new_ground_truth_keys_reconcile() -> None:
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    truth = ground_truth(world)
    totals = truth["totals"]
    funnel = truth["funnel_by_channel"]
    assert sum(f["leads"] for f in funnel.values()) == totals["leads"] == len(world.contacts)
    assert sum(f["won_deals"] for f in funnel.values()) == totals["won_deals"]
    for f in funnel.values():
        assert f["leads"] >= f["mqls"] >= f["sqls"] >= f["opportunities"]
        assert f["opportunities"] >= f["won_deals"] + f["lost_deals"]
    colleagues = [c for c in world.contacts if c.primary_id]
    assert (
        funnel["offline"]["leads"]
        == sum(1 for c in world.contacts if c.channel == "offline")
        > len(colleagues)
    )
    assert sum(truth["won_revenue_by_month"].values()) == totals["won_revenue_cents"]
    assert set(truth["won_revenue_by_month"]) == {"2026-01", "2026-02"}
    accounts = truth["accounts"]
    assert sum(a["won_revenue_cents"] for a in accounts.values()) == totals["won_revenue_cents"]
    assert sum(a["won_deals"] for a in accounts.values()) == totals["won_deals"]
    assert sum(a["contacts"] for a in accounts.values()) == totals["leads"]
    assert len(accounts) == totals["companies"] == 8
    assert accounts["300001"]["name"] == "Initech"
    spend = truth["spend_by_platform_day"]
    assert sum(r["spend_cents"] for r in spend) == totals["spend_cents"]
    assert [(r["date_day"], r["platform"]) for r in spend] == sorted(
        (r["date_day"], r["platform"]) for r in spend
    )
    assert {r["platform"] for r in spend} == {"google_ads", "meta_ads"}
    daily = {(r["date_day"], r["channel"]): r["spend_cents"] for r in truth["channel_daily"]}
    platform_channel = {"google_ads": "paid_search", "meta_ads": "paid_social"}
    for r in spend:
        assert daily[(r["date_day"], platform_channel[r["platform"]])] == r["spend_cents"]
    sla = truth["sla_by_owner"]
    assert set(sla) <= {"501", "502", "503", "504"}
    for owner in sla.values():
        assert owner["worked"] + owner["never_worked"] == owner["mqls"]
        assert owner["worked_within_24h"] <= owner["worked"]
    assert sum(o["mqls"] for o in sla.values()) == sum(f["mqls"] for f in funnel.values())
    assert totals["sales_touches"] == len(world.sales_touches) > 0
    leads = truth["leads"]
    for c in world.contacts:
        lead = leads[c.contact_id]
        assert (lead["company_id"], lead["owner_id"]) == (c.company_id, c.owner_id)
        mine = [t.at for t in world.sales_touches if t.contact_id == c.contact_id]
        assert lead["first_sales_touch_at"] == (_iso(min(mine)) if mine else None)
    for col in colleagues:
        assert leads[col.contact_id]["channel"] == "offline"
        assert leads[col.contact_id]["deal_id"] is None
    # within 24 h is measured exactly: recount from the leads
    within = Counter(
        c.owner_id
        for c in world.contacts
        if c.mql_at
        and leads[c.contact_id]["first_sales_touch_at"]
        and min(t.at for t in world.sales_touches if t.contact_id == c.contact_id) - c.mql_at
        <= timedelta(hours=24)
    )
    assert {o: v["worked_within_24h"] for o, v in sla.items()} == {o: within.get(o, 0) for o in sla}


def test_ground_truth_in_another_reporting_currency() -> None:
    """The truth follows SMARKETING_REPORTING_CURRENCY: counts unchanged, money converted
    through the euro at the ECB rate of its day (a pound deal, a dollar deal, a euro deal)."""
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    usd, gbp = ground_truth(world), ground_truth(world, "GBP")
    assert gbp["reporting_currency"] == "GBP" and usd["reporting_currency"] == "USD"
    assert gbp["totals"]["leads"] == usd["totals"]["leads"]
    assert gbp["totals"]["won_deals"] == usd["totals"]["won_deals"]
    rates = daily_rates()
    expected = 0
    for c in (c for c in world.contacts if c.won_at):
        day = c.won_at.date()
        factor = (rates.units_per_eur("GBP", day) / rates.units_per_eur(c.currency, day)).quantize(
            Decimal("0.0000000001")
        )
        expected += int((Decimal(c.amount_cents) * factor).quantize(Decimal(1), "ROUND_HALF_UP"))
    # the pound is worth more than the dollar and the euro: fewer pounds than dollars
    assert gbp["totals"]["won_revenue_cents"] == expected < usd["totals"]["won_revenue_cents"]


def test_hubspot_wire_variety_keeps_the_ground_truth(tmp_path: Path) -> None:
    """The CRM files carry what real accounts send, decided by record id (no new draws):
    every timestamp form, contacts without e-mail, unpriced open deals, deals without a
    currency, three currencies, and HubSpot's original source of every contact."""
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    truth = write_world(world, tmp_path)
    contacts = _jsonl(tmp_path / "hubspot" / "contacts.jsonl")
    deals = _jsonl(tmp_path / "hubspot" / "deals.jsonl")
    companies = _jsonl(tmp_path / "hubspot" / "companies.jsonl")
    created = [r["properties"]["createdate"] for r in contacts]
    # ISO with ms (24 chars), without (20), epoch ms (13); a date (10) on companies
    assert {len(v) for v in created} == {24, 20, 13}
    assert {len(r["properties"]["createdate"]) for r in companies} == {24, 10}
    by_id = {c.contact_id: c for c in world.contacts}
    for r in contacts:  # every form reads back as the world's own time
        c = by_id[r["id"]]
        assert parse_vendor_timestamp(r["properties"]["createdate"]) == c.lead_at
        assert r["properties"]["hs_analytics_source"] == HUBSPOT_SOURCES[c.channel]
    latest = {r["id"]: r for r in contacts}
    no_email = [i for i, r in latest.items() if r["properties"]["email"] is None]
    assert len(no_email) == truth["totals"]["contacts_without_email"] > 0
    assert all(by_id[i].primary_id is not None for i in no_email)  # colleagues only
    final = {d["id"]: d for d in deals}
    open_deals = [d for d in final.values() if d["properties"]["dealstage"] not in CLOSED]
    unpriced = [d for d in open_deals if d["properties"]["amount"] is None]
    assert len(open_deals) == truth["totals"]["open_deals"]
    assert len(unpriced) == truth["totals"]["unpriced_open_deals"] > 0
    # a closed deal always carries its amount; the truth's amount is what the CRM knows
    assert all(d["properties"]["amount"] for d in final.values() if d not in open_deals)
    for d in unpriced:
        lead = next(v for v in truth["leads"].values() if v["deal_id"] == d["id"])
        assert lead["amount_cents"] is None
    currencies = Counter(d["properties"]["deal_currency_code"] for d in final.values())
    assert set(currencies) == {"USD", "EUR", "GBP", None} and currencies[None] > 0
    for d in final.values():
        if d["properties"]["deal_currency_code"] is None:  # the company currency
            c = next(c for c in world.contacts if c.deal_id == d["id"])
            assert c.currency == "USD"
