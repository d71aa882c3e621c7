"""The nightly pipeline's steps, as plain functions the DAG's tasks call.

Each step takes the data interval (never "now") and returns a small JSON-able dict for XCom
and the run summary. Steps are idempotent: re-running one for the same interval gives the
same result. Heavy imports (dbt, Great Expectations, DuckDB) happen inside the steps.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import date, datetime
from pathlib import Path

from smarketing import redact
from smarketing.config import Settings, load_settings
from smarketing.intervals import DataWindow, resolve_window

log = logging.getLogger(__name__)

Moment = str | date | datetime


def _prepared(settings: Settings | None) -> Settings:
    """The step's settings, with umask 077 and the data folders' modes (smarketing.filemodes)."""
    from smarketing.filemodes import secure_data_dirs

    settings = settings or load_settings()
    secure_data_dirs(settings)
    return settings


def safe_run_id(run_id: str) -> str:
    """Airflow run ids contain ':' and '+'; make a folder-safe name of one."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)


def window_for(
    interval_start: Moment | None,
    interval_end: Moment | None,
    extract_start: Moment | None,
    settings: Settings,
    run_after: Moment | None = None,
) -> DataWindow:
    """The run's window; a run without data interval (manual trigger) takes the last full day."""
    return resolve_window(
        interval_start, interval_end, settings.lookback_days, extract_start, run_after
    )


def reader_for(source: str, settings: Settings):
    """The connector of one vendor (the registry's factory), with credentials from its
    Airflow Connection."""
    from smarketing.sources.credentials import get_credentials
    from smarketing.sources.http import RetryPolicy
    from smarketing.vendors import get_vendor

    policy = RetryPolicy(
        max_attempts=settings.http_max_attempts,
        backoff_seconds=settings.http_backoff_seconds,
        read_timeout=settings.http_timeout_seconds,
        deadline_seconds=settings.http_deadline_seconds,
        max_pages=settings.http_max_pages,
    )
    vendor = get_vendor(source)
    return vendor.build_connector(get_credentials(vendor.conn_id), policy, settings)


def extract(
    source: str,
    interval_start: Moment | None,
    interval_end: Moment | None,
    extract_start: Moment | None = None,
    settings: Settings | None = None,
    run_after: Moment | None = None,
) -> dict:
    """Extract one vendor (smarketing.vendors) for the interval into the landing zone."""
    from smarketing.landing import land_source

    settings = _prepared(settings)
    window = window_for(interval_start, interval_end, extract_start, settings, run_after)
    landed = land_source(
        reader_for(source, settings),
        source,
        window,
        settings.landing_dir,
        settings.quarantine_max_share,
        settings.date_floor,
    )
    counts = {
        item.spec.entity: {
            "extracted": item.extracted,
            "landed": item.records,
            "quarantined": item.quarantined,
        }
        for item in landed
    }
    log.info(
        "extracted source=%s interval=%s window_start=%s: %s",
        source,
        window.key,
        window.extract_start.date(),
        counts,
    )
    return {"source": source, "interval": window.key, "records": counts}


LAST_SETTINGS_FILE = "last_published_settings.json"


def _previous_settings(settings: Settings) -> dict:
    """What the last published run recorded: its reports-folder file (follows a moved data
    folder), else the live kept version's record."""
    from smarketing.warehouse.publish import kept_record, live_version

    recorded = settings.reports_dir / LAST_SETTINGS_FILE
    if recorded.exists():
        return json.loads(recorded.read_text())
    live = live_version(settings.published_path)
    return kept_record(live) if live is not None else {}


def settings_report(settings: Settings) -> dict:
    """The settings this run uses and what changed since the last published run; the change
    is logged as a warning so the run itself says what changed."""
    from smarketing.config import settings_changes

    current = settings.snapshot()
    previous = _previous_settings(settings)
    changes = settings_changes(previous.get("settings") or {}, current)
    if changes:
        log.warning("settings changed since run %s: %s", previous.get("run_id"), "; ".join(changes))
    elif not previous:
        log.info("no earlier published run to compare settings with")
    else:
        log.info("settings unchanged since run %s", previous.get("run_id"))
    return {"settings": current, "settings_changed": changes}


