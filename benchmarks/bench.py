"""Benchmark: where a nightly run's time and memory go, per step, across demo-company scales.

For every scale it builds the demo company (90 days by default), serves its vendor APIs with
``smarketing demo serve`` and runs the pipeline's real steps, each in its own process
(as an Airflow worker would): extract per source through the connectors, load_raw, dbt
build, quality gate, publish -- first the initial full load, then the next one-day nightly
run (the company one day older, the usual lookback). It also measures the bare-DuckDB floor
of the same work: the landing files read by DuckDB's own ``read_ndjson`` and the compiled
dbt models (from dbt's target/ manifest) run as plain SQL in one DuckDB connection in DAG
order. After the full load, its extracts run once more with every source's process started
at once, as the DAG's parallel extract tasks run (wall time from the first start to the last
end; the row's memory is the processes' peaks summed). Every figure is the median of
``--repeat`` runs (a fresh data folder each); peak memory is each step process's maximum
resident set size.

    make bench                                   # scales 1 5 20, three repeats
    make bench BENCH_ARGS="--scales 1 5"         # or: .venv/bin/python benchmarks/bench.py ...

The last line is always ``ratios: nightly_vs_full=.. gate_vs_build=.. dbt_vs_bare=..
extract_full_s20=..`` (``nan`` for extract_full_s20 when scale 20 was not run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from smarketing.vendors import VENDOR_NAMES

SOURCES = VENDOR_NAMES  # the vendor registry (smarketing.vendors)
RESULT_TAG = "BENCH_RESULT "
LAST_DAY = date(2026, 3, 31)

# (key, label) in table order; values are {key: (seconds, peak MB)} per run
ROWS: list[tuple[str, str]] = [
    *((f"extract_{s}_full", f"extract {s}, full load") for s in SOURCES),
    ("extract_full", "extract all sources, full load"),
    ("extract_full_concurrent", "extract all sources at once (as the DAG), full load"),
    ("load_raw_full", "load_raw, full load"),
    ("dbt_full", "dbt build, full"),
    ("gate_full", "quality gate, full load"),
    ("publish_full", "publish, full load"),
    ("e2e_full", "end to end, full load"),
    *((f"extract_{s}_nightly", f"extract {s}, nightly") for s in SOURCES),
    ("extract_nightly", "extract all sources, nightly"),
    ("load_raw_nightly", "load_raw, nightly"),
    ("dbt_nightly", "dbt build, nightly (next day, incremental)"),
    ("gate_nightly", "quality gate, nightly"),
    ("publish_nightly", "publish, nightly"),
    ("e2e_nightly", "end to end, nightly"),
    ("dbt_no_new_data", "dbt build again, no new data (the nightly's fixed cost)"),
    ("bare_load", "bare DuckDB: landing files via read_ndjson"),
    ("bare_models", "bare DuckDB: compiled models as plain SQL"),
    ("bare_models_tests", "bare DuckDB: compiled models + data tests"),
]
STEPS = ("extract", "load_raw", "dbt", "gate", "publish")


# ---------------------------------------------------------------- child: one measured step


def _peak_mb() -> float:
    """Peak resident memory of this process since its exec.

    Linux's ``ru_maxrss`` survives fork + exec (a child of a big parent reports the parent's
    peak), so read the high-water mark of this address space, ``VmHWM``, where there is one.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_step(name: str, args: dict) -> dict:
    """Run one step in this (fresh) process; return its seconds, peak memory and result."""
    from smarketing import pipeline

    began = time.perf_counter()
    if name == "extract":
        result = pipeline.extract(args["source"], args["start"], args["end"], args["extract_start"])
    elif name == "load_raw":
        result = pipeline.load_raw(args["start"], args["end"], args["extract_start"])
    elif name == "dbt":
        result = pipeline.transform()
    elif name == "gate":
        result = pipeline.quality_gate(args["run_id"], args["start"], args["end"])
    elif name == "publish":
        result = pipeline.publish(args["run_id"], args["interval"], args.get("gate"))
    elif name == "bare_load":
        result = bare_load(Path(args["landing"]), Path(args["db"]))
    elif name == "bare_sql":
        result = bare_sql(Path(args["manifest"]), Path(args["db"]), args["tests"])
    else:
        raise ValueError(f"unknown step {name!r}")
    return {"seconds": time.perf_counter() - began, "peak_mb": _peak_mb(), "result": result}


