"""dbt's semantic layer: `mf query` gives the marts' figures (metrics defined once).

The tiny demo company is built and published (fixture ``published_demo``); MetricFlow's CLI
runs on the audit warehouse dbt built, from a copy of the dbt project that holds the build's
semantic manifest (``mf`` reads ``<project>/target/semantic_manifest.json`` only, and the
pipeline writes dbt's target under the data folder, never into the repository). Its monthly
figures must equal the published marts' and the demo company's truth.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from smarketing.config import Settings
from smarketing.transform import dbt_env

MF = Path(sys.executable).with_name("mf")
METRICS = ("leads", "mqls", "bookings", "won_deals", "pipeline", "spend", "win_rate", "cac", "roas")
CENT = Decimal("0.01")


def _mf_query(settings: Settings, project: Path, out: Path) -> list[dict[str, str]]:
    env = {**os.environ, **dbt_env(settings), "DBT_PROFILES_DIR": str(project)}
    env.pop("DBT_PROJECT_DIR", None)
    result = subprocess.run(
        [
            str(MF),
            "query",
            "--metrics",
            ",".join(METRICS),
            "--group-by",
            "metric_time__month",
            "--order",
            "metric_time__month",
            "--csv",
            str(out),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with out.open(newline="") as f:
        return list(csv.DictReader(f))


def _number(text: str) -> Decimal:
    return Decimal(text) if text not in ("", "None", "nan") else Decimal(0)


@pytest.mark.slow
def test_mf_query_monthly_metrics_equal_the_marts_and_the_truth(
    published_demo: Settings, truth: dict, tmp_path: Path
) -> None:
    assert MF.exists(), f"{MF} missing: dbt-metricflow is pinned in requirements.lock"
    settings = published_demo
    project = tmp_path / "dbt_project"
    shutil.copytree(
        settings.dbt_project_dir,
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    (project / "target").mkdir()
    shutil.copy(
        settings.data_dir / "dbt" / "target" / "semantic_manifest.json",
        project / "target" / "semantic_manifest.json",
    )
    rows = _mf_query(settings, project, tmp_path / "metrics.csv")
    # every row is a month: leads that never became MQLs and open deals have no date for
    # those measures, and a row of zeros under an empty month is no month (the metrics'
    # filters in _semantic_models.yml leave them out)
    assert [row for row in rows if not row["metric_time__month"].startswith("20")] == []
    by_month = {row["metric_time__month"][:10]: row for row in rows}
    assert len(by_month) == len(rows)
    assert {"2026-01-01", "2026-02-01"} <= set(by_month)

    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        revenue = {
            str(month): (bookings, won, pipeline, win_rate)
            for month, bookings, won, pipeline, win_rate in con.execute(
                "select month, bookings, won_deals, pipeline_created, win_rate"
                " from mart_revenue_summary"
            ).fetchall()
        }
        channel_daily = {
            str(month): (spend, leads)
            for month, spend, leads in con.execute(
                "select cast(date_trunc('month', date_day) as date), sum(spend), sum(leads)"
                " from mart_channel_daily group by all"
            ).fetchall()
        }
        mqls = dict(
            (str(month), count)
            for month, count in con.execute(
                "select month, sum(mqls) from mart_unit_economics where grain = 'channel'"
                " group by all"
            ).fetchall()
        )
    finally:
        con.close()

    months = set(by_month) | set(revenue) | set(channel_daily)
    assert set(by_month) <= set(revenue) | set(channel_daily) | set(mqls)
    for month in sorted(months):
        row = by_month.get(month, {})
        bookings, won, pipeline, win_rate = revenue.get(month, (0, 0, 0, None))
        spend, leads = channel_daily.get(month, (0, 0))
        assert _number(row.get("bookings", "")).quantize(CENT) == bookings, month
        assert _number(row.get("won_deals", "")) == won, month
        assert _number(row.get("pipeline", "")).quantize(CENT) == pipeline, month
        assert _number(row.get("spend", "")).quantize(CENT) == spend, month
        assert _number(row.get("leads", "")) == leads, month
        assert _number(row.get("mqls", "")) == mqls.get(month, 0), month
        if win_rate is None:
            assert row.get("win_rate", "") in ("", "None", "nan"), month
        else:
            assert float(row["win_rate"]) == pytest.approx(win_rate), month
        # the derived ratios are the marts' components divided, at the month's grain
        if won:
            assert float(row["cac"]) == pytest.approx(float(spend) / won), month
        if spend:
            assert float(row["roas"]) == pytest.approx(float(bookings) / float(spend)), month

    totals = truth["totals"]
    assert sum(_number(r["bookings"]) for r in rows) * 100 == totals["won_revenue_cents"]
    assert sum(_number(r["spend"]) for r in rows) * 100 == totals["spend_cents"]
    assert sum(_number(r["won_deals"]) for r in rows) == totals["won_deals"]
    assert sum(_number(r["mqls"]) for r in rows) == sum(
        c["mqls"] for c in truth["funnel_by_channel"].values()
    )
