"""The benchmark's machinery: a tiny sweep prints a well-formed table and ratios line whose
figures agree with each other, and the bare-SQL floor rebuilds models in DAG order.

No timing thresholds here: timing targets live in the benchmark's own output.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench.py"


def _bench():
    spec = importlib.util.spec_from_file_location("smarketing_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seconds(cell: str) -> tuple[float, float]:
    match = re.fullmatch(r"(\d+\.\d) s, (\d+) MB", cell.strip())
    assert match, f"malformed cell {cell!r}"
    return float(match[1]), float(match[2])


@pytest.mark.slow
@pytest.mark.extended
def test_tiny_sweep_prints_a_consistent_table_and_one_ratios_line(tmp_path: Path) -> None:
    bench = _bench()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--scales", "0.3", "--repeat", "1", "--days", "30"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()

    last = lines[-1]
    match = re.fullmatch(
        r"ratios: nightly_vs_full=(\d+\.\d\d) gate_vs_build=(\d+\.\d\d)"
        r" dbt_vs_bare=(\d+\.\d\d) extract_full_s20=(nan|\d+\.\d)",
        last,
    )
    assert match, last
    assert sum(line.startswith("ratios:") for line in lines) == 1

    header = next(line for line in lines if line.startswith("| step |"))
    assert re.search(r"scale 0\.3 \(([\d,]+) events\)", header)
    events = int(re.search(r"\(([\d,]+) events\)", header)[1].replace(",", ""))
    assert events > 0
    rows = {}
    for line in lines:
        if line.startswith("| ") and not line.startswith("| step"):
            label, cell = (part.strip() for part in line.strip("|").split("|"))
            rows[label] = _seconds(cell)
    assert list(rows) == [label for _, label in bench.ROWS]  # every step, once, in order
    for label, (seconds, mb) in rows.items():
        assert seconds > 0 and mb > 0, label

    fig = {key: rows[label] for key, label in bench.ROWS}
    for run in ("full", "nightly"):
        per_source = sum(fig[f"extract_{s}_{run}"][0] for s in bench.SOURCES)
        assert abs(fig[f"extract_{run}"][0] - per_source) <= 0.25  # rounding of one cell per vendor
        steps = fig[f"extract_{run}"][0] + sum(
            fig[f"{step}_{run}"][0] for step in ("load_raw", "dbt", "gate", "publish")
        )
        assert fig[f"e2e_{run}"][0] >= steps - 0.3, run
        assert fig[f"e2e_{run}"][1] == max(
            mb for key, (_, mb) in fig.items() if key.endswith(f"_{run}") and key != f"e2e_{run}"
        )
    assert fig["bare_models_tests"][0] >= fig["bare_models"][0] * 0.5  # same models, plus tests

    nightly_vs_full, gate_vs_build, dbt_vs_bare = (float(match[i]) for i in (1, 2, 3))
    assert math.isclose(
        nightly_vs_full,
        fig["dbt_nightly"][0] / fig["dbt_full"][0],
        abs_tol=0.05 + 0.1 / fig["dbt_full"][0],
    )
    assert math.isclose(
        gate_vs_build,
        fig["gate_full"][0] / fig["dbt_full"][0],
        abs_tol=0.05 + 0.1 / fig["dbt_full"][0],
    )
    assert math.isclose(
        dbt_vs_bare, fig["dbt_full"][0] / fig["bare_models"][0], rel_tol=0.1, abs_tol=0.1
    )
    assert match[4] == "nan"  # scale 20 was not run: no made-up figure

    fixed = next(line for line in lines if line.startswith("the nightly's fixed cost:"))
    share = float(re.search(r"= (\d+\.\d\d) at scale 0\.3$", fixed)[1])
    assert math.isclose(
        share,
        fig["dbt_no_new_data"][0] / fig["dbt_full"][0],
        abs_tol=0.05 + 0.1 / fig["dbt_full"][0],
    )


def test_bare_sql_rebuilds_models_in_dag_order_and_runs_tests(tmp_path: Path) -> None:
    """Known answer: a view over raw, a table over the view, a test over the table."""
    bench = _bench()
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema raw; create schema staging; create schema marts")
    con.execute(
        "create table raw.orders as select * from (values (1, 10.5), (2, 4.5)) t(id, amount)"
    )
    con.execute("create table marts.total as select 0.0 as total")  # stale: must be rebuilt
    con.close()
    view = {
        "resource_type": "model",
        "config": {"materialized": "view"},
        "relation_name": '"warehouse"."staging"."stg_orders"',
        "compiled_code": 'select id, amount * 2 as amount from "warehouse"."raw"."orders"',
        "depends_on": {"nodes": []},
    }
    table = {
        "resource_type": "model",
        "config": {"materialized": "incremental"},
        "relation_name": '"warehouse"."marts"."total"',
        "compiled_code": 'select sum(amount) as total from "warehouse"."staging"."stg_orders"',
        "depends_on": {"nodes": ["model.p.stg_orders"]},
    }
    check = {
        "resource_type": "test",
        "config": {},
        "compiled_code": 'select * from "warehouse"."marts"."total" where total < 0',
        "depends_on": {"nodes": ["model.p.total"]},
    }
    # listed downstream first: only the DAG order makes the view exist before the table
    manifest = {"nodes": {"test.p.t": check, "model.p.total": table, "model.p.stg_orders": view}}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))

    assert bench.bare_sql(path, db, with_tests=True) == {"models": 2, "tests": 1, "snapshots": 0}
    assert bench.bare_sql(path, db, with_tests=False)["tests"] == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select total from marts.total").fetchone()[0] == 30
    con.close()


def test_step_peak_memory_is_the_steps_own_not_its_big_parents(tmp_path: Path) -> None:
    """ru_maxrss survives fork + exec: a step spawned by a 400 MB parent must not report 400 MB."""
    bench = _bench()
    ballast = bytearray(400 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page: resident, not just mapped
    args = {"landing": str(tmp_path / "none"), "db": str(tmp_path / "bare.duckdb")}
    got = bench.spawn_step("bare_load", args, dict(os.environ), tmp_path / "steps.log")
    del ballast
    assert got["result"] == {"rows": 0}
    assert 10 < got["peak_mb"] < 300
