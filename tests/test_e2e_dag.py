"""The whole nightly DAG, run by Airflow (`airflow dags test`) on the tiny demo company.

1. A run publishes marts whose numbers equal the demo company's ground truth exactly.
2. A run whose data fails the quality gate fails, publishes nothing, and leaves the published
   database byte-identical and queryable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from smarketing.demo.server import DemoServer, demo_connections
from smarketing.pseudonyms import demo_key, pseudonym
from tests.airflow_env import AIRFLOW, airflow_home
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, tiny_demo: Path, airflow_db: Path
) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("e2e")
    demo = home / "demo"
    shutil.copytree(tiny_demo, demo)
    server = DemoServer(demo, page_size=50).start()
    env = {
        **os.environ,
        **demo_connections(server.url, demo),
        **airflow_home(home / "airflow", airflow_db),
        "SMARKETING_PROJECT_DIR": str(PROJECT_DIR),
        "SMARKETING_DATA_DIR": str(home / "data"),
        "SMARKETING_DEMO_DIR": str(demo),
        "SMARKETING_LOOKBACK_DAYS": "2",
    }
    yield env
    server.stop()


def dags_test(env: dict[str, str], logical_date: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            AIRFLOW,
            "dags",
            "test",
            "smarketing_nightly",
            logical_date,
            "-c",
            json.dumps({"extract_start": "2026-01-01"}),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def published(env: dict[str, str]) -> Path:
    return Path(env["SMARKETING_DATA_DIR"]) / "published" / "smarketing.duckdb"


def test_published_numbers_equal_ground_truth(env: dict[str, str], truth: dict) -> None:
    run = dags_test(env, "2026-02-15T02:00:00+00:00")  # data day 2026-02-14, the demo's last
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    # a log a person can read: no GX argument chatter, no resource_tracker warnings
    output = run.stdout + run.stderr
    assert output.count("_get_default_value") == 0
    assert output.count("resource_tracker") == 0
    con = duckdb.connect(str(published(env)), read_only=True)
    assert_published_marts_equal_truth(con, truth)
    # this company's CRM clock (February 14: 14 of February's 28 days gone, March not begun)
    # puts every pacing status to the test
    pacing = truth["targets_pacing"]["rows"]
    assert {"on_track", "off_track", "not_started"} <= {r["status"] for r in pacing}
    assert {(r["period_type"], r["period_start"]) for r in pacing if r["elapsed_days"] == 14} == {
        ("month", "2026-02-01")
    }
    # the run wrote its revenue report, and the summary links it
    reports = Path(env["SMARKETING_DATA_DIR"]) / "reports"
    written = list(reports.glob("*/revenue_report.html"))
    assert len(written) == 1 and written[0].parent.name.startswith("manual__")
    assert f"Revenue report: {written[0]}" in run.stdout + run.stderr
    assert "<h1>Nightly revenue report</h1>" in written[0].read_text()
    # a contact without e-mail is a person identified by its CRM id: its published key is the
    # keyed hash of `hubspot:<id>` under the demo's pseudonym key
    key = demo_key(Path(env["SMARKETING_DEMO_DIR"]))
    keyed_by_id = sum(
        person_key == pseudonym(key, f"hubspot:{lead_id}")
        for lead_id, person_key in con.execute(
            "select lead_id, person_key from fct_lead_funnel"
        ).fetchall()
    )
    assert keyed_by_id == truth["totals"]["contacts_without_email"] and keyed_by_id > 0
    info = con.execute("select data_interval, run_id from _publish_info").fetchone()
    assert info[0] == "2026-02-14" and info[1].startswith("manual__")
    # no PII reaches the published marts
    columns = {
        r[0] for r in con.execute("select column_name from information_schema.columns").fetchall()
    }
    assert not columns & {"email", "email_address", "first_name", "last_name", "phone"}
    con.close()
    # the run wrote its validation report and summary
    reports = Path(env["SMARKETING_DATA_DIR"]) / "reports"
    assert len(list(reports.glob("*/validation.html"))) == 1
    assert len(list(reports.glob("*/run_summary.json"))) == 1


def assert_published_marts_equal_truth(con: duckdb.DuckDBPyConnection, truth: dict) -> None:
    """Every published figure this suite compares with the demo's ground truth (also run
    at scale by benchmarks/scale_run.py --check-truth)."""
    got = con.execute(
        "select strftime(date_day, '%Y-%m-%d'), channel, spend, impressions, clicks, sessions,"
        " leads, won_deals, won_revenue from mart_channel_daily order by 1, 2"
    ).fetchall()
    expected = [
        (
            r["date_day"],
            r["channel"],
            Decimal(r["spend_cents"]) / 100,
            r["impressions"],
            r["clicks"],
            r["sessions"],
            r["leads"],
            r["won_deals"],
            Decimal(r["won_revenue_cents"]) / 100,
        )
        for r in truth["channel_daily"]
    ]
    assert got == expected
    assert sum(r[6] for r in got) == truth["totals"]["leads"] > 20
    assert sum(r[2] for r in got) == Decimal(truth["totals"]["spend_cents"]) / 100

    leads = con.execute(
        "select lead_id, first_touch_channel, first_touch_campaign,"
        " strftime(lead_at, '%Y-%m-%dT%H:%M:%S.%g') || 'Z',"
        " strftime(mql_at, '%Y-%m-%dT%H:%M:%S.%g') || 'Z', deal_id, deal_amount"
        " from fct_lead_funnel order by lead_id"
    ).fetchall()
    want = [
        (
            lid,
            t["channel"],
            t["campaign"],
            t["lead_at"],
            t["mql_at"],
            t["deal_id"],
            None if t["amount_cents"] is None else Decimal(t["amount_cents"]) / 100,
        )
        for lid, t in sorted(truth["leads"].items())
    ]
    assert leads == want
    # HubSpot's real shapes in the demo: open deals without amount counted, never valued;
    # people without e-mail keyed by their CRM id; deals in three currencies
    shapes = con.execute(
        "select count(*) filter (where deal_status = 'open'),"
        " count(*) filter (where deal_status = 'open' and not is_priced),"
        " count(distinct deal_currency) from fct_deals"
    ).fetchone()
    totals = truth["totals"]
    assert shapes == (totals["open_deals"], totals["unpriced_open_deals"], 3)
    assert totals["unpriced_open_deals"] > 0
    unpriced = con.execute(
        "select sum(unpriced_opportunities_created) from mart_revenue_summary"
    ).fetchone()
    assert unpriced == (totals["unpriced_open_deals"],)
    # every attribution model credits exactly the won revenue of the ground truth
    per_model = con.execute(
        "select attribution_model, sum(attributed_amount) from fct_attribution"
        " where deal_status = 'won' group by 1 order by 1"
    ).fetchall()
    won = Decimal(truth["totals"]["won_revenue_cents"]) / 100
    assert per_model == [
        (m, won)
        for m in ("first_touch", "last_touch", "linear", "time_decay", "u_shaped", "w_shaped")
    ]
    _check_joint_marts(con, truth)


def _cents(value: int) -> Decimal:
    return Decimal(value) / 100


def _check_joint_marts(con: duckdb.DuckDBPyConnection, truth: dict) -> None:
    """The joint revenue marts against the demo company's ground truth, exactly."""
    spend = con.execute(
        "select strftime(date_day, '%Y-%m-%d'), platform, sum(spend)"
        " from mart_channel_performance where spend <> 0 group by all order by 1, 2"
    ).fetchall()
    assert spend == [
        (r["date_day"], r["platform"], _cents(r["spend_cents"]))
        for r in truth["spend_by_platform_day"]
        if r["spend_cents"]
    ]
    funnel = con.execute(
        "select first_touch_channel, count(*), count(mql_at), count(sql_at),"
        " count(opportunity_at), count(won_at), count(lost_at)"
        " from fct_lead_funnel group by 1 order by 1"
    ).fetchall()
    assert funnel == [
        (ch, t["leads"], t["mqls"], t["sqls"], t["opportunities"], t["won_deals"], t["lost_deals"])
        for ch, t in sorted(truth["funnel_by_channel"].items())
    ]
    # the SAL stage between MQL and SQL: each lead's first acceptance, the SALs per lead
    # source, and per cohort the MQL -> SAL -> SQL conversion and medians of the world
    sal = truth["sal_funnel"]
    sal_leads = con.execute(
        "select lead_id, strftime(sal_at, '%Y-%m-%dT%H:%M:%S.%g') || 'Z', is_sal_skipped"
        " from fct_lead_funnel order by 1"
    ).fetchall()
    assert sal_leads == [
        (
            lid,
            *(
                (sal["leads"][lid]["sal_at"], sal["leads"][lid]["is_sal_skipped"])
                if lid in sal["leads"]
                else (None, False)
            ),
        )
        for lid in sorted(truth["leads"])
    ]
    assert con.execute(
        "select first_touch_channel, count(sal_at) from fct_lead_funnel group by 1 order by 1"
    ).fetchall() == sorted(sal["by_channel"].items())
    cur = con.execute(
        "select strftime(cohort_month, '%Y-%m') as cohort_month, channel, mqls, sals, sqls,"
        " mql_to_sal_rate, sal_to_sql_rate, median_days_mql_to_sal, median_days_sal_to_sql"
        " from mart_funnel_conversion where leads > 0 order by 1, 2"
    )
    names = [d[0] for d in cur.description]
    cohorts = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    assert [{k: r[k] for k in names[:5]} for r in cohorts] == [
        {k: t[k] for k in names[:5]} for t in sal["cohorts"]
    ]
    for got, want in zip(cohorts, sal["cohorts"], strict=True):
        for column, tol in (
            ("mql_to_sal_rate", 1e-12),
            ("sal_to_sql_rate", 1e-12),
            ("median_days_mql_to_sal", 0.005 + 1e-9),  # the mart keeps two decimals
            ("median_days_sal_to_sql", 0.005 + 1e-9),
        ):
            if want[column] is None:
                assert got[column] is None, (got, column)
            else:
                assert abs(float(got[column]) - want[column]) <= tol, (got, column, want)
    # the performance mart's lead and MQL counts per channel are the same people
    per_channel = con.execute(
        "select channel, sum(leads), sum(mqls) from mart_channel_performance"
        " where leads + mqls > 0 group by 1 order by 1"
    ).fetchall()
    assert per_channel == [
        (ch, t["leads"], t["mqls"]) for ch, t in sorted(truth["funnel_by_channel"].items())
    ]
    months = con.execute(
        "select strftime(month, '%Y-%m'), bookings from mart_revenue_summary"
        " where bookings <> 0 order by 1"
    ).fetchall()
    assert months == [(m, _cents(c)) for m, c in sorted(truth["won_revenue_by_month"].items())]
    # the follow-up SLA per owner and in total: the clock restarts at the current MQL
    # episode, the share counts only elapsed windows, pending and never worked apart
    sla = con.execute(
        "select dimension_value, mqls, mqls_worked, mqls_pending, mqls_never_worked,"
        " mqls_sla_elapsed, mqls_worked_within_sla, share_worked_within_sla"
        " from mart_sales_marketing_sla where dimension in ('owner', 'total') order by 1"
    ).fetchall()
    keys = ("mqls", "worked", "pending", "never_worked", "sla_elapsed", "worked_within_sla")
    owners = sorted(truth["sla_by_owner"].items())
    total = {k: sum(t[k] for _, t in owners) for k in keys}
    assert sla == [
        (o, *(t[k] for k in keys), t["worked_within_sla"] / t["sla_elapsed"])
        for o, t in [*owners, ("all", total)]
    ]
    assert total["sla_elapsed"] < total["mqls"] and total["pending"] > 0
    accounts = con.execute(
        "select account_id, account_name, contacts, won_deals, won_revenue"
        " from mart_account_journey order by 1"
    ).fetchall()
    assert accounts == [
        (a, t["name"], t["contacts"], t["won_deals"], _cents(t["won_revenue_cents"]))
        for a, t in sorted(truth["accounts"].items())
    ]
    assert sum(a[4] for a in accounts) == _cents(truth["totals"]["won_revenue_cents"])
    leads = con.execute(
        "select lead_id, account_id, owner_id,"
        " strftime(first_sales_touch_at, '%Y-%m-%dT%H:%M:%S.%g') || 'Z'"
        " from fct_lead_funnel order by 1"
    ).fetchall()
    assert leads == [
        (lid, t["company_id"], t["owner_id"], t["first_sales_touch_at"])
        for lid, t in sorted(truth["leads"].items())
    ]
    # deals with a buying group of two are counted once, for their first lead
    two = con.execute("select count(*) from fct_deals where buying_group_contacts = 2").fetchone()
    assert two[0] == sum(1 for t in truth["leads"].values() if t["joined_deal_of"]) > 0
    # what sales decided about each MQL: the demo's plan, recovered from hs_lead_status, the
    # reason property and the latest MQL entry (leads rejected as bad fit that came back)
    disposition = truth["lead_disposition"]
    decided = con.execute(
        "select lead_id, disposition, rejection_reason, is_remql, ever_rejected,"
        " strftime(mql_started_at, '%Y-%m-%dT%H:%M:%S.%g') || 'Z',"
        " strftime(as_of, '%Y-%m-%dT%H:%M:%S.%g') || 'Z' from fct_lead_disposition order by 1"
    ).fetchall()
    assert decided == [
        (
            lid,
            t["disposition"],
            t["rejection_reason"],
            t["is_remql"],
            t["ever_rejected"],
            t["mql_started_at"],
            disposition["as_of"],
        )
        for lid, t in sorted(disposition["leads"].items())
    ]
    split = con.execute(
        "select sum(mqls), sum(accepted), sum(rejected), sum(worked_undecided), sum(pending),"
        " sum(never_worked), sum(remqls), sum(ever_rejected) from mart_lead_disposition"
    ).fetchone()
    assert split == (
        disposition["mqls"],
        *(
            disposition["by_disposition"][k]
            for k in ("accepted", "rejected", "worked_undecided", "pending", "never_worked")
        ),
        disposition["remqls"],
        disposition["ever_rejected"],
    )
    assert disposition["by_disposition"]["rejected"] > 0 and disposition["remqls"] > 0
    assert_pacing_equals_the_truth(con, truth["targets_pacing"])


