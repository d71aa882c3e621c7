"""One large company through the whole pipeline: where the time and memory go, and whether
every published figure still equals the demo's ground truth.

``bench.py`` sweeps scales with medians; this runs one scale once (scale 100, about 7M GA4
events over 90 days, takes ~10 minutes to write and serve), each step in its own process as
the DAG runs them: every source's extract at once (the DAG's parallel extract tasks), then
load_raw, dbt build, the quality gate and publish. It prints each step's seconds and peak
resident memory, then (``--check-truth``) compares the published marts with the company's
``ground_truth.json`` using the end-to-end test's own comparison
(``tests/test_e2e_dag.py``). ``--next-demo`` (the same company one day older) adds the next
night's run on the same warehouse.

    .venv/bin/python benchmarks/scale_run.py --scale 100 --work /tmp/s100 --check-truth
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import bench

PROJECT = Path(__file__).resolve().parents[1]
FIRST_DAY = date(2026, 1, 1)  # bench's default 90 days through bench.LAST_DAY


def run_night(
    work: Path, demo: Path, day, extract_start: str | None, label: str
) -> dict[str, tuple[float, float]]:
    """Extract (every source at once), load_raw, dbt, gate, publish for the night of ``day``."""
    data = work / "data"
    log = work / "steps.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    base["SMARKETING_DATA_DIR"] = str(data)
    window = {
        "start": day.isoformat(),
        "end": (day + timedelta(days=1)).isoformat(),
        "extract_start": extract_start,
    }
    figures: dict[str, tuple[float, float]] = {}
    server_dir = work / f"server_{label}"
    server_dir.mkdir(parents=True, exist_ok=True)
    apis = bench.DemoApis(demo, server_dir)
    try:
        env = {**base, **apis.conns}
        began = time.perf_counter()
        args = [{**window, "source": source} for source in bench.SOURCES]
        wall, extracted = bench.spawn_concurrently("extract", args, env, log)
    finally:
        apis.close()
    for source, got in zip(bench.SOURCES, extracted, strict=True):
        figures[f"extract {source}"] = (got["seconds"], got["peak_mb"])
    figures["extract, every source at once (wall)"] = (
        wall,
        max(got["peak_mb"] for got in extracted),
    )
    steps = bench.load_build_publish(window, f"scale_run_{label}", env, log)
    for step, got in steps.items():
        figures["dbt build" if step == "dbt" else step] = (got["seconds"], got["peak_mb"])
    figures["end to end"] = (time.perf_counter() - began, max(v[1] for v in figures.values()))
    return figures


def check_truth(published: Path, truth_path: Path) -> str:
    """The end-to-end test's comparison of the published marts with the ground truth."""
    import duckdb

    sys.path.insert(0, str(PROJECT))
    from tests.test_e2e_dag import assert_published_marts_equal_truth

    con = duckdb.connect(str(published), read_only=True)
    try:
        assert_published_marts_equal_truth(con, json.loads(truth_path.read_text()))
    finally:
        con.close()
    return "every published figure the end-to-end test compares equals the ground truth"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=100.0)
    parser.add_argument("--work", type=Path, required=True, help="run folder (kept)")
    parser.add_argument("--demo", type=Path, help="an existing demo folder of this scale")
    parser.add_argument("--next-demo", type=Path, help="the same company one day older")
    parser.add_argument("--check-truth", action="store_true")
    parser.add_argument(
        "--nightly-only", action="store_true", help="only the next night, on --work's warehouse"
    )
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    demo = args.demo or args.work / "demo"  # with --nightly-only: the full load's demo
    if args.demo is None and not args.nightly_only:
        began = time.perf_counter()
        events = bench.write_demo(args.scale, FIRST_DAY, bench.LAST_DAY, demo)
        print(f"demo company written: {events:,} GA4 events in {time.perf_counter() - began:.0f} s")
    rows = {}
    if not args.nightly_only:
        rows = run_night(args.work, demo, bench.LAST_DAY, FIRST_DAY.isoformat(), "full")
    if args.next_demo is not None:
        bench.share_demo_key(demo, args.next_demo)
        nightly = run_night(
            args.work, args.next_demo, bench.LAST_DAY + timedelta(days=1), None, "nightly"
        )
        rows.update({f"{k}, nightly": v for k, v in nightly.items()})
    print(f"scale {args.scale:g}, one run; seconds, peak resident memory of the step's process")
    for name, (seconds, peak) in rows.items():
        print(f"  {name:<48} {seconds:8.1f} s {peak:8.0f} MB")
    if args.check_truth:
        demo = args.next_demo if args.next_demo is not None else demo
        print(
            check_truth(
                args.work / "data" / "published" / "smarketing.duckdb", demo / "ground_truth.json"
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
