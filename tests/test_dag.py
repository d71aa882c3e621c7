"""DAG integrity: it imports cleanly, is wired as designed, and does no work at parse time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from tests.conftest import PROJECT_DIR

DAG_FILE = PROJECT_DIR / "dags" / "smarketing_nightly.py"


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags"))
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == ["smarketing_nightly"]
    return bag.dags["smarketing_nightly"]


def test_schedule_is_nightly_cron_with_data_intervals(dag) -> None:
    from airflow.sdk import CronDataIntervalTimetable

    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 2 * * *"
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert "smarketing" in dag.tags and "nightly" in dag.tags
    assert "`quality_gate` runs the great expectations suites" in (dag.doc_md or "").lower()


def test_every_task_retries_with_exponential_backoff(dag) -> None:
    for t in dag.tasks:
        assert t.owner == "data-engineering"
        assert t.on_failure_callback, t.task_id  # failures notify
        if t.task_id == "quality_gate":
            assert t.retries == 0  # a failed check fails again; alert at once
            continue
        assert t.retries >= 2, t.task_id
        assert t.retry_exponential_backoff, t.task_id
        assert t.retry_delay == timedelta(seconds=60)


def test_wiring_extracts_in_parallel_then_one_path_to_publish(dag) -> None:
    extracts = {
        "extract_hubspot",
        "extract_mailchimp",
        "extract_google_ads",
        "extract_meta_ads",
        "extract_linkedin_ads",
        "extract_ga4",
    }
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == extracts | {"load_raw", "dbt_build", "quality_gate", "publish", "summary"}
    for e in extracts:
        assert tasks[e].upstream_task_ids == set()
    assert tasks["load_raw"].upstream_task_ids == extracts
    assert tasks["dbt_build"].upstream_task_ids == {"load_raw"}
    assert tasks["quality_gate"].upstream_task_ids == {"dbt_build"}
    assert tasks["publish"].upstream_task_ids == {"quality_gate", "load_raw"}
    assert "publish" in tasks["summary"].upstream_task_ids
    # one writer of the DuckDB warehouse at a time
    for writer in ("load_raw", "dbt_build", "quality_gate", "publish"):
        assert tasks[writer].pool == "duckdb_warehouse"
    assert [o.name for o in tasks["publish"].outlets] == ["smarketing_marts"]


def test_schedule_and_retries_come_from_settings(monkeypatch) -> None:
    env = {
        **os.environ,
        "SMARKETING_SCHEDULE": "30 5 * * *",
        "SMARKETING_RETRIES": "4",
        "PYTHONPATH": str(PROJECT_DIR),
    }
    code = (
        f"import json, runpy; dag = runpy.run_path({str(DAG_FILE)!r})['nightly_dag']\n"
        "print(json.dumps([dag.timetable.expression, dag.default_args['retries']]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["30 5 * * *", 4]


def test_parsing_imports_nothing_heavy_and_does_no_work(tmp_path) -> None:
    """Parse-time imports stay light: no dbt, GX, DuckDB or pandas; no files written."""
    env = {**os.environ, "SMARKETING_DATA_DIR": str(tmp_path / "data")}
    code = (
        "import runpy, sys, json\n"
        f"runpy.run_path({str(DAG_FILE)!r})\n"
        "heavy = [m for m in ('dbt', 'great_expectations', 'duckdb', 'pandas',"
        " 'smarketing.pipeline') if m in sys.modules]\n"
        "print(json.dumps(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
    assert not (tmp_path / "data").exists()


def test_params_have_safe_defaults(dag) -> None:
    """A scheduled run never re-syncs, accepts anomalies or full-refreshes by itself."""
    params = dag.params.dump()
    assert params == {"accept_anomalies": False, "full_refresh": False, "extract_start": None}
