"""The published DuckDB file as a BI source: the oldest client that opens it, the README's
commands with the DuckDB CLI from the project environment, and the pooled-reader caveat.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from smarketing import pipeline
from smarketing.config import Settings
from smarketing.warehouse.publish import publish

MIN_DUCKDB_CLIENT = "1.2.0"  # storage version v1.2.0 (see publish.STORAGE_VERSION, README)
TOO_OLD_CLIENT = "1.1.3"
VENV_BIN = Path(sys.executable).parent


def _warehouse(path: Path, revenue: str) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists audit")
    con.execute(
        "create or replace table audit.mart_channel_daily as select date '2026-01-01' + i::int"
        f" as date_day, 'email' as channel, {revenue}::decimal(18,2) as won_revenue"
        " from range(10) t(i)"
    )
    con.close()


def _client(version: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install one DuckDB release into its own folder (pip, from the package index)."""
    target = tmp_path_factory.mktemp(f"duckdb-{version}")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            f"duckdb=={version}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if run.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"pip could not install duckdb=={version}: {run.stderr[-500:]}")
        pytest.skip(f"duckdb=={version} not installable here: {run.stderr[-200:]}")
    return target


def _open_with(client: Path, db: Path) -> subprocess.CompletedProcess:
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True);"
        " print(duckdb.__version__, con.execute('select count(*), sum(won_revenue)"
        " from mart_channel_daily').fetchone())"
    )
    env = {**os.environ, "PYTHONPATH": str(client), "PYTHONNOUSERSITE": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(client)!r}); {code}",
            str(db),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_oldest_client_reads_the_file_and_an_older_one_cannot(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "pub" / "smarketing.duckdb"
    _warehouse(wh, "12.50")
    publish(wh, pub, "run-1", "2026-01-10")
    ok = _open_with(_client(MIN_DUCKDB_CLIENT, tmp_path_factory), pub)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"{MIN_DUCKDB_CLIENT} (10, Decimal('125.00'))"
    old = _open_with(_client(TOO_OLD_CLIENT, tmp_path_factory), pub)
    assert old.returncode != 0
    assert "serialization" in old.stderr.lower() or "version" in old.stderr.lower(), old.stderr


def test_the_summarys_duckdb_cli_commands_work_as_printed(published_demo: Settings) -> None:
    text = pipeline.summary_text(published_demo)
    commands = re.findall(r"^  (\S*duckdb -readonly .*\\\n    .*)$", text, flags=re.M)
    assert len(commands) == 2
    assert all(c.startswith(f"{VENV_BIN / 'duckdb'} -readonly ") for c in commands)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    outputs = []
    for command in commands:
        run = subprocess.run(
            ["bash", "-c", command.replace("\\\n", " ")],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    assert "paid_search" in outputs[0] and "channel" in outputs[0]
    assert "lead_source" in outputs[1] and "mqls_never_worked" in outputs[1]


def test_a_pooled_reader_keeps_the_old_version_until_it_reconnects(tmp_path: Path) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "pub" / "smarketing.duckdb"
    _warehouse(wh, "1.00")
    publish(wh, pub, "run-1", "2026-01-10")
    pooled = duckdb.connect(str(pub), read_only=True)  # a BI tool's long-lived connection
    revenue = "select sum(won_revenue)::varchar from mart_channel_daily"
    assert pooled.execute(revenue).fetchone() == ("10.00",)
    _warehouse(wh, "2.00")
    publish(wh, pub, "run-2", "2026-01-11")
    # the caveat: the open connection still reads the replaced file (its inode)
    assert pooled.execute(revenue).fetchone() == ("10.00",)
    # the fix: reconnect per query / recycle the pool after each publish
    pooled.close()
    fresh = duckdb.connect(str(pub), read_only=True)
    assert fresh.execute(revenue).fetchone() == ("20.00",)
    fresh.close()
