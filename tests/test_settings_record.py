"""Each run records its settings and says what changed since the last published run."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest

from smarketing import pipeline
from smarketing.config import Settings, settings_changes


def test_snapshot_holds_every_setting_but_alert_targets(settings: Settings) -> None:
    shot = dataclasses.replace(
        settings, alert_webhook_url="https://hooks.example/T0/secret-token", sla_hours=36.0
    ).snapshot()
    assert "alert_webhook_url" not in shot and "secret-token" not in json.dumps(shot)
    assert shot["sla_hours"] == "36.0" and shot["published_path"] == str(settings.published_path)
    assert set(shot) == {f.name for f in dataclasses.fields(Settings)} - {
        "alert_webhook_url",
        "alert_email",
        "smtp_host",
    }


def test_changes_are_listed_by_name_old_and_new() -> None:
    before = {"sla_hours": "24.0", "schedule": "0 2 * * *", "lookback_days": "3"}
    after = {"sla_hours": "48.0", "schedule": "0 2 * * *", "lookback_days": "3", "new": "x"}
    assert settings_changes(before, after) == ["new: (unset) -> x", "sla_hours: 24.0 -> 48.0"]
    assert settings_changes({}, after) == []  # nothing recorded yet: nothing to compare


def test_the_next_run_logs_what_changed_since_the_last_published_one(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("create schema audit")
    con.execute("create table audit.mart_channel_daily as select 1 as leads")
    con.close()
    first = pipeline.publish("run-1", "2026-02-13", settings=settings)
    assert first["settings_changed"] == []
    recorded = json.loads((settings.reports_dir / pipeline.LAST_SETTINGS_FILE).read_text())
    assert recorded["run_id"] == "run-1" and recorded["settings"] == settings.snapshot()
    changed = dataclasses.replace(settings, reporting_currency="EUR", lookback_days=5)
    # publishing may (re)configure Airflow's logging, which replaces the root handlers that
    # caplog installed: listen on the module's own logger
    logger = logging.getLogger("smarketing.pipeline")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="smarketing.pipeline"):
            second = pipeline.publish("run-2", "2026-02-14", settings=changed)
    finally:
        logger.removeHandler(caplog.handler)
    expected = [f"lookback_days: {settings.lookback_days} -> 5", "reporting_currency: USD -> EUR"]
    assert second["settings_changed"] == expected
    assert f"settings changed since run run-1: {'; '.join(expected)}" in caplog.text
    version = json.loads(Path(second["version"]).with_suffix(".json").read_text())
    assert version["settings"]["reporting_currency"] == "EUR"
