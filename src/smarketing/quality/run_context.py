"""What the gate needs to know about the run, written next to the audit marts.

``audit._run_context`` is one row: the data interval, the anomaly threshold, whether this run
was told to accept anomalies, and the baseline of each key figure (its average per day over
the last published days before the interval). The baseline is read from the kept copy of the
live version (``versions/``), never from the published file: a BI client may hold that one
with a read-write connection, and the run must not need it. Figures
whose baseline is below ``min_baseline`` per day are too small to judge. The gate's
run-level checks read it; publication skips tables starting with "_".
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from smarketing.intervals import DataWindow

FIGURES = ("leads", "spend", "sessions")
COLUMNS = (
    ("interval_start", "date"),
    ("interval_end", "date"),
    ("reporting_currency", "varchar"),
    ("hubspot_company_currency", "varchar"),
    ("anomaly_threshold", "double"),
    ("anomaly_min_baseline", "double"),
    ("accept_anomalies", "boolean"),
    ("baseline_leads", "double"),
    ("baseline_spend", "double"),
    ("baseline_sessions", "double"),
    ("baseline_days", "integer"),
)


def published_baseline(
    published_path: Path, window: DataWindow, days: int, currency: str | None = None
) -> dict:
    """Average per day of each key figure over the ``days`` published days before the window.

    Read from the kept copy of the live version; no kept version means no baseline.
    """
    from smarketing.warehouse.publish import kept_record, live_version

    empty = {f"baseline_{f}": None for f in FIGURES} | {"baseline_days": 0}
    kept = live_version(published_path)
    if kept is None:
        return empty
    recorded = (kept_record(kept).get("settings") or {}).get("reporting_currency")
    con = duckdb.connect(str(kept), read_only=True)
    try:
        row = con.execute(
            f"""with days as (
                select date_day, {", ".join(f"sum({f}) as {f}" for f in FIGURES)}
                from mart_channel_daily where date_day < ?
                group by date_day order by date_day desc limit ?
            )
            select {", ".join(f"avg({f})::double" for f in FIGURES)}, count(*) from days""",
            [window.start.date(), days],
        ).fetchone()
    except duckdb.CatalogException:
        return empty
    finally:
        con.close()
    baseline = {f"baseline_{f}": v for f, v in zip(FIGURES, row[:3], strict=True)}
    if currency is not None and recorded not in (None, currency):
        baseline["baseline_spend"] = None  # other currency: not comparable, not judged
    return baseline | {"baseline_days": row[3]}


def write_run_context(
    warehouse_path: Path,
    published_path: Path,
    window: DataWindow,
    threshold: float,
    baseline_days: int,
    accept_anomalies: bool,
    min_baseline: float = 10.0,
    reporting_currency: str = "USD",
    hubspot_company_currency: str = "USD",
) -> dict:
    """(Re)write audit._run_context for this run; return its values."""
    values = {
        "interval_start": window.start.date(),
        "interval_end": window.end.date(),
        "reporting_currency": reporting_currency,
        "hubspot_company_currency": hubspot_company_currency,
        "anomaly_threshold": float(threshold),
        "anomaly_min_baseline": float(min_baseline),
        "accept_anomalies": bool(accept_anomalies),
        **published_baseline(published_path, window, baseline_days, reporting_currency),
    }
    con = duckdb.connect(str(warehouse_path))
    try:
        con.execute("create schema if not exists audit")
        columns = ", ".join(f"?::{kind} as {name}" for name, kind in COLUMNS)
        con.execute(
            f"create or replace table audit._run_context as select {columns}",
            [values[name] for name, _ in COLUMNS],
        )
    finally:
        con.close()
    return values
