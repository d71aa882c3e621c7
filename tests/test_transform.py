"""dbt runs in-process; it must not leave its environment behind for later steps."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from smarketing import pipeline
from smarketing.config import Settings, load_settings
from smarketing.transform import DbtBuildFailed, DbtOutOfMemory, dbt_env, run_dbt
from smarketing.warehouse.publish import audit_tables


def test_dbt_profile_variables_do_not_leak_into_later_steps(settings: Settings) -> None:
    assert "SMARKETING_WAREHOUSE_PATH" not in os.environ
    summary = run_dbt(settings, "parse")
    assert summary.success
    assert "SMARKETING_WAREHOUSE_PATH" not in os.environ
    assert (settings.data_dir / "dbt" / "target" / "manifest.json").exists()


def test_analysis_settings_reach_dbt_as_vars(settings: Settings) -> None:
    """SLA hours, attribution window and half-life are settings (config.py), not code."""
    custom = dataclasses.replace(
        settings,
        sla_hours=12.5,
        attribution_lookback_days=30,
        attribution_half_life_days=3.5,
        attribution_skip_direct=True,
    )
    assert dbt_env(custom)["SMARKETING_SLA_HOURS"] == "12.5"
    assert dbt_env(custom)["SMARKETING_ATTRIBUTION_SKIP_DIRECT"] == "true"
    assert dbt_env(settings)["SMARKETING_ATTRIBUTION_SKIP_DIRECT"] == "false"
    compiled = run_dbt(
        custom,
        "compile",
        "--select",
        "int_crm__lead_dispositions",
        "mart_sales_marketing_sla",
        "fct_attribution",
    )
    assert compiled.success
    target = settings.data_dir / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    sla = manifest["nodes"]["model.smarketing.mart_sales_marketing_sla"]
    assert sla["config"]["contract"]["enforced"] is True
    marts = target / "compiled" / "smarketing" / "models" / "marts"
    # the SLA window is the intermediate's (its one home); the mart reports its length
    dispositions = target / "compiled" / "smarketing" / "models" / "intermediate"
    due = (dispositions / "int_crm__lead_dispositions.sql").read_text()
    assert "round(12.5 * 3600.0 * 1000000.0)" in due
    assert "cast(12.5 as decimal(10, 2))" in (marts / "mart_sales_marketing_sla.sql").read_text()
    attribution = (marts / "fct_attribution.sql").read_text()
    assert "to_days(30)" in attribution and "86400.0 * 3.5" in attribution
    # the direct-visit rule is compiled in only when the setting is on
    assert "channel = 'direct'" in attribution
    assert run_dbt(settings, "compile", "--select", "fct_attribution").success
    assert "channel = 'direct'" not in (marts / "fct_attribution.sql").read_text()


def test_a_non_positive_sla_is_rejected_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMARKETING_SLA_HOURS", "0")
    with pytest.raises(ValueError, match="SMARKETING_SLA_HOURS must be greater than 0"):
        load_settings()


def test_pacing_thresholds_and_trailing_days_reach_dbt_as_vars(settings: Settings) -> None:
    """mart_targets_pacing's status bands and the reverse funnel's window are settings."""
    custom = dataclasses.replace(
        settings, pacing_on_track=0.9, pacing_at_risk=0.7, pacing_trailing_days=30
    )
    env = dbt_env(custom)
    assert (env["SMARKETING_PACING_ON_TRACK"], env["SMARKETING_PACING_AT_RISK"]) == ("0.9", "0.7")
    assert run_dbt(custom, "compile", "--select", "mart_targets_pacing").success
    compiled = (
        settings.data_dir / "dbt" / "target" / "compiled" / "smarketing" / "models" / "marts"
    ) / "mart_targets_pacing.sql"
    sql = compiled.read_text()
    assert ">= 0.9 then 'on_track'" in sql and ">= 0.7 then 'at_risk'" in sql
    assert "cast(as_of as date) - (30 - 1) as first_day" in sql


@pytest.mark.parametrize(("on_track", "at_risk"), [("0.8", "0.9"), ("0.95", "0")])
def test_upside_down_pacing_bands_are_rejected_naming_both_settings(
    monkeypatch: pytest.MonkeyPatch, on_track: str, at_risk: str
) -> None:
    monkeypatch.setenv("SMARKETING_PACING_ON_TRACK", on_track)
    monkeypatch.setenv("SMARKETING_PACING_AT_RISK", at_risk)
    named = r"SMARKETING_PACING_AT_RISK .* SMARKETING_PACING_ON_TRACK"
    with pytest.raises(ValueError, match=named):
        load_settings()


@pytest.mark.parametrize(
    ("value", "expected"), [(None, False), ("false", False), ("true", True), ("YES", True)]
)
def test_skipping_direct_visits_is_off_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool
) -> None:
    if value is None:
        monkeypatch.delenv("SMARKETING_ATTRIBUTION_SKIP_DIRECT", raising=False)
    else:
        monkeypatch.setenv("SMARKETING_ATTRIBUTION_SKIP_DIRECT", value)
    assert load_settings().attribution_skip_direct is expected


def test_the_memory_limit_setting_reaches_dbt_duckdb_session(settings: Settings) -> None:
    """dbt's DuckDB session runs under SMARKETING_DUCKDB_MEMORY_LIMIT (profiles.yml), so a
    large build spills instead of growing towards 80 % of the machine's RAM."""
    from dbt.cli.main import dbtRunner

    from smarketing.envvars import temporary_environment
    from smarketing.transform import dbt_args

    custom = dataclasses.replace(settings, duckdb_memory_limit="200MB")
    assert dbt_env(custom)["SMARKETING_DUCKDB_MEMORY_LIMIT"] == "200MB"
    query = "select current_setting('memory_limit') as memory_limit"
    with temporary_environment(dbt_env(custom)):
        result = dbtRunner().invoke(dbt_args(custom, "show", "--inline", query))
    assert result.success, result.exception
    # DuckDB reports it in MiB: 200 MB = 190.7 MiB (its default would be 80 % of RAM)
    assert [tuple(row) for row in result.result.results[0].agate_table.rows] == [("190.7 MiB",)]


