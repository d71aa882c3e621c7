"""The ground truth, computed from the world alone, reconciles with the world."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from smarketing.demo.disposition import crm_clock
from smarketing.demo.fx import daily_rates, to_usd_cents
from smarketing.demo.truth import ground_truth
from smarketing.demo.world import generate, iso


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
    assert {r["platform"] for r in spend} == {"google_ads", "meta_ads", "linkedin_ads"}
    daily = {(r["date_day"], r["channel"]): r["spend_cents"] for r in truth["channel_daily"]}
    # Meta and LinkedIn both bring paid social: the channel's day is their sum
    platform_channel = {"google_ads": "paid_search", "meta_ads": "paid_social"}
    platform_channel["linkedin_ads"] = "paid_social"
    by_channel: Counter[tuple[str, str]] = Counter()
    for r in spend:
        by_channel[(r["date_day"], platform_channel[r["platform"]])] += r["spend_cents"]
    assert by_channel == {k: v for k, v in daily.items() if v}
    sla = truth["sla_by_owner"]
    assert set(sla) <= {"501", "502", "503", "504"}
    for owner in sla.values():
        assert owner["worked"] + owner["pending"] + owner["never_worked"] == owner["mqls"]
        assert owner["worked_within_sla"] + owner["never_worked"] <= owner["sla_elapsed"]
        assert owner["pending"] + owner["sla_elapsed"] <= owner["mqls"]
    assert sum(o["mqls"] for o in sla.values()) == sum(f["mqls"] for f in funnel.values())
    assert totals["sales_touches"] == len(world.sales_touches) > 0
    leads = truth["leads"]
    for c in world.contacts:
        lead = leads[c.contact_id]
        assert (lead["company_id"], lead["owner_id"]) == (c.company_id, c.owner_id)
        mine = [t.at for t in world.sales_touches if t.contact_id == c.contact_id]
        assert lead["first_sales_touch_at"] == (iso(min(mine)) if mine else None)
    for col in colleagues:
        assert leads[col.contact_id]["channel"] == "offline"
        assert leads[col.contact_id]["deal_id"] is None
    # the SLA is measured exactly, from the current MQL episode (a re-qualified lead restarts
    # it) and over elapsed windows only, on the CRM's clock: recount from the world
    as_of = crm_clock(world)
    elapsed, within, restarted = Counter(), Counter(), 0
    for c in world.contacts:
        if c.mql_at is None:
            continue
        start = c.lead_disposition.returns_at or c.mql_at
        due = start + timedelta(hours=24)
        mine = [t.at for t in world.sales_touches if t.contact_id == c.contact_id]
        restarted += any(c.mql_at <= t < start for t in mine)
        if as_of >= due:
            elapsed[c.owner_id] += 1
            within[c.owner_id] += any(start <= t <= due for t in mine)
    assert {o: (v["sla_elapsed"], v["worked_within_sla"]) for o, v in sla.items()} == {
        o: (elapsed[o], within[o]) for o in sla
    }
    assert restarted > 0  # touches of an earlier episode that no longer answer the SLA


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


def test_sal_funnel_truth_reconciles_with_the_world() -> None:
    """The funnel's SAL stage: in the demo sales accepts exactly the leads it qualifies, at
    its first call after the MQL (always before the SQL: no SAL skipped), so SALs equal SQLs
    and the disposition's accepted MQLs; the cohorts (first visit, else lead) add up to the
    funnel, their medians recounted with statistics.median."""
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    truth = ground_truth(world)
    sal = truth["sal_funnel"]
    qualified = [c for c in world.contacts if c.sql_at is not None]
    assert sorted(sal["leads"]) == sorted(c.contact_id for c in qualified)
    first_touch = {}
    for c in qualified:
        mine = [t.at for t in world.sales_touches if t.contact_id == c.contact_id]
        first_touch[c.contact_id] = min(t for t in mine if t >= c.mql_at)
        assert c.mql_at < first_touch[c.contact_id] < c.sql_at
        assert sal["leads"][c.contact_id] == {
            "sal_at": iso(first_touch[c.contact_id]),
            "is_sal_skipped": False,
        }
    funnel = truth["funnel_by_channel"]
    assert sal["by_channel"] == {ch: f["sqls"] for ch, f in funnel.items()}
    accepted = truth["lead_disposition"]["by_disposition"]["accepted"]
    assert sum(sal["by_channel"].values()) == accepted == len(qualified) > 0
    cohorts = sal["cohorts"]
    assert sum(r["mqls"] for r in cohorts) == sum(f["mqls"] for f in funnel.values())
    assert sum(r["sals"] for r in cohorts) == sum(r["sqls"] for r in cohorts) == len(qualified)
    first_visit: dict[str, datetime] = {}
    for s in world.sessions:
        seen = first_visit.get(s.user_pseudo_id, s.started_at)
        first_visit[s.user_pseudo_id] = min(seen, s.started_at)
    members: dict[tuple[str, str], list] = defaultdict(list)
    for c in world.contacts:
        entered = first_visit.get(c.ga_client_id or "", c.lead_at)
        members[(entered.strftime("%Y-%m"), c.channel)].append(c)
    assert [(r["cohort_month"], r["channel"]) for r in cohorts] == sorted(members)
    for r in cohorts:
        people = [c for c in members[(r["cohort_month"], r["channel"])] if c in qualified]
        assert r["sals"] == r["sqls"] == len(people) <= r["mqls"]
        assert r["mql_to_sal_rate"] == (len(people) / r["mqls"] if r["mqls"] else None)
        assert r["sal_to_sql_rate"] == (1.0 if people else None)
        days = timedelta(days=1).total_seconds()
        to_sal = [(first_touch[c.contact_id] - c.mql_at).total_seconds() / days for c in people]
        to_sql = [(c.sql_at - first_touch[c.contact_id]).total_seconds() / days for c in people]
        for column, spans in (
            ("median_days_mql_to_sal", to_sal),
            ("median_days_sal_to_sql", to_sql),
        ):
            want = statistics.median(spans) if spans else None
            assert r[column] == pytest.approx(want, rel=1e-12), (r, column)