def load_raw(
    interval_start: Moment | None,
    interval_end: Moment | None,
    extract_start: Moment | None = None,
    settings: Settings | None = None,
    run_after: Moment | None = None,
) -> dict:
    """Load the interval's landed files into the raw schema (one transaction)."""
    from smarketing.warehouse.load import load_interval

    settings = _prepared(settings)
    window = window_for(interval_start, interval_end, extract_start, settings, run_after)
    from smarketing.sources.catalog import enabled_entities

    counts = load_interval(
        settings.warehouse_path,
        settings.landing_dir,
        window,
        enabled_entities(settings),
        memory_limit=settings.duckdb_memory_limit,
    )
    result = {
        c.table: {
            "extracted": c.extracted,
            "loaded": c.loaded,
            "quarantined": c.quarantined,
            # rows superseded by a later row with the same key in this delivery
            "duplicates": c.duplicates,
            **(
                {
                    "quarantined_value": str(c.quarantined_value),
                    "quarantined_unvalued": c.quarantined_unvalued,
                }
                if c.quarantined_value is not None
                else {}
            ),
        }
        for c in counts
    }
    log.info("loaded interval=%s into raw: %s", window.key, result)
    return {"interval": window.key, "loaded": result} | settings_report(settings)


def transform(settings: Settings | None = None, full_refresh: bool = False) -> dict:
    """dbt build into the audit area; fails on any failing model, unit test or data test.

    ``full_refresh`` rebuilds incremental models from all raw data (after a logic change).
    dbt never full-refreshes a snapshot, so the deal history survives it.
    """
    from smarketing.transform import run_dbt

    settings = _prepared(settings)
    summary = run_dbt(settings, "build", *(("--full-refresh",) if full_refresh else ()))
    return {"dbt": summary.counts}


def quality_gate(
    run_id: str,
    interval_start: Moment | None,
    interval_end: Moment | None,
    accept_anomalies: bool = False,
    settings: Settings | None = None,
    run_after: Moment | None = None,
) -> dict:
    """Validate the audit marts; raise QualityGateFailed (nothing is published) on failure."""
    from smarketing.quality.gate import assert_gate_passes, run_gate
    from smarketing.quality.run_context import write_run_context

    settings = _prepared(settings)
    window = window_for(interval_start, interval_end, None, settings, run_after)
    context = write_run_context(
        settings.warehouse_path,
        settings.published_path,
        window,
        settings.anomaly_threshold,
        settings.anomaly_baseline_days,
        accept_anomalies,
        min_baseline=settings.anomaly_min_baseline,
        reporting_currency=settings.reporting_currency,
        hubspot_company_currency=settings.hubspot_company_currency,
    )
    from smarketing.quality.quarantine import quarantine_checks
    from smarketing.sources.catalog import enabled_entities

    raw_checks = quarantine_checks(
        settings.warehouse_path,
        settings.landing_dir,
        window,
        settings.quarantine_max_spend,
        enabled_entities(settings),
    )
    result = run_gate(
        settings.warehouse_path,
        settings.expectations_dir,
        settings.reports_dir,
        safe_run_id(run_id),
        raw_checks,
    )
    log.info(
        "quality gate %s: %s; report %s",
        "passed" if result.success else "FAILED",
        result.counts_line(),
        result.report_path,
    )
    for warning in result.warnings:
        log.warning("quality warning: %s", warning.line())
    assert_gate_passes(result)
    return {
        "checks_run": result.checks_run,
        "counts": result.counts,
        "warnings": [w.line() for w in result.warnings],
        "report": str(result.report_path),
        "baseline_days": context["baseline_days"],
        # quarantined value per entity and the extracted = loaded + quarantined reconciliation
        "quarantine": {c.check: c.observed for c in raw_checks},
    }


