"""The nightly pipeline's steps, as plain functions the DAG's tasks call.

Each step takes the data interval (never "now") and returns a small JSON-able dict for XCom
and the run summary. Steps are idempotent: re-running one for the same interval gives the
same result. Heavy imports (dbt, Great Expectations, DuckDB) happen inside the steps.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from pathlib import Path

from smarketing.config import Settings, load_settings
from smarketing.intervals import DataWindow, resolve_window

log = logging.getLogger(__name__)

Moment = str | date | datetime


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
    """The connector of one source, with credentials from its Airflow Connection."""
    from smarketing.sources.credentials import get_credentials
    from smarketing.sources.http import RetryPolicy

    policy = RetryPolicy(
        max_attempts=settings.http_max_attempts,
        backoff_seconds=settings.http_backoff_seconds,
        read_timeout=settings.http_timeout_seconds,
    )
    if source == "crm":
        from smarketing.sources.hubspot import HubSpotReader

        return HubSpotReader(
            get_credentials("smarketing_hubspot"), policy, settings.hubspot_search_per_second
        )
    if source == "email":
        from smarketing.sources.mailchimp import MailchimpReader

        return MailchimpReader(
            get_credentials("smarketing_mailchimp"), policy, settings.mailchimp_activity_days
        )
    if source == "ppc":
        from smarketing.sources.base import EntityRouter
        from smarketing.sources.google_ads import GoogleAdsReader
        from smarketing.sources.meta_ads import MetaAdsReader

        google_ads = GoogleAdsReader(get_credentials("smarketing_google_ads"), policy)
        return EntityRouter(
            {
                "google_ads": google_ads,
                "google_ads_clicks": google_ads,  # click_view: one searchStream query per day
                "meta_insights": MetaAdsReader(get_credentials("smarketing_meta_ads"), policy),
            }
        )
    if source == "web":
        from smarketing.sources.ga4 import Ga4ExportReader

        return Ga4ExportReader(get_credentials("smarketing_ga4"))
    raise KeyError(f"unknown source {source!r}")


def extract(
    source: str,
    interval_start: Moment | None,
    interval_end: Moment | None,
    extract_start: Moment | None = None,
    settings: Settings | None = None,
    run_after: Moment | None = None,
) -> dict:
    """Extract one source for the interval into the landing zone."""
    from smarketing.landing import land_source

    settings = settings or load_settings()
    settings.ensure_dirs()
    window = window_for(interval_start, interval_end, extract_start, settings, run_after)
    landed = land_source(
        reader_for(source, settings),
        source,
        window,
        settings.landing_dir,
        settings.quarantine_max_share,
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


def load_raw(
    interval_start: Moment | None,
    interval_end: Moment | None,
    extract_start: Moment | None = None,
    settings: Settings | None = None,
    run_after: Moment | None = None,
) -> dict:
    """Load the interval's landed files into the raw schema (one transaction)."""
    from smarketing.warehouse.load import load_interval

    settings = settings or load_settings()
    window = window_for(interval_start, interval_end, extract_start, settings, run_after)
    counts = load_interval(settings.warehouse_path, settings.landing_dir, window)
    result = {
        c.table: {"extracted": c.extracted, "loaded": c.loaded, "quarantined": c.quarantined}
        for c in counts
    }
    log.info("loaded interval=%s into raw: %s", window.key, result)
    return {"interval": window.key, "loaded": result}


def transform(settings: Settings | None = None, full_refresh: bool = False) -> dict:
    """dbt build into the audit area; fails on any failing model, unit test or data test.

    ``full_refresh`` rebuilds incremental models from all raw data (after a logic change).
    dbt never full-refreshes a snapshot, so the deal history survives it.
    """
    from smarketing.transform import run_dbt

    settings = settings or load_settings()
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

    settings = settings or load_settings()
    window = window_for(interval_start, interval_end, None, settings, run_after)
    context = write_run_context(
        settings.warehouse_path,
        settings.published_path,
        window,
        settings.anomaly_threshold,
        settings.anomaly_baseline_days,
        accept_anomalies,
        hubspot_company_currency=settings.hubspot_company_currency,
    )
    result = run_gate(
        settings.warehouse_path,
        settings.expectations_dir,
        settings.reports_dir,
        safe_run_id(run_id),
    )
    log.info(
        "quality gate: %d checks, success=%s, %d warnings, report %s",
        result.checks_run,
        result.success,
        len(result.warnings),
        result.report_path,
    )
    for warning in result.warnings:
        log.warning("quality warning: %s", warning.line())
    assert_gate_passes(result)
    return {
        "checks_run": result.checks_run,
        "warnings": [w.line() for w in result.warnings],
        "report": str(result.report_path),
        "baseline_days": context["baseline_days"],
    }


def publish(
    run_id: str, interval: str, gate: dict | None = None, settings: Settings | None = None
) -> dict:
    """Swap the audited marts into the published database atomically; keep the version."""
    from smarketing.warehouse.publish import publish as publish_db

    settings = settings or load_settings()
    result = publish_db(
        settings.warehouse_path,
        settings.published_path,
        run_id,
        interval,
        validation={"success": True, **(gate or {})},
        keep_versions=settings.publish_keep_versions,
    )
    log.info("published %s: %s (version %s)", result.path, result.tables, result.version)
    return {"path": str(result.path), "tables": result.tables, "version": str(result.version)}


def summary_text(settings: Settings | None = None) -> str:
    """What a person needs after a run: where the marts are, what is in them, a query."""
    from smarketing.warehouse.publish import published_tables

    settings = settings or load_settings()
    path = settings.published_path
    if not path.exists():
        return f"No published marts yet at {path}"
    tables = published_tables(path)
    width = max(len(t) for t in tables)
    lines = [f"Published marts: {path}", ""]
    lines += [f"  {name.ljust(width)}  {rows:>10,} rows" for name, rows in tables.items()]
    lines += [
        "",
        "Try it (DuckDB CLI, or any DuckDB/BI client opening the file read-only):",
        f"  duckdb -readonly {path} \\",
        '    "select channel, sum(spend) as spend, sum(leads) as leads, sum(won_deals) as won,'
        " sum(won_revenue) as revenue from mart_channel_daily"
        ' group by channel order by revenue desc"',
        "  # bad leads or leads never worked? lead quality and follow-up by lead source:",
        f"  duckdb -readonly {path} \\",
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
    settings = settings or load_settings()
    folder = settings.reports_dir / safe_run_id(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "run_summary.json"
    path.write_text(json.dumps(results, indent=1, sort_keys=True, default=str))
    return path
