"""The demo's pacing truth (what mart_targets_pacing must publish) reconciles with the rest of
the ground truth, follows the CRM's clock and applies the documented rules."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from smarketing.demo import pacing
from smarketing.demo.truth import ground_truth
from smarketing.demo.world import generate
from tests.conftest import PROJECT_DIR

SEED = PROJECT_DIR / "dbt_project" / "seeds" / "plan_targets.csv"


@pytest.fixture(scope="module")
def truth() -> dict:
    """Seven weeks: January over, February running (the CRM clock's day), March ahead."""
    return ground_truth(generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 20)))


def rows_of(truth: dict) -> dict[tuple[str, str, str, str], dict]:
    return {
        (r["period_type"], r["period_start"], r["channel"], r["metric"]): r
        for r in truth["targets_pacing"]["rows"]
    }


def test_the_plan_is_the_seed_the_warehouse_loads() -> None:
    plan = pacing.load_plan()
    with SEED.open(newline="") as handle:
        raw = list(csv.DictReader(handle))
    assert len(plan) == len(raw) == 18
    assert {r.month for r in plan} == {date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)}
    first = raw[0]
    assert (plan[0].channel, plan[0].bookings_cents, plan[0].mqls) == (
        first["channel"],
        round(float(first["bookings_target"]) * 100),
        int(first["mql_target"]),
    )
    with (PROJECT_DIR / "dbt_project" / "seeds" / "channels.csv").open(newline="") as handle:
        channels = {r["channel"] for r in csv.DictReader(handle)}
    assert {r.channel for r in plan} <= channels
    assert pacing.load_plan(Path("/nonexistent/plan.csv")) == []


def test_actuals_agree_with_the_rest_of_the_truth(truth: dict) -> None:
    rows = rows_of(truth)
    pace = truth["targets_pacing"]
    # "now" is the CRM's clock, as for the lead disposition
    assert datetime.fromisoformat(pace["as_of"]) == datetime.fromisoformat(
        truth["lead_disposition"]["as_of"].replace("Z", "+00:00")
    )
    # bookings per month: the won revenue of the month
    for month, cents in truth["won_revenue_by_month"].items():
        got = rows[("month", f"{month}-01", "(all)", "bookings")]["actual"]
        assert round(got * 100) == cents
    # MQLs per month and lead source: the leads' first MQL dates
    mqls = Counter(
        (lead["mql_at"][:7] + "-01", lead["channel"])
        for lead in truth["leads"].values()
        if lead["mql_at"]
    )
    for (month, channel), n in mqls.items():
        assert rows[("month", month, channel, "mqls")]["actual"] == n
    # opportunities and won deals per month: the leads' stage dates
    for metric, stage in (("opportunities", "opportunity_at"), ("won_deals", "won_at")):
        per_month = Counter(
            lead[stage][:7] + "-01" for lead in truth["leads"].values() if lead[stage]
        )
        for month, n in per_month.items():
            assert rows[("month", month, "(all)", metric)]["actual"] == n, (metric, month)


def test_channels_and_months_add_up(truth: dict) -> None:
    rows = truth["targets_pacing"]["rows"]
    additive = [r for r in rows if r["metric"] != "sla_share"]
    totals = {
        (r["period_type"], r["period_start"], r["metric"]): r
        for r in additive
        if r["channel"] == "(all)"
    }
    for key, total in totals.items():
        parts = [
            r
            for r in additive
            if (r["period_type"], r["period_start"], r["metric"]) == key and r["channel"] != "(all)"
        ]
        assert total["actual"] == pytest.approx(sum(r["actual"] for r in parts)), key
        planned = [r["target"] for r in parts if r["target"] is not None]
        if total["target"] is not None:
            assert total["target"] == pytest.approx(sum(planned)), key
    for metric in ("bookings", "pipeline", "mqls", "sqls", "won_deals"):
        quarter = totals[("quarter", "2026-01-01", metric)]
        months = [totals[("month", f"2026-0{m}-01", metric)] for m in (1, 2, 3)]
        assert quarter["actual"] == pytest.approx(sum(r["actual"] for r in months))
        if metric in ("bookings", "pipeline", "mqls"):  # the plan's
            assert quarter["target"] == pytest.approx(sum(r["target"] for r in months))


