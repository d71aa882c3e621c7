"""Command line: ``smarketing demo generate`` and ``smarketing summary``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from smarketing.config import load_settings


def _demo_generate(args: argparse.Namespace) -> int:
    from smarketing.demo.company import generate, write_world

    settings = load_settings()
    out = args.out or settings.demo_dir
    start = args.start or settings.demo_start
    end = args.end or settings.demo_end
    seed = settings.demo_seed if args.seed is None else args.seed
    scale = settings.demo_scale if args.scale is None else args.scale
    # the truth's money is in the reporting currency the pipeline will publish
    truth = write_world(generate(seed, scale, start, end), out, settings.reporting_currency)
    print(f"demo company written to {out} (seed={seed}, scale={scale}, {start}..{end})")
    print(json.dumps(truth["totals"], indent=1))
    return 0


def _demo_serve(args: argparse.Namespace) -> int:
    """Serve the demo company's vendor APIs until killed; write the connections as env."""
    import shlex
    import signal

    from smarketing.demo.server import DemoServer, demo_connections

    settings = load_settings()
    server = DemoServer(
        settings.demo_dir, port=args.port, hubspot_requests_per_10s=args.hubspot_requests_per_10s
    )
    env = demo_connections(server.url, settings.demo_dir)
    lines = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    if args.env_file:
        tmp = args.env_file.with_suffix(".tmp")
        tmp.write_text(lines)
        tmp.replace(args.env_file)
    print(f"demo vendor APIs on {server.url}", flush=True)
    print(
        f"demo: person keys use a pseudonym key generated for the demo ({settings.demo_dir}"
        "/.pseudonym_key, mode 0600); real data needs Airflow Connection smarketing_pseudonym",
        flush=True,
    )

    def stop(*_: object) -> None:
        raise SystemExit(0)  # leaves serve_forever; shutdown() here would deadlock

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