def publish(
    run_id: str, interval: str, gate: dict | None = None, settings: Settings | None = None
) -> dict:
    """Swap the audited marts into the published database atomically; keep the version."""
    from smarketing.warehouse import serve_postgres
    from smarketing.warehouse.publish import live_version, prune_versions
    from smarketing.warehouse.publish import publish as publish_db

    settings = _prepared(settings)
    changes = settings_report(settings)
    # PostgreSQL (optional) is loaded first and swapped last: see serve_postgres's docstring.
    postgres = serve_postgres.configured_target(settings.bi_role)
    if postgres is not None:
        serve_postgres.load_staging(
            postgres,
            settings.warehouse_path,
            _audit_tables(settings),
            run_id,
            interval,
            settings.dbt_project_dir,
        )
    # what PostgreSQL still serves if its swap fails: the DuckDB file goes back to exactly it
    previous = live_version(settings.published_path)
    had_published = settings.published_path.exists()
    try:
        result = publish_db(
            settings.warehouse_path,
            settings.published_path,
            run_id,
            interval,
            validation={"success": True, **(gate or {})},
            # with PostgreSQL, prune only once both stores serve the new version
            keep_versions=settings.publish_keep_versions if postgres is None else 1_000_000,
            settings=changes["settings"],
        )
    except BaseException:
        if postgres is not None:
            serve_postgres.drop_staging(postgres)
        raise
    if postgres is not None:
        try:
            serve_postgres.swap(postgres)
        except serve_postgres.PostgresServingError:
            _restore_previous_duckdb(settings.published_path, had_published, previous)
            raise
        prune_versions(settings.published_path, settings.publish_keep_versions)
    log.info("published %s: %s (version %s)", result.path, result.tables, result.version)
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    (settings.reports_dir / LAST_SETTINGS_FILE).write_text(
        json.dumps(
            {"run_id": run_id, "version": str(result.version), "settings": changes["settings"]},
            indent=1,
            sort_keys=True,
        )
    )
    return {
        "path": str(result.path),
        "tables": result.tables,
        "version": str(result.version),
        "postgres": postgres.label if postgres is not None else None,
    } | changes


def serve_version_to_postgres(version: Path, settings: Settings | None = None) -> str | None:
    """After a rollback: PostgreSQL serves the restored version too, so BI tools on either
    store never keep the withdrawn numbers. Reads the kept copy (never the published file a
    reader may hold); returns the target's label, or None when PostgreSQL serving is off."""
    import duckdb

    from smarketing.warehouse import serve_postgres

    settings = _prepared(settings)
    target = serve_postgres.configured_target(settings.bi_role)
    if target is None:
        return None
    con = duckdb.connect(str(version), read_only=True)
    try:
        run_id, interval = con.execute("select run_id, data_interval from _publish_info").fetchone()
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
                " where table_schema = 'main' and not starts_with(table_name, '_')"
                " order by table_name"
            ).fetchall()
        ]
    finally:
        con.close()
    serve_postgres.load_staging(
        target, version, tables, run_id, interval, settings.dbt_project_dir, source_schema="main"
    )
    serve_postgres.swap(target)
    log.info("PostgreSQL %s now serves %s (run %s)", target.label, version.name, run_id)
    return target.label


def _audit_tables(settings: Settings) -> list[str]:
    import duckdb

    from smarketing.warehouse.publish import audit_tables

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return audit_tables(con)
    finally:
        con.close()


def _restore_previous_duckdb(
    published_path: Path, had_published: bool, previous: Path | None
) -> None:
    """PostgreSQL kept the previous version: put the DuckDB file back to exactly that one."""
    from smarketing.warehouse.publish import rollback

    if had_published:
        restored = rollback(published_path, to=previous)
        log.error("PostgreSQL swap failed: DuckDB file restored to %s", restored.name)
    else:
        published_path.unlink(missing_ok=True)
        log.error("PostgreSQL swap failed: first DuckDB publish withdrawn")


