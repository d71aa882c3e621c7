"""Day-to-day operation through the real DAG (`airflow dags test`), three runs on one Airflow
home and one warehouse:

1. a plain run: the gate counts blocked / warned / passed the same in report, log and summary;
2. every analysis setting and the schedule changed, while a BI client holds a read-write
   connection on the published file (and has written to it): the run works, takes its anomaly
   baseline from the kept version, says what changed, and the new values are in the marts;
3. the data folder moved and SMARKETING_PUBLISHED_PATH changed: the run works (the asset's
   identity does not depend on a path) and says what changed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from smarketing.demo.server import DemoServer, demo_connections
from smarketing.quality.suites import check_keys
from tests.airflow_env import AIRFLOW, airflow_home
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.slow
EXTRACT_START = json.dumps({"extract_start": "2026-01-01"})
ASSET = ("smarketing_marts", "x-smarketing://published-marts")


BI_CLIENT = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table bi_scratch as select 42 as answer")
con.execute("checkpoint")
print("ready", flush=True)
sys.stdin.readline()
print(con.execute("select answer from bi_scratch").fetchone()[0], flush=True)
"""


def _dags_test(env: dict[str, str], logical_date: str) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [AIRFLOW, "dags", "test", "smarketing_nightly", logical_date, "-c", EXTRACT_START],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-4000:]
    assert "AirflowInactiveAssetInInletOrOutletException" not in run.stdout + run.stderr
    return run


def _summary(env: dict[str, str], run_id: str) -> dict:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    path = Path(env["SMARKETING_DATA_DIR"]) / "reports" / safe / "run_summary.json"
    return json.loads(path.read_text())


def _info(path: Path) -> tuple[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select run_id, data_interval from _publish_info").fetchone()
    finally:
        con.close()


def _versions(env: dict[str, str]) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "smarketing.cli", "rollback", "--list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def _hours(a: str, b: str) -> float:
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(b) - parse(a)) / timedelta(hours=1)


@pytest.mark.timeout(2700)  # three full runs; the shared test machine is slow
def test_settings_and_paths_change_between_runs_on_one_airflow_home(
    tmp_path: Path, tiny_demo: Path, truth: dict, airflow_db: Path
) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(tiny_demo, demo)
    server = DemoServer(demo, page_size=50).start()
    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SMARKETING_")},
        **demo_connections(server.url, demo),
        **airflow_home(tmp_path / "airflow", airflow_db),
        "SMARKETING_PROJECT_DIR": str(PROJECT_DIR),
        "SMARKETING_DATA_DIR": str(data),
        "SMARKETING_DEMO_DIR": str(demo),
        "SMARKETING_LOOKBACK_DAYS": "2",
    }
    try:
        _three_runs(env, tmp_path, data, truth)
    finally:
        server.stop()