def _topology(args: argparse.Namespace) -> int:
    """Start the local deployment topology, print the UI's URL and login, run until stopped."""
    import signal
    import time

    from smarketing.topology import ADMIN_USER, DAG_ID, Topology, nightly_history

    settings = load_settings()
    dates = nightly_history(args.nights, settings.lookback_days)
    if args.state.exists():
        import shutil

        shutil.rmtree(args.state)  # a fresh topology each start (its history is the demo's)
    topo = Topology(
        root=args.state,
        schedule=settings.schedule,
        catchup=True,
        lookback_days=settings.lookback_days,
        demo_scale=args.scale,
        **dates,
    )
    print(
        f"starting PostgreSQL, Redis, the API server, scheduler, DAG processor, triggerer and"
        f" a Celery worker under {topo.root} (process logs: {topo.logs}) ...",
        flush=True,
    )

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        topo.start()
        topo.wait_for_dag()
        if args.unpause:
            topo.airflow("dags", "unpause", DAG_ID)
        state = "unpaused: the scheduler is running" if args.unpause else "paused: unpause it"
        print(
            f"""
Airflow UI:  {topo.api_url}/dags/{DAG_ID}
Login:       {ADMIN_USER} / {topo.admin_password}
Demo data:   {dates["demo_start"]} .. {dates["demo_end"]} (ends yesterday), served on 127.0.0.1
DAG:         {DAG_ID} is {state} in the UI to run the {args.nights} nights
             from {dates["start_date"]} (catch-up), or trigger a run.
Published:   {topo.published_path}
Ctrl-C stops every process.""",
            flush=True,
        )
        while all(p.poll() is None for p in topo.processes.values()):
            time.sleep(1)
        dead = [n for n, p in topo.processes.items() if p.poll() is not None]
        print(f"stopped: {', '.join(dead)} exited; logs in {topo.logs}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # a second Ctrl-C or SIGTERM must not cut the cleanup short and leave processes behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        topo.stop()
        print("all processes stopped", flush=True)


def _quality_init(_: argparse.Namespace) -> int:
    """Rewrite expectations/ from smarketing.quality.suites."""
    from smarketing.quality.gate import init_context

    settings = load_settings()
    files = init_context(settings.expectations_dir)
    print(f"wrote the GX context in {settings.expectations_dir} ({len(files)} files)")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    """Put the previous published version (or --to VERSION) back, atomically."""
    from smarketing.warehouse.publish import RollbackError, list_versions, rollback, version_rows

    settings = load_settings()
    if args.list:
        rows = version_rows(settings.published_path)
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            print(versions_table(rows, settings.published_path))
        return 0
    target = None
    if args.to:
        versions = list_versions(settings.published_path)
        if args.to.isdigit():  # a sequence number, as --list shows it
            args.to = f"v{int(args.to):06d}__"
        matches = [v for v in versions if args.to == v.name] or [
            v for v in versions if args.to in v.name
        ]
        if len(matches) != 1:
            print(f"--to {args.to!r} matches {len(matches)} versions; see --list", file=sys.stderr)
            return 2
        target = matches[0]
    from smarketing.pipeline import step_lock
    from smarketing.runlock import RunLockBusy

    try:
        with step_lock("rollback", "smarketing rollback", settings):  # never during a publish
            restored = rollback(settings.published_path, target)
    except RunLockBusy as exc:
        print(f"rollback not started: {exc}", file=sys.stderr)
        return 75
    except RollbackError as exc:
        print(f"rollback refused: {exc}", file=sys.stderr)
        return 1
    print(f"restored {restored.name} to {settings.published_path}")
    from smarketing.pipeline import serve_version_to_postgres
    from smarketing.warehouse.serve_postgres import PostgresServingError

    try:
        served = serve_version_to_postgres(restored, settings)
    except PostgresServingError as exc:
        print(
            f"the DuckDB file is rolled back, but PostgreSQL still serves the withdrawn version:"
            f" {exc}; run `smarketing rollback --to {restored.name}` again once it is reachable",
            file=sys.stderr,
        )
        return 1
    if served:
        print(f"PostgreSQL {served} serves {restored.name} too")
    return 0


def _note(row: dict) -> str:
    if row["published_file_modified"]:
        return "live, published file modified since"
    if row["live"]:
        return "live"
    return "withdrawn by a rollback" if row["withdrawn_at"] else ""


def versions_table(rows: list[dict], published_path: Path) -> str:
    """Kept versions as a table a person reads; ``*`` marks the live one."""
    if not rows:
        return f"no kept versions of {published_path}"
    header = ("", "version", "run", "interval", "published at", "checksum", "note")
    lines = [
        (
            "*" if r["live"] else "",
            str(r["sequence"]),
            r["run_id"] or "?",
            r["data_interval"] or "?",
            (r["published_at"] or "?")[:19],
            r["checksum"],
            _note(r),
        )
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(len(header))]
    text = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [header, *lines]
    ]
    text.insert(1, "  ".join("-" * w for w in widths))
    return f"Kept versions of {published_path} (* = live):\n" + "\n".join(text)


def _run_locked(args: argparse.Namespace) -> int:
    """Run a command while holding the data folder's run lock (refuse if another run has it)."""
    import os
    import subprocess

    from smarketing.runlock import RunLockBusy, lock_path, run_lock

    command = [c for c in args.cmd if c != "--"]
    if not command:
        print("run-locked: no command given", file=sys.stderr)
        return 2
    settings = load_settings()
    try:
        with run_lock(lock_path(settings.data_dir), args.what or " ".join(command)):
            env = {**os.environ, "SMARKETING_RUN_LOCK_HELD": "1"}
            return subprocess.call(command, env=env)
    except RunLockBusy as exc:
        print(f"smarketing: {exc}", file=sys.stderr)
        return 75  # EX_TEMPFAIL


def _summary(_: argparse.Namespace) -> int:
    from smarketing.pipeline import summary_text

    print(summary_text())
    return 0