def bare_load(landing: Path, db: Path) -> dict:
    """DuckDB's own JSON reader on every landed records file: the floor under load_raw."""
    import duckdb

    con = duckdb.connect(str(db))
    rows = 0
    try:
        for i, path in enumerate(sorted(landing.rglob("records.jsonl"))):
            if path.stat().st_size == 0:
                continue
            con.execute(f"create table t{i} as select * from read_ndjson('{path.as_posix()}')")
            rows += con.execute(f"select count(*) from t{i}").fetchone()[0]
    finally:
        con.close()
    return {"rows": rows}


def _dag_order(manifest: dict) -> list[dict]:
    from graphlib import TopologicalSorter

    nodes = manifest["nodes"]
    graph = {
        uid: [d for d in node.get("depends_on", {}).get("nodes", []) if d in nodes]
        for uid, node in nodes.items()
    }
    return [nodes[uid] for uid in TopologicalSorter(graph).static_order()]


def bare_sql(manifest_path: Path, db: Path, with_tests: bool) -> dict:
    """dbt's compiled models (and optionally its data tests) run as plain SQL, in DAG order.

    ``db`` is a copy of the warehouse after a full build, named like the original so the
    compiled relation names resolve; every model is rebuilt in place from its upstreams.
    Seeds are kept as dbt loaded them; a snapshot's select is run as a query (its history
    table stays); ephemeral models are inlined by dbt already.
    """
    import duckdb
    from duckdb.sqltypes import VARCHAR

    from smarketing.pseudonyms import UDF_NAME, load_key, pseudonym

    manifest = json.loads(manifest_path.read_text())
    con = duckdb.connect(str(db))
    con.execute("set TimeZone = 'UTC'")
    if UDF_NAME in manifest_path.read_text():
        # the person-key function dbt's plugin registers (HMAC under the run's pseudonym key)
        secret = load_key().secret
        con.create_function(
            UDF_NAME,
            lambda identity: pseudonym(secret, identity),
            [VARCHAR],
            VARCHAR,
            side_effects=False,
        )
    counts = {"models": 0, "tests": 0, "snapshots": 0}
    try:
        for node in _dag_order(manifest):
            kind, sql = node["resource_type"], node.get("compiled_code")
            materialized = node.get("config", {}).get("materialized")
            if kind == "model" and materialized != "ephemeral":
                verb = "view" if materialized == "view" else "table"
                con.execute(f"create or replace {verb} {node['relation_name']} as {sql}")
                counts["models"] += 1
            elif kind == "snapshot":
                con.execute(f"select count(*) from ({sql})").fetchone()
                counts["snapshots"] += 1
            elif kind == "test" and with_tests and sql:
                con.execute(f"select count(*) from ({sql}) as t").fetchone()
                counts["tests"] += 1
    finally:
        con.close()
    if not counts["models"]:
        raise RuntimeError(f"no compiled models in {manifest_path}")
    return counts


# ---------------------------------------------------------------- parent: orchestration


class StepFailed(RuntimeError):
    pass


def _step_command(name: str, args: dict) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--step", name, json.dumps(args)]


def _step_result(name: str, returncode: int, stdout: str, log: Path) -> dict:
    lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if returncode != 0 or not lines:
        tail = "".join(log.read_text().splitlines(keepends=True)[-40:])
        raise StepFailed(f"step {name} failed (exit {returncode}); log {log}:\n{tail}")
    return json.loads(lines[-1][len(RESULT_TAG) :])