def _three_runs(env: dict[str, str], tmp_path: Path, data: Path, truth: dict) -> None:
    published = data / "published" / "smarketing.duckdb"
    # --- run 1: defaults ---------------------------------------------------------------------
    run = _dags_test(env, "2026-02-13T02:00:00+00:00")
    first_id, interval = _info(published)
    assert interval == "2026-02-12"
    summary = _summary(env, first_id)
    counts = summary["gate"]["counts"]
    validation = json.loads(
        (Path(summary["gate"]["report"]).parent / "validation.json").read_text()
    )
    failed = Counter(c["severity"] for c in validation["checks"] if not c["success"])
    assert (
        counts
        == validation["counts"]
        == {
            "checks": len(validation["checks"]),
            "blocked": 0,
            "warned": failed["warning"],
            "passed": len(validation["checks"]) - failed["warning"],
        }
    )
    # every check of the lean gate ran, plus the quarantine's checks of the interval
    ran = [f"{c['suite']}: {c['check']}" for c in validation["checks"]]
    gate_checks = [name for name in ran if not name.startswith("raw_quarantine: ")]
    assert sorted(gate_checks) == sorted(check_keys())
    assert len(ran) > len(gate_checks) and failed["critical"] == 0
    line = (
        f"{counts['checks']} checks: 0 blocked, {counts['warned']} warned,"
        f" {counts['passed']} passed"
    )
    assert f"quality gate passed: {line}" in run.stdout + run.stderr
    assert f"{line}." in Path(summary["gate"]["report"]).read_text()
    assert summary["published"]["settings_changed"] == []
    assert summary["published"]["settings"]["reporting_currency"] == "USD"

    # --- run 2: settings changed; a BI client holds (and wrote to) the published file ---------
    # a BI process with a read-write connection (locks the file against other writers)
    client = subprocess.Popen(
        [sys.executable, "-c", BI_CLIENT, str(published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdout.readline().strip() == "ready"
    changed = {
        "SMARKETING_LOOKBACK_DAYS": "3",
        "SMARKETING_SCHEDULE": "30 3 * * *",
        "SMARKETING_REPORTING_CURRENCY": "EUR",
        "SMARKETING_SLA_HOURS": "48",
        "SMARKETING_ATTRIBUTION_LOOKBACK_DAYS": "30",
        "SMARKETING_ATTRIBUTION_HALF_LIFE_DAYS": "3",
        "SMARKETING_INCREMENTAL_LOOKBACK_DAYS": "5",
        "SMARKETING_PUBLISH_KEEP_VERSIONS": "5",
        "SMARKETING_ANOMALY_THRESHOLD": "0.9",
        "SMARKETING_ANOMALY_MIN_BASELINE": "20",
        "SMARKETING_ANOMALY_BASELINE_DAYS": "5",
        "SMARKETING_QUARANTINE_MAX_SHARE": "0.02",
        "SMARKETING_MAILCHIMP_ACTIVITY_DAYS": "20",
        "SMARKETING_HTTP_TIMEOUT_SECONDS": "30",
        "SMARKETING_RETRIES": "1",
    }
    env2 = env | changed
    run = _dags_test(env2, "2026-02-14T03:30:00+00:00")  # the new schedule's run time
    second_id, interval = _info(published)
    assert interval == "2026-02-13" and second_id != first_id
    summary = _summary(env2, second_id)
    expected = [
        "anomaly_baseline_days: 7 -> 5",
        "anomaly_min_baseline: 10.0 -> 20.0",
        "anomaly_threshold: 0.75 -> 0.9",
        "attribution_half_life_days: 7.0 -> 3.0",
        "attribution_lookback_days: 90 -> 30",
        "http_timeout_seconds: 60.0 -> 30.0",
        "incremental_lookback_days: 3 -> 5",
        "lookback_days: 2 -> 3",
        "mailchimp_activity_days: 30 -> 20",
        "publish_keep_versions: 7 -> 5",
        "quarantine_max_share: 0.01 -> 0.02",
        "reporting_currency: USD -> EUR",
        "retries: 2 -> 1",
        "schedule: 0 2 * * * -> 30 3 * * *",
        "sla_hours: 24.0 -> 48.0",
    ]
    assert summary["published"]["settings_changed"] == expected
    assert summary["loaded"]["settings_changed"] == expected
    said = f"settings changed since run {first_id}: " + "; ".join(expected)
    assert said in run.stdout + run.stderr
    # the anomaly baseline came from the kept version (5 days, the new setting), not from the
    # published file the client holds
    assert summary["gate"]["baseline_days"] == 5
    # the client still has its own (old) file; the kept version 1 was never touched by it
    assert client.communicate("go\n", timeout=120)[0].strip() == "42"
    assert [(v["sequence"], v["checksum"], v["live"]) for v in _versions(env2)] == [
        (1, "ok", False),
        (2, "ok", True),
    ]
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("select distinct currency_code from fct_attribution").fetchall() == [
        ("EUR",)
    ]
    sla = con.execute(
        "select dimension_value, mqls_sla_elapsed, mqls_worked_within_sla"
        " from mart_sales_marketing_sla where dimension = 'owner' order by 1"
    ).fetchall()
    # the CRM's clock of this run: its latest change loaded, before the interval's end
    (clock,) = con.execute(
        "select distinct strftime(as_of, '%Y-%m-%dT%H:%M:%S.%g') || 'Z' from fct_lead_disposition"
    ).fetchone()
    con.close()
    decided = truth["lead_disposition"]
    assert decided["as_of"] > clock > "2026-02-13"

    def sla_counts(limit: int, as_of: str) -> tuple[Counter, Counter]:
        """Per owner, the MQLs whose window of ``limit`` hours from their current episode's
        start has elapsed at ``as_of``, and those of them first touched within it."""
        elapsed, within = Counter(), Counter()
        for lead_id, lead in decided["leads"].items():
            owner = truth["leads"][lead_id]["owner_id"]
            touch = lead["first_sales_touch_at"]
            if _hours(lead["mql_started_at"], as_of) >= limit:
                elapsed[owner] += 1
                within[owner] += (
                    touch is not None and _hours(lead["mql_started_at"], touch) <= limit
                )
        return elapsed, within

    owners = sorted(truth["sla_by_owner"])
    elapsed24, within24 = sla_counts(24, decided["as_of"])
    assert [(elapsed24[o], within24[o]) for o in owners] == [  # the known answer, recomputed
        (truth["sla_by_owner"][o]["sla_elapsed"], truth["sla_by_owner"][o]["worked_within_sla"])
        for o in owners
    ]
    elapsed48, within48 = sla_counts(48, clock)
    assert sla == [(o, elapsed48[o], within48[o]) for o in owners]
    # at the same clock, a longer SLA: more MQLs worked within it, fewer windows elapsed
    elapsed24, within24 = sla_counts(24, clock)
    assert sum(within48.values()) > sum(within24.values())
    assert sum(elapsed48.values()) < sum(elapsed24.values())

    # --- run 3: the data folder moves and the published file goes elsewhere -----------------
    moved = tmp_path / "moved_data"
    shutil.move(data, moved)
    elsewhere = tmp_path / "bi" / "marts.duckdb"
    env3 = env2 | {"SMARKETING_DATA_DIR": str(moved), "SMARKETING_PUBLISHED_PATH": str(elsewhere)}
    run = _dags_test(env3, "2026-02-15T03:30:00+00:00")
    third_id, interval = _info(elsewhere)
    assert interval == "2026-02-14"
    summary = _summary(env3, third_id)
    assert summary["published"]["settings_changed"] == [
        f"data_dir: {data} -> {moved}",
        f"landing_dir: {data}/landing -> {moved}/landing",
        f"published_path: {data}/published/smarketing.duckdb -> {elsewhere}",
        f"reports_dir: {data}/reports -> {moved}/reports",
        f"warehouse_path: {data}/warehouse/warehouse.duckdb -> {moved}/warehouse/warehouse.duckdb",
    ]
    assert [(v["sequence"], v["live"]) for v in _versions(env3)] == [(1, True)]
    # one asset, three events; the last one says where the file now is
    db = sqlite3.connect(tmp_path / "airflow" / "airflow.db")
    rows = db.execute(
        "select a.name, a.uri, e.extra from asset_event e join asset a on a.id = e.asset_id"
        " order by e.id"
    ).fetchall()
    db.close()
    assert [(r[0], r[1]) for r in rows] == [ASSET] * 3
    assert json.loads(rows[-1][2])["path"] == str(elsewhere)