def assert_pacing_equals_the_truth(con: duckdb.DuckDBPyConnection, pacing: dict) -> None:
    """Every row of mart_targets_pacing: the plan paced by the demo's own actuals on the CRM's
    clock, the reverse funnel from its trailing rates; counts and money exact, ratios to the
    mart's four decimals."""
    cur = con.execute("select * from mart_targets_pacing")
    names = [d[0] for d in cur.description]
    got = {
        (r["period_type"], r["period_start"].isoformat(), r["channel"], r["metric"]): r
        for r in (dict(zip(names, row, strict=True)) for row in cur.fetchall())
    }
    want = {
        (r["period_type"], r["period_start"], r["channel"], r["metric"]): r for r in pacing["rows"]
    }
    assert sorted(got) == sorted(want)
    exact = ("team", "goal_basis", "status", "period_days", "elapsed_days")
    # the mart keeps four decimals (the average deal size two); its ratios are doubles
    tolerance = dict.fromkeys(("target", "required", "goal", "prorated_goal", "forecast"), 1e-4)
    tolerance |= {"average_deal_size": 5e-3, "sla_share": 1e-4}
    tolerance |= dict.fromkeys(("pacing", "elapsed_share", "conversion_to_next"), 1e-9)

    def close(value: object, expected: float | None, tol: float) -> bool:
        if value is None or expected is None:
            return value is None and expected is None
        return abs(float(value) - expected) <= tol + 1e-9 * abs(expected)

    for key, t in want.items():
        row = got[key]
        assert {c: row[c] for c in exact} == {c: t[c] for c in exact}, key
        if key[3] == "sla_share":
            assert close(row["actual"], t["actual"], tolerance["sla_share"]), key
        else:  # counts and cents exactly
            assert round(row["actual"] * 100) == round(t["actual"] * 100), key
        for column, tol in tolerance.items():
            if column != "sla_share":
                assert close(row[column], t[column], tol), (key, column, row[column], t[column])


def test_failing_gate_publishes_nothing(env: dict[str, str], truth: dict) -> None:
    target = published(env)
    if not target.exists():
        pytest.skip("needs the successful run above")
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    # The night after the demo's last day: the vendors deliver nothing for 2026-02-15. Every
    # model still builds (dbt has nothing to object to), but the gate, which knows the run's
    # interval, must stop publication.
    run = dags_test(env, "2026-02-16T02:00:00+00:00")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    # a failing check fails at once (no retries): Airflow's fail-fast exception
    assert "AirflowFailException: QualityGateFailed: quality gate failed" in output
    for source in ("Meta Ads", "Google Ads", "GA4"):
        assert f"_run_context: freshness: {source} delivered data for the interval" in output
    assert "stg_meta_ads__insights" in output
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    # no report for a failed run; the failure notification links the last good one
    reports = Path(env["SMARKETING_DATA_DIR"]) / "reports"
    assert len(list(reports.glob("*/revenue_report.html"))) == 1
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("select data_interval from _publish_info").fetchone()[0] == "2026-02-14"
    assert con.execute(
        "select count(*) from mart_channel_daily"
        " where channel = 'paid_social' and date_day = '2026-02-15'"
    ).fetchone() == (0,)
    con.close()