def revenue_report(run_id: str, settings: Settings | None = None) -> str:
    """Write the run's revenue report (charts of the published marts); return its path."""
    from smarketing.report.revenue import write_revenue_report

    settings = _prepared(settings)
    path = write_revenue_report(
        settings.published_path,
        settings.reports_dir,
        safe_run_id(run_id),
        settings.reporting_currency,
    )
    log.info("revenue report: %s", path)
    return str(path)


def on_track_summary(published_path: Path, currency: str) -> str:
    """Are we on track (the pacing mart) and what sales decided about the MQLs, by source."""
    import duckdb

    from smarketing.report.on_track import on_track_text

    con = duckdb.connect(str(published_path), read_only=True)
    try:
        return on_track_text(con, currency)
    finally:
        con.close()


def summary_text(settings: Settings | None = None) -> str:
    """What a person needs after a run: where the marts are, what is in them, a query."""
    from smarketing.warehouse.publish import published_tables

    settings = settings or load_settings()
    path = settings.published_path
    if not path.exists():
        return f"No published marts yet at {path}"
    tables = published_tables(path)
    # the DuckDB CLI (PyPI package duckdb-cli) lives next to this interpreter: print its full
    # path so the command works as written from any shell
    cli = Path(sys.executable).with_name("duckdb")
    duckdb_cli = str(cli) if cli.exists() else "duckdb"
    width = max(len(t) for t in tables)
    lines = [f"Published marts: {path}", ""]
    lines += [f"  {name.ljust(width)}  {rows:>10,} rows" for name, rows in tables.items()]
    lines += ["", on_track_summary(path, settings.reporting_currency)]
    lines += [
        "",
        "Try it (DuckDB CLI, or any DuckDB/BI client opening the file read-only):",
        f"  {duckdb_cli} -readonly {path} \\",
        '    "select channel, sum(spend) as spend, sum(leads) as leads, sum(won_deals) as won,'
        " sum(won_revenue) as revenue from mart_channel_daily"
        ' group by channel order by revenue desc"',
        "  # bad leads or leads never worked? lead quality and follow-up by lead source:",
        f"  {duckdb_cli} -readonly {path} \\",
        '    "select dimension_value as lead_source, mqls, mqls_never_worked,'
        " median_hours_to_first_touch, round(share_worked_within_sla, 2) as within_sla,"
        " round(mql_to_opportunity_rate, 2) as mql_to_opp from mart_sales_marketing_sla"
        " where dimension = 'lead_source' order by mqls desc\"",
        f"  .venv/bin/python -c \"import duckdb; duckdb.connect('{path}', read_only=True)"
        ".sql('select channel, sum(spend) spend, sum(leads) leads, sum(won_revenue) revenue "
        "from mart_channel_daily group by 1 order by 4 desc').show()\"",
    ]
    return "\n".join(lines)


def write_run_summary(run_id: str, results: dict, settings: Settings | None = None) -> Path:
    """Keep each run's step results next to its validation report."""
    settings = _prepared(settings)
    folder = settings.reports_dir / safe_run_id(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "run_summary.json"
    from smarketing.sources.credentials import register_all_connections

    register_all_connections()  # the summary task holds no connector: load to mask
    path.write_text(redact.scrub_known(json.dumps(results, indent=1, sort_keys=True, default=str)))
    return path


def step_lock(step: str, run_id: str | None = None, settings: Settings | None = None):
    """Hold the warehouse lock for one step (DuckDB writers of two runs never overlap).

    A busy lock raises RunLockBusy naming the holder; the task's retries cover it.
    """
    from smarketing.runlock import run_lock

    settings = settings or load_settings()
    path = settings.warehouse_path.with_name(f".{settings.warehouse_path.name}.lock")
    return run_lock(path, f"step {step} of run {run_id or '?'}")
