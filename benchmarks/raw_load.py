"""Benchmark: raw loading with versions and natural keys (initial load, re-load, nightly).

Lands a demo company of SCALE for DAYS days, then times ``load_interval`` for the initial
load, a re-load of the same landing (nothing changes), the next nightly window (lookback 3)
and an older window re-loaded after it. Prints seconds and the rows kept current and as
versions per large table.

    .venv/bin/python benchmarks/raw_load.py [SCALE] [DAYS]     # default 1 60
"""

from __future__ import annotations

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
from smarketing.sources.catalog import SOURCES
from smarketing.sources.demo_files import DemoFileReader
from smarketing.warehouse.load import load_interval


def land(settings, demo: Path, window) -> None:
    for source in SOURCES:
        land_source(DemoFileReader(demo), source, window, settings.landing_dir)


def timed_load(settings, window) -> float:
    began = time.perf_counter()
    load_interval(settings.warehouse_path, settings.landing_dir, window)
    return time.perf_counter() - began


def main(scale: float, days: int) -> None:
    start = date(2026, 1, 1)
    last = start + timedelta(days=days - 1)
    with tempfile.TemporaryDirectory(prefix="smarketing-bench-") as tmp:
        import os

        os.environ["SMARKETING_DATA_DIR"] = str(Path(tmp) / "data")
        settings = load_settings()
        settings.ensure_dirs()
        demo = Path(tmp) / "demo"
        write_world(generate(42, scale, start, last + timedelta(days=1)), demo)
        initial = resolve_window(last - timedelta(days=1), last, 3, start)
        nightly = resolve_window(last, last + timedelta(days=1), 3)
        land(settings, demo, initial)
        land(settings, demo, nightly)
        figures = {
            "initial load": timed_load(settings, initial),
            "same landing re-loaded": timed_load(settings, initial),
            "next nightly (lookback 3)": timed_load(settings, nightly),
            "older interval re-loaded after it": timed_load(settings, initial),
        }
        print(f"scale {scale}, {days} days")
        for name, seconds in figures.items():
            print(f"  {name:<36} {seconds:6.2f} s")
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        for table in (
            "ga4__events",
            "mailchimp__email_activity",
            "hubspot__contacts",
            "hubspot__deals",
        ):
            current = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            versions = con.execute(f"select count(*) from raw.{table}__versions").fetchone()[0]
            print(f"  raw.{table:<24} {current:>9,} current {versions:>9,} versions")
        con.close()


if __name__ == "__main__":
    main(
        float(sys.argv[1]) if len(sys.argv) > 1 else 1.0,
        int(sys.argv[2]) if len(sys.argv) > 2 else 60,
    )