def _values(path: Path, schema: str | None = None) -> dict[str, list[tuple]]:
    """Every table's rows (sorted): the published file's, or one schema's of the warehouse."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = (
            audit_tables(con) if schema else [r[0] for r in con.execute("show tables").fetchall()]
        )
        prefix = f"{schema}." if schema else ""
        return {
            t: con.execute(f"select * from {prefix}{t} order by all").fetchall() for t in tables
        }
    finally:
        con.close()


def test_dbt_out_of_memory_names_the_setting_and_nodes_and_leaves_the_marts_unchanged(
    settings: Settings, published_demo: Settings, truth: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB's own error says `SET memory_limit`, which the pipeline's user cannot run: the
    build's error names SMARKETING_DUCKDB_MEMORY_LIMIT with its value and the nodes that ran
    out. Nothing published changes; a failure that is not out of memory stays plain."""
    shutil.copytree(published_demo.data_dir, settings.data_dir, dirs_exist_ok=True)
    published, audit = _values(settings.published_path), _values(settings.warehouse_path, "audit")
    # the published bookings are the demo's truth, before the failed build and after it
    cents = {f"{r[0]:%Y-%m}": int(r[1] * 100) for r in published["mart_revenue_summary"]}
    assert cents == truth["won_revenue_by_month"]
    # measured on the tiny demo: 64MB builds; at 20MB int_crm__deals, int_web__sessions and
    # int_ads__daily_spend run out (the marts after them are skipped)
    monkeypatch.setenv("SMARKETING_DUCKDB_MEMORY_LIMIT", "20MB")
    tight = load_settings()
    with pytest.raises(DbtOutOfMemory) as raised:
        pipeline.transform(tight)
    error = raised.value
    header, *lines = str(error).splitlines()
    assert "model.smarketing.int_crm__deals" in error.nodes
    assert error.memory_limit == "20MB"
    assert "SMARKETING_DUCKDB_MEMORY_LIMIT=20MB" in header
    for node in error.nodes:
        assert node in header
        assert any(line.startswith(f"{node}: error: ") for line in lines)
    assert any("Out of Memory Error" in line for line in lines)  # DuckDB's own words, kept
    assert "SET memory_limit" not in str(error)  # ... without its advice
    assert isinstance(error, DbtBuildFailed)  # handled (and failed fast) as any failed build
    assert _values(settings.published_path) == published
    assert _values(settings.warehouse_path, "audit") == audit
    # the same setting, a failing data test: the error is a plain DbtBuildFailed
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute(
            "insert into audit.mart_revenue_summary"
            " select * from audit.mart_revenue_summary where month = '2026-02-01'"
        )
    finally:
        con.close()
    with pytest.raises(DbtBuildFailed) as failed:
        run_dbt(tight, "test", "--select", "unique_mart_revenue_summary_month")
    assert type(failed.value) is DbtBuildFailed
    message = str(failed.value)
    assert "test.smarketing.unique_mart_revenue_summary_month" in message
    assert "unique_field=2026-02-01, n_records=2" in message
    assert "SMARKETING_DUCKDB_MEMORY_LIMIT" not in message
