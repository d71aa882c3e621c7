"""Benchmark: a full dbt build versus the next one-day nightly build (incremental sessions).

Builds a demo company of SCALE for DAYS days, loads it, runs `dbt build` (full), then
extends the company by one day, loads only that night's window (with the usual lookback)
and runs `dbt build` again. Prints wall times, peak memory and how many sessions each build
(re)wrote: the nightly build must not re-sessionise history.

    .venv/bin/python benchmarks/dbt_nightly.py [SCALE] [DAYS]     # default 3 60
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from smarketing.config import load_settings
from smarketing.demo.company import generate, write_world
from smarketing.intervals import resolve_window
from smarketing.landing import land_source
from smarketing.pseudonyms import demo_key
from smarketing.sources.catalog import SOURCES
from smarketing.sources.demo_files import DemoFileReader
from smarketing.transform import run_dbt
from smarketing.warehouse.load import load_interval


def night(settings, demo: Path, start: date, end: date, extract: date) -> float:
    """Land and load one window from the demo files; return the seconds it took."""
    began = time.perf_counter()
    window = resolve_window(start, end, 0, extract)
    for source in SOURCES:
        land_source(DemoFileReader(demo), source, window, settings.landing_dir)
    load_interval(settings.warehouse_path, settings.landing_dir, window)
    return time.perf_counter() - began


def sessions_written_since(path: Path, since: float) -> tuple[int, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        total, written = con.execute(
            "select count(*), count(*) filter (where epoch(built_at) >= ?)"
            " from intermediate.int_web__sessions",
            [since],
        ).fetchone()
    finally:
        con.close()
    return written, total


def main(scale: float = 3.0, days: int = 60) -> None:
    import os

    work = Path(tempfile.mkdtemp(prefix="smarketing-bench-"))
    os.environ["SMARKETING_DATA_DIR"] = str(work / "data")
    settings = load_settings()
    settings.ensure_dirs()
    first, last = date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=days - 1)
    demo = work / "demo"
    write_world(generate(42, scale, first, last), demo)
    # person keys need the pseudonym key: the demo's generated one (smarketing.pseudonyms)
    os.environ["AIRFLOW_CONN_SMARKETING_PSEUDONYM"] = json.dumps({"password": demo_key(demo)})
    events = sum(1 for f in (demo / "web").glob("*.jsonl") for _ in f.open())
    print(f"demo company: scale {scale}, {days} days, {events:,} GA4 events")

    load_s = night(settings, demo, last, last + timedelta(days=1), first)
    began = time.time()
    t0 = time.perf_counter()
    run_dbt(settings, "build")
    full_s = time.perf_counter() - t0
    full_written, full_total = sessions_written_since(settings.warehouse_path, began)

    # the next night: one more day; the company's earlier days do not change
    nxt = last + timedelta(days=1)
    write_world(generate(42, scale, first, nxt), demo)
    lookback = settings.lookback_days
    load2_s = night(settings, demo, nxt, nxt + timedelta(days=1), nxt - timedelta(days=lookback))
    began = time.time()
    t0 = time.perf_counter()
    run_dbt(settings, "build")
    nightly_s = time.perf_counter() - t0
    written, total = sessions_written_since(settings.warehouse_path, began)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"initial load (landing + raw): {load_s:6.1f} s")
    print(
        f"full dbt build:               {full_s:6.1f} s  sessions written {full_written:,}"
        f" of {full_total:,}"
    )
    print(f"nightly load ({lookback}-day lookback): {load2_s:6.1f} s")
    print(
        f"nightly dbt build:            {nightly_s:6.1f} s  sessions written {written:,}"
        f" of {total:,} ({written / total:.1%})"
    )
    print(f"peak resident memory:         {peak_mb:6.0f} MB")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(float(args[0]) if args else 3.0, int(args[1]) if len(args) > 1 else 60)