def spawn_step(name: str, args: dict, env: dict[str, str], log: Path) -> dict:
    """Run one step in a child process; the child's figures come back on its last line."""
    with log.open("a") as out:
        out.write(f"\n==> {name} {json.dumps(args)}\n")
        out.flush()
        proc = subprocess.run(
            _step_command(name, args), env=env, stdout=subprocess.PIPE, stderr=out, text=True
        )
    return _step_result(name, proc.returncode, proc.stdout, log)


def spawn_concurrently(
    name: str, args: list[dict], env: dict[str, str], log: Path
) -> tuple[float, list[dict]]:
    """Run one step per ``args`` in child processes started together, as the DAG runs its
    extract tasks; seconds from the first start to the last end, and each child's figures
    (each child logs to its own file)."""
    procs = []
    began = time.perf_counter()
    for i, one in enumerate(args):
        child_log = log.with_name(f"{log.stem}_{name}_{i}.log")
        with child_log.open("w") as out:
            out.write(f"\n==> {name} {json.dumps(one)}\n")
            out.flush()
            proc = subprocess.Popen(
                _step_command(name, one), env=env, stdout=subprocess.PIPE, stderr=out, text=True
            )
        procs.append((proc, child_log))
    results = [(proc.communicate()[0], proc.returncode, child_log) for proc, child_log in procs]
    wall = time.perf_counter() - began
    return wall, [_step_result(name, code, stdout, child) for stdout, code, child in results]