def test_the_clock_paces_each_period(truth: dict) -> None:
    """The CRM's clock falls on 02-20: January is over, February 20/28 gone, March ahead."""
    rows = rows_of(truth)
    assert truth["targets_pacing"]["as_of"].startswith("2026-02-20")
    days = {
        key[:2]: (r["elapsed_days"], r["period_days"])
        for key, r in rows.items()
        if key[2:] == ("(all)", "bookings")
    }
    assert days == {
        ("month", "2026-01-01"): (31, 31),
        ("month", "2026-02-01"): (20, 28),
        ("month", "2026-03-01"): (0, 31),
        ("quarter", "2026-01-01"): (51, 90),
    }
    feb = rows[("month", "2026-02-01", "(all)", "bookings")]
    assert feb["prorated_goal"] == pytest.approx(feb["target"] * 20 / 28)
    assert feb["pacing"] == pytest.approx(feb["actual"] / (feb["target"] * 20 / 28))
    assert feb["forecast"] == pytest.approx(feb["actual"] * 28 / 20)
    # the SLA share is a rate: paced against its target as it is, forecast as it stands
    sla = rows[("month", "2026-02-01", "(all)", "sla_share")]
    assert sla["prorated_goal"] == sla["target"]
    assert sla["pacing"] == pytest.approx(sla["actual"] / sla["target"])
    assert sla["forecast"] == sla["actual"]
    march = [r for k, r in rows.items() if k[:2] == ("month", "2026-03-01")]
    assert march and {r["status"] for r in march if r["goal"] is not None} == {"not_started"}
    assert all(r["pacing"] is None and r["forecast"] is None for r in march)


def test_statuses_follow_the_thresholds(truth: dict) -> None:
    seen = Counter()
    for r in truth["targets_pacing"]["rows"]:
        if r["goal"] is None:
            assert r["status"] == "no_goal"
        elif r["elapsed_days"] == 0:
            assert r["status"] == "not_started"
        elif r["pacing"] is not None and r["goal"] > 0:
            expected = (
                "on_track"
                if r["pacing"] >= pacing.ON_TRACK
                else "at_risk"
                if r["pacing"] >= pacing.AT_RISK
                else "off_track"
            )
            assert r["status"] == expected
        seen[r["status"]] += 1
    # the demo's plan is neither all met nor all missed
    assert seen["on_track"] and seen["off_track"] and seen["not_started"]


def test_the_reverse_funnel_divides_the_bookings_target_by_the_trailing_rates(
    truth: dict,
) -> None:
    rows = rows_of(truth)
    for key in [k for k in rows if k[3] == "bookings" and rows[k]["target"] is not None]:
        at = {m: rows[(*key[:3], m)] for m in pacing.TEAMS}
        if at["won_deals"]["required"] is None:
            continue
        won = at["bookings"]["target"] / at["won_deals"]["average_deal_size"]
        assert at["won_deals"]["required"] == pytest.approx(won)
        chain = won
        # each stage needs the next one's requirement over its own rate to the next
        for metric in ("opportunities", "sqls", "sals", "mqls"):
            chain = chain / at[metric]["conversion_to_next"]
            assert at[metric]["required"] == pytest.approx(chain), (key, metric)
        # stages without a plan target are paced against what the funnel needs
        assert at["sqls"]["goal_basis"] == "reverse_funnel"
        assert at["mqls"]["goal_basis"] == "plan"
    # the rates are shares, the same for every period of a channel
    rates = {
        (k[2], k[3]): r["conversion_to_next"]
        for k, r in rows.items()
        if r["conversion_to_next"] is not None
    }
    assert all(0 <= v <= 1 for v in rates.values())
    for k, r in rows.items():
        if r["conversion_to_next"] is not None:
            assert r["conversion_to_next"] == rates[(k[2], k[3])]
