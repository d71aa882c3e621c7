"""Airflow 3 manual trigger without a logical date: no data interval, the run still works.

``airflow dags trigger smarketing_nightly`` without ``--logical-date`` gives every task
``data_interval_start=None``; the run is about the last complete UTC day before it was asked
to run (``dag_run.run_after``), and says so in its log.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from smarketing import pipeline
from smarketing.config import Settings
from smarketing.intervals import resolve_window
from smarketing.sources.catalog import SOURCES
from tests.conftest import PROJECT_DIR


def test_no_interval_resolves_to_the_last_complete_day_before_run_after(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="smarketing.intervals"):
        w = resolve_window(None, None, 2, run_after="2026-04-01T09:15:00+00:00")
    assert (w.start, w.end) == (datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert w.extract_start == datetime(2026, 3, 29, tzinfo=UTC)
    assert w.key == "2026-03-31"
    assert "last complete day 2026-03-31" in caplog.text
    # just after midnight: the day that just ended, not the one that just began
    w = resolve_window(None, None, 0, run_after=datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC))
    assert w.key == "2026-03-31"
    # an explicit initial-load start still applies to a manual run
    w = resolve_window(None, None, 0, "2026-03-01", run_after="2026-04-01T09:15:00+00:00")
    assert w.extract_start == datetime(2026, 3, 1, tzinfo=UTC)


def test_no_interval_and_no_run_after_takes_yesterday_from_now() -> None:
    w = resolve_window(None, None, 0)
    today = datetime.now(UTC).date()
    assert w.end.date() == today and (w.end - w.start).days == 1


def test_dag_extract_task_without_interval_lands_the_resolved_day(
    settings: Settings, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    """The DAG's own task callable, as Airflow 3 calls it for a manual run (no interval)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags"))
    dag = bag.dags["smarketing_nightly"]
    run = SimpleNamespace(run_after=datetime(2026, 1, 11, 9, 15, tzinfo=UTC), logical_date=None)
    none = {"data_interval_start": None, "data_interval_end": None, "params": {}, "dag_run": run}
    with caplog.at_level(logging.INFO):
        extracted = [
            dag.get_task(f"extract_{source}").python_callable(**none) for source in SOURCES
        ]
        loaded = dag.get_task("load_raw").python_callable(extracted, **none)
    out = extracted[SOURCES.index("hubspot")]
    assert {e["interval"] for e in extracted} == {loaded["interval"]} == {"2026-01-10"}
    # Airflow's log setup may route the record to stdout instead of the caplog handler
    said = caplog.text + capsys.readouterr().out
    assert "resolved to the last complete day 2026-01-10" in said
    landed = settings.landing_dir / "hubspot" / "contacts" / "interval=2026-01-10" / "records.jsonl"
    rows = [json.loads(x) for x in landed.read_text().splitlines()]
    # lookback 2 days: contacts changed on Jan 8..10 only
    assert rows and {r["updatedAt"][:10] for r in rows} <= {
        "2026-01-08",
        "2026-01-09",
        "2026-01-10",
    }
    assert out["records"]["contacts"]["landed"] == len(rows)
    assert loaded["loaded"]["raw.hubspot__contacts"]["loaded"] == len(rows)


def test_pipeline_extract_accepts_no_interval(settings: Settings) -> None:
    out = pipeline.extract(
        "mailchimp", None, None, settings=settings, run_after="2026-01-15T03:00Z"
    )
    assert out["interval"] == "2026-01-14"