def _vendors(args: argparse.Namespace) -> int:
    """The vendor registry: what is extracted, from which connection, into which tables."""
    import json

    from smarketing.vendors import VENDORS, dbt_vars, enabled_vendors

    settings = load_settings()
    if args.dbt_vars:  # for plain dbt: dbt build --vars "$(smarketing vendors --dbt-vars)"
        print(json.dumps(dbt_vars(settings)))
        return 0
    on = {v.name for v in enabled_vendors(settings)}
    for v in VENDORS:
        state = "enabled" if v.name in on else "disabled (SMARKETING_DISABLED_VENDORS)"
        print(f"{v.name} ({v.category}) {state}: connection {v.conn_id}; raw tables", end=" ")
        print(", ".join(f"raw.{t}" for t in v.raw_tables()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from smarketing.demo.server import DEMO_HUBSPOT_BURST

    parser = argparse.ArgumentParser(prog="smarketing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="the demo company").add_subparsers(
        dest="demo_command", required=True
    )
    gen = demo.add_parser("generate", help="write the demo company's source files + truth")
    gen.add_argument("--seed", type=int, help="RNG seed (default SMARKETING_DEMO_SEED)")
    gen.add_argument("--scale", type=float, help="size knob; 1.0 ≈ 200 visitors/day")
    gen.add_argument("--start", type=date.fromisoformat, help="first day (YYYY-MM-DD)")
    gen.add_argument("--end", type=date.fromisoformat, help="last day, inclusive")
    gen.add_argument("--out", type=Path, help="output folder")
    gen.set_defaults(func=_demo_generate)
    serve = demo.add_parser("serve", help="serve the demo company's vendor APIs on 127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--env-file", type=Path, help="write AIRFLOW_CONN_* exports here")
    serve.add_argument(
        "--hubspot-requests-per-10s",
        type=int,
        default=DEMO_HUBSPOT_BURST,
        help="the demo HubSpot account's burst limit, as its X-HubSpot-RateLimit-Max headers"
        f" say and its 429s enforce (default {DEMO_HUBSPOT_BURST}: a Professional account;"
        " 100: Free or Starter; 0: none)",
    )
    serve.set_defaults(func=_demo_serve)
    quality = commands.add_parser("quality", help="the quality gate").add_subparsers(
        dest="quality_command", required=True
    )
    qinit = quality.add_parser("init", help="write expectations/ from quality/suites.py")
    qinit.set_defaults(func=_quality_init)
    back = commands.add_parser("rollback", help="restore the previous published version")
    back.add_argument("--to", help="a version number, name or unique part of a name instead")
    back.add_argument("--list", action="store_true", help="list kept versions and exit")
    back.add_argument("--json", action="store_true", help="with --list: JSON for scripts")
    back.set_defaults(func=_rollback)
    topo = commands.add_parser(
        "topology",
        help="PostgreSQL, Redis and Airflow (API server, scheduler, DAG processor, triggerer,"
        " Celery worker) as local processes, with the demo company served",
    )
    topo.add_argument("--state", type=Path, default=Path("topology"), help="state folder")
    topo.add_argument("--nights", type=int, default=7, help="nightly runs to catch up")
    topo.add_argument("--scale", type=float, default=0.5, help="demo size (1.0: 200 visits/day)")
    topo.add_argument("--unpause", action="store_true", help="unpause the DAG at start")
    topo.set_defaults(func=_topology)
    locked = commands.add_parser(
        "run-locked", help="run a command holding the data folder's run lock (one run at a time)"
    )
    locked.add_argument("--what", help="how to describe this run to a second one")
    locked.add_argument("cmd", nargs=argparse.REMAINDER, help="-- command [args...]")
    locked.set_defaults(func=_run_locked)
    summ = commands.add_parser("summary", help="where the published marts are, what they hold")
    summ.set_defaults(func=_summary)
    vend = commands.add_parser("vendors", help="the vendor registry: enabled, connection, tables")
    vend.add_argument(
        "--dbt-vars",
        action="store_true",
        help="print the dbt vars of the enabled vendors (JSON) for plain `dbt --vars`",
    )
    vend.set_defaults(func=_vendors)
    return parser


def main(argv: list[str] | None = None) -> int:
    from smarketing.filemodes import private_umask

    private_umask()  # demo data, keys and reports are the owner's only (see filemodes)
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