class DemoApis:
    """``smarketing demo serve`` for one demo folder, its AIRFLOW_CONN_* variables parsed."""

    def __init__(self, demo_dir: Path, work: Path):
        env_file = work / "connections.env"
        # a folder used before must wait for this server's address, not read the last one's
        env_file.unlink(missing_ok=True)
        env = {**os.environ, "SMARKETING_DATA_DIR": str(work), "SMARKETING_DEMO_DIR": str(demo_dir)}
        cli = Path(sys.executable).with_name("smarketing")
        self.log = (work / "server.log").open("w")
        self.proc = subprocess.Popen(
            [str(cli), "demo", "serve", "--env-file", str(env_file)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not (env_file.exists() and env_file.stat().st_size):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise StepFailed(f"demo server did not start; see {work / 'server.log'}")
            time.sleep(0.1)
        self.conns: dict[str, str] = {}
        for line in env_file.read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            self.conns[key] = shlex.split(value)[0]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def write_demo(scale: float, first: date, last: date, out: Path) -> int:
    """The demo company through ``last``; returns its GA4 event count."""
    from smarketing.demo.company import generate, write_world

    write_world(generate(42, scale, first, last), out)
    return sum(1 for f in (out / "ga4").glob("*.jsonl") for _ in f.open())


def share_demo_key(demo: Path, next_demo: Path) -> None:
    """One company, one pseudonym key: the next night's demo folder takes the first one's, so
    the nightly does not look like a re-key."""
    from smarketing.pseudonyms import DEMO_KEY_FILE, demo_key

    (next_demo / DEMO_KEY_FILE).write_text(demo_key(demo))
    (next_demo / DEMO_KEY_FILE).chmod(0o600)


def load_build_publish(window: dict, run_id: str, env: dict, log: Path) -> dict[str, dict]:
    """The steps after the extracts, each in its own process: load_raw, dbt build, the gate
    and publish; {step: its figures}."""
    loaded = spawn_step("load_raw", window, env, log)
    built = spawn_step("dbt", {}, env, log)
    gate = spawn_step("gate", {**window, "run_id": run_id}, env, log)
    args = {"run_id": run_id, "interval": loaded["result"]["interval"], "gate": gate["result"]}
    published = spawn_step("publish", args, env, log)
    return {"load_raw": loaded, "dbt": built, "gate": gate, "publish": published}


def run_once(work: Path, first: date, apis_full: DemoApis, apis_next: DemoApis) -> dict[str, tuple]:
    """One full load, its bare floor, then the next night; {row key: (seconds, peak MB)}."""
    data = work / "data"
    log = work / "steps.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    base["SMARKETING_DATA_DIR"] = str(data)
    figures: dict[str, tuple] = {}
    runs = {
        "full": (apis_full, LAST_DAY, first.isoformat()),
        "nightly": (apis_next, LAST_DAY + timedelta(days=1), None),
    }
    for run, (apis, day, extract_start) in runs.items():
        env = {**base, **apis.conns}
        window = {
            "start": day.isoformat(),
            "end": (day + timedelta(days=1)).isoformat(),
            "extract_start": extract_start,
        }
        run_id = f"bench_{run}_{day.isoformat()}"
        began = time.perf_counter()
        extract_s, extract_mb = 0.0, 0.0
        for source in SOURCES:
            got = spawn_step("extract", {**window, "source": source}, env, log)
            figures[f"extract_{source}_{run}"] = (got["seconds"], got["peak_mb"])
            extract_s += got["seconds"]
            extract_mb = max(extract_mb, got["peak_mb"])
        figures[f"extract_{run}"] = (extract_s, extract_mb)
        steps = load_build_publish(window, run_id, env, log)
        e2e = time.perf_counter() - began
        for key, got in steps.items():
            figures[f"{key}_{run}"] = (got["seconds"], got["peak_mb"])
        peak = max(v[1] for k, v in figures.items() if k.endswith(f"_{run}"))
        figures[f"e2e_{run}"] = (e2e, peak)
        if run == "full":
            figures.update(bare_floor(work, data, env, log))
            figures["extract_full_concurrent"] = extract_concurrently(work, window, env, log)
    # the same nightly build once more, nothing new loaded: what a nightly costs whatever
    # the data (dbt's start-up, parse and per-node work, the lookback days, whole tables)
    again = spawn_step("dbt", {}, env, log)
    figures["dbt_no_new_data"] = (again["seconds"], again["peak_mb"])
    return figures


def extract_concurrently(work: Path, window: dict, env: dict, log: Path) -> tuple[float, float]:
    """The full load's extracts again, every source's process started at once as the DAG's
    parallel extract tasks run, into a folder of their own; (wall seconds, summed peak MB:
    the processes are resident together)."""
    data = work / "data_concurrent"
    env = {**env, "SMARKETING_DATA_DIR": str(data)}
    args = [{**window, "source": source} for source in SOURCES]
    wall, got = spawn_concurrently("extract", args, env, log)
    shutil.rmtree(data, ignore_errors=True)
    return wall, sum(one["peak_mb"] for one in got)


def bare_floor(work: Path, data: Path, env: dict, log: Path) -> dict[str, tuple]:
    """The same full-load work in bare DuckDB, on copies (the run's own files stay as they are)."""
    got = spawn_step(
        "bare_load",
        {"landing": str(data / "landing"), "db": str(work / "bare_load.duckdb")},
        env,
        log,
    )
    figures = {"bare_load": (got["seconds"], got["peak_mb"])}
    manifest = work / "manifest_full.json"
    shutil.copy(data / "dbt" / "target" / "manifest.json", manifest)
    warehouse = data / "warehouse" / "warehouse.duckdb"
    for key, tests in (("bare_models", False), ("bare_models_tests", True)):
        copy = work / key / "warehouse.duckdb"  # same name: compiled SQL says "warehouse"."…"
        copy.parent.mkdir()
        shutil.copy(warehouse, copy)
        got = spawn_step(
            "bare_sql", {"manifest": str(manifest), "db": str(copy), "tests": tests}, env, log
        )
        figures[key] = (got["seconds"], got["peak_mb"])
        shutil.rmtree(copy.parent)
    return figures


def sweep(scales: list[float], repeat: int, days: int, keep: Path | None) -> dict:
    """{scale: {"events": n, "figures": {key: (median s, median MB)}}}"""
    first = LAST_DAY - timedelta(days=days - 1)
    root = Path(tempfile.mkdtemp(prefix="smarketing-bench-", dir=keep))
    results: dict[float, dict] = {}
    try:
        for scale in scales:
            sdir = root / f"scale-{scale:g}"
            demo_full, demo_next = sdir / "demo_full", sdir / "demo_next"
            t0 = time.perf_counter()
            events = write_demo(scale, first, LAST_DAY, demo_full)
            write_demo(scale, first, LAST_DAY + timedelta(days=1), demo_next)
            share_demo_key(demo_full, demo_next)
            print(
                f"scale {scale:g}: {events:,} GA4 events over {days} days"
                f" (demo company written in {time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
            (sdir / "srv_full").mkdir()
            (sdir / "srv_next").mkdir()
            apis_full = DemoApis(demo_full, sdir / "srv_full")
            try:
                apis_next = DemoApis(demo_next, sdir / "srv_next")
                try:
                    runs = []
                    for i in range(repeat):
                        work = sdir / f"run-{i + 1}"
                        work.mkdir()
                        t0 = time.perf_counter()
                        runs.append(run_once(work, first, apis_full, apis_next))
                        print(
                            f"  run {i + 1}/{repeat}: {time.perf_counter() - t0:.0f} s"
                            f" (dbt full {runs[-1]['dbt_full'][0]:.1f} s,"
                            f" nightly {runs[-1]['dbt_nightly'][0]:.1f} s)",
                            flush=True,
                        )
                        if keep is None:
                            shutil.rmtree(work)
                finally:
                    apis_next.close()
            finally:
                apis_full.close()
            results[scale] = {"events": events, "figures": medians(runs)}
            print(render(results, repeat, with_ratios=False), file=sys.stderr, flush=True)
            if keep is None:
                shutil.rmtree(sdir, ignore_errors=True)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return results


def medians(runs: list[dict[str, tuple]]) -> dict[str, tuple[float, float]]:
    return {
        key: (
            statistics.median(r[key][0] for r in runs),
            statistics.median(r[key][1] for r in runs),
        )
        for key in runs[0]
    }


def ratios(results: dict) -> dict[str, float]:
    largest = results[max(results)]["figures"]
    full = largest["dbt_full"][0]
    s20 = results.get(20.0) or results.get(20)
    return {
        "nightly_vs_full": largest["dbt_nightly"][0] / full,
        "gate_vs_build": largest["gate_full"][0] / full,
        "dbt_vs_bare": full / largest["bare_models"][0],
        "extract_full_s20": s20["figures"]["extract_full_concurrent"][0] if s20 else math.nan,
    }


def render(results: dict, repeat: int, with_ratios: bool = True) -> str:
    scales = sorted(results)
    head = "| step | " + " | ".join(
        f"scale {s:g} ({results[s]['events']:,} events)" for s in scales
    )
    lines = [
        f"Medians of {repeat}; seconds, peak resident memory of the step's process.",
        "",
        head + " |",
        "|---" * (len(scales) + 1) + "|",
    ]
    for key, label in ROWS:
        cells = []
        for s in scales:
            seconds, mb = results[s]["figures"][key]
            cells.append(f"{seconds:.1f} s, {mb:.0f} MB")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if not with_ratios:
        return "\n".join(lines)
    r = ratios(results)
    largest = results[max(results)]["figures"]
    lines += [
        "",
        f"the nightly's fixed cost: dbt with no new data / dbt full ="
        f" {largest['dbt_no_new_data'][0] / largest['dbt_full'][0]:.2f} at scale {max(results):g}",
        f"ratios: nightly_vs_full={r['nightly_vs_full']:.2f}"
        f" gate_vs_build={r['gate_vs_build']:.2f}"
        f" dbt_vs_bare={r['dbt_vs_bare']:.2f}"
        f" extract_full_s20={r['extract_full_s20']:.1f}",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 5.0, 20.0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per scale (median)")
    parser.add_argument("--days", type=int, default=90, help="days of demo history")
    parser.add_argument("--keep", type=Path, help="keep the run folders under this folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--step"]:
        out = run_step(argv[1], json.loads(argv[2]))
        print(RESULT_TAG + json.dumps(out, default=str), flush=True)
        return 0
    args = parse_args(argv)
    results = sweep(sorted(args.scales), args.repeat, args.days, args.keep)
    print()
    print(render(results, args.repeat), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
