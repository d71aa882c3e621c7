"""Publication is atomic, readable by DuckDB 1.x, and never damages what is published."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from smarketing.warehouse.publish import (
    RollbackError,
    checksum_status,
    clean_stale_builds,
    current_version,
    kept_versions,
    list_versions,
    live_version,
    publish,
    published_tables,
    rollback,
    staging_path,
)

V1_2_STORAGE_NUMBER = 65  # DuckDB's storage version number written by STORAGE_VERSION 'v1.2.0'


def _warehouse(path: Path, revenue: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists audit")
    con.execute(
        "create or replace table audit.mart_channel_daily as "
        "select date '2026-01-01' + i::int as date_day, 'email' as channel,"
        f" {revenue}::decimal(18,2) as won_revenue from range(10) t(i)"
    )
    con.execute("create or replace table audit.fct_lead_funnel as select 'l1' as lead_id")
    con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_copies_audit_tables_in_v1_2_storage(tmp_path: Path) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "pub" / "marts.duckdb"
    _warehouse(wh, 100)
    result = publish(wh, pub, "run-1", "2026-01-10")
    assert result.tables == {"fct_lead_funnel": 1, "mart_channel_daily": 10}
    header = pub.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    assert int.from_bytes(header[12:20], "little") == V1_2_STORAGE_NUMBER
    assert published_tables(pub) == {
        "_publish_info": 1,
        "fct_lead_funnel": 1,
        "mart_channel_daily": 10,
    }
    con = duckdb.connect(str(pub), read_only=True)
    assert con.execute("select run_id, data_interval from _publish_info").fetchall() == [
        ("run-1", "2026-01-10")
    ]
    assert con.execute("select sum(won_revenue) from mart_channel_daily").fetchone()[0] == 1000
    con.close()
    # no temp files left; the version is kept with its record
    assert sorted(p.name for p in pub.parent.iterdir()) == ["marts.duckdb", "versions"]
    assert result.version is not None and result.version.read_bytes() == pub.read_bytes()
    record = json.loads(result.version.with_suffix(".json").read_text())
    assert (record["run_id"], record["data_interval"]) == ("run-1", "2026-01-10")
    assert record["sha256"] == hashlib.sha256(pub.read_bytes()).hexdigest()


def test_open_reader_keeps_its_snapshot_and_new_readers_see_the_new_version(tmp_path: Path) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "marts.duckdb"
    _warehouse(wh, 100)
    publish(wh, pub, "run-1", "d1")
    reader = duckdb.connect(str(pub), read_only=True)  # a BI tool with the file open
    _warehouse(wh, 200)
    publish(wh, pub, "run-2", "d2")  # does not block on the reader's lock
    assert reader.execute(
        "select sum(won_revenue), max(run_id) from mart_channel_daily, _publish_info"
    ).fetchone() == (1000, "run-1")
    reader.close()
    fresh = duckdb.connect(str(pub), read_only=True)
    assert fresh.execute(
        "select sum(won_revenue), max(run_id) from mart_channel_daily, _publish_info"
    ).fetchone() == (2000, "run-2")
    fresh.close()


def test_failed_publish_leaves_published_bytes_unchanged(tmp_path: Path) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "marts.duckdb"
    _warehouse(wh, 100)
    publish(wh, pub, "run-1", "d1")
    before = _digest(pub)
    with pytest.raises(duckdb.CatalogException):
        publish(wh, pub, "run-2", "d2", tables=["mart_channel_daily", "no_such_table"])
    assert _digest(pub) == before
    assert list(tmp_path.glob(".marts.duckdb.*")) == []


def test_stale_half_built_file_from_a_killed_publish_is_cleaned(tmp_path: Path) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "marts.duckdb"
    _warehouse(wh, 100)
    stale = staging_path(pub, "killed-run")
    stale.write_bytes(b"half a database")
    assert clean_stale_builds(pub) == [stale]
    stale.write_bytes(b"half a database")
    publish(wh, pub, "run-3", "d3")
    assert not stale.exists()
    assert published_tables(pub)["mart_channel_daily"] == 10


def test_keeps_the_last_n_versions_and_rolls_back_to_exact_bytes(tmp_path: Path) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "marts.duckdb"
    digests = []
    for i in range(1, 5):
        _warehouse(wh, 100 * i)
        publish(wh, pub, f"run-{i}", f"d{i}", validation={"success": True}, keep_versions=3)
        digests.append(_digest(pub))
    kept = list_versions(pub)
    assert [json.loads(v.with_suffix(".json").read_text())["run_id"] for v in kept] == [
        "run-2",
        "run-3",
        "run-4",
    ]
    assert current_version(pub) == kept[-1]
    assert rollback(pub) == kept[-2]
    assert _digest(pub) == digests[2]  # run-3's exact bytes
    assert rollback(pub) == kept[0]
    assert _digest(pub) == digests[1]
    with pytest.raises(RollbackError, match="no earlier version"):
        rollback(pub)
    assert _digest(pub) == digests[1]  # a refused rollback changes nothing
    con = duckdb.connect(str(pub), read_only=True)
    assert con.execute("select run_id from _publish_info").fetchone()[0] == "run-2"
    con.close()


READER = """
import json, sys, time, duckdb
path, deadline = sys.argv[1], time.time() + float(sys.argv[2])
seen, errors = set(), 0
while time.time() < deadline:
    try:
        con = duckdb.connect(path, read_only=True)
        seen.add(con.execute(
            "select max(run_id), sum(won_revenue) from _publish_info, mart_channel_daily"
        ).fetchone())
        con.close()
    except Exception as exc:
        errors += 1
        print("ERROR", type(exc).__name__, exc, file=sys.stderr)
print(json.dumps([sorted((r, int(v)) for r, v in seen), errors]))
"""


def test_readers_during_repeated_publishes_see_whole_versions_and_no_error(
    tmp_path: Path,
) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "marts.duckdb"
    _warehouse(wh, 1)
    publish(wh, pub, "run-01", "d")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(pub), "6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    published = {("run-01", 10)}
    for i in range(2, 13):
        _warehouse(wh, i)
        publish(wh, pub, f"run-{i:02d}", "d")
        published.add((f"run-{i:02d}", 10 * i))
    out, err = reader.communicate(timeout=60)
    seen, errors = eval(out.strip().splitlines()[-1])
    assert errors == 0, err
    assert len(seen) >= 2
    # every observation is one whole version: run id and revenue always belong together
    assert {(run, rev) for run, rev in seen} <= published


BIG_PUBLISH = """
import sys
from pathlib import Path
from smarketing.warehouse.publish import publish
publish(Path(sys.argv[1]), Path(sys.argv[2]), "killed-run", "d")
"""


def test_a_publish_killed_at_any_moment_leaves_the_published_file_valid(tmp_path: Path) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "marts.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema audit")
    con.execute(
        "create table audit.mart_channel_daily as select date '2026-01-01' + (i % 365)::int"
        " as date_day, 'email' as channel, (i % 1000)::decimal(18,2) as won_revenue,"
        " md5(i::varchar) as filler from range(3000000) t(i)"
    )
    con.close()
    publish(wh, pub, "good-run", "d")
    before = _digest(pub)
    for delay in (0.05, 0.2, 0.5, 0.9, 1.4):
        proc = subprocess.Popen([sys.executable, "-c", BIG_PUBLISH, str(wh), str(pub)])
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if _digest(pub) != before:  # the killed run finished its swap first: a whole version
            before = _digest(pub)
        reader = duckdb.connect(str(pub), read_only=True)
        assert reader.execute("select count(*) from mart_channel_daily").fetchone()[0] == 3000000
        reader.close()
    # the next run recovers by itself: stale half-built files are removed, publish succeeds
    result = publish(wh, pub, "next-run", "d")
    assert result.tables["mart_channel_daily"] == 3000000
    assert list(tmp_path.glob(".marts.duckdb.*")) == []
    con = duckdb.connect(str(pub), read_only=True)
    assert con.execute("select run_id from _publish_info").fetchone()[0] == "next-run"
    con.close()


def _run_id(pub: Path) -> str:
    con = duckdb.connect(str(pub), read_only=True)
    try:
        return con.execute("select run_id from _publish_info").fetchone()[0]
    finally:
        con.close()


def test_a_client_writing_to_the_published_file_never_changes_a_kept_version(
    tmp_path: Path,
) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "marts.duckdb"
    for i in (1, 2):
        _warehouse(wh, 100 * i)
        publish(wh, pub, f"run-{i}", f"d{i}")
    kept = kept_versions(pub)
    assert [checksum_status(v) for v in kept] == ["ok", "ok"]
    assert os.stat(kept[1].path).st_ino != os.stat(pub).st_ino  # a copy, not a hard link
    # a BI client with a read-write connection changes the published file
    client = duckdb.connect(str(pub))
    client.execute("update mart_channel_daily set won_revenue = 0")
    client.execute("checkpoint")
    assert _digest(pub) != kept[1].record["sha256"]
    assert [checksum_status(v) for v in kept_versions(pub)] == ["ok", "ok"]
    assert live_version(pub) == kept[1].path
    # ... and the next publish and a rollback still work while it holds the file
    _warehouse(wh, 300)
    publish(wh, pub, "run-3", "d3")
    assert rollback(pub) == kept[1].path
    assert _digest(pub) == kept[1].record["sha256"]
    client.close()  # (one process cannot open the same path twice with other options)
    assert _run_id(pub) == "run-2"


def test_rollback_refuses_a_kept_version_whose_checksum_changed(tmp_path: Path) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "marts.duckdb"
    for i in (1, 2):
        _warehouse(wh, 100 * i)
        publish(wh, pub, f"run-{i}", f"d{i}")
    first = kept_versions(pub)[0]
    tamper = duckdb.connect(str(first.path))
    tamper.execute("update mart_channel_daily set won_revenue = 1")
    tamper.close()
    before = _digest(pub)
    with pytest.raises(RollbackError, match=r"refusing to restore v000001__run-1.*MODIFIED"):
        rollback(pub)
    assert _digest(pub) == before  # nothing changed
    assert [checksum_status(v) for v in kept_versions(pub)] == ["MODIFIED", "ok"]
    assert _run_id(pub) == "run-2"


def test_versions_are_ordered_by_sequence_not_by_the_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itertools
    from datetime import UTC, datetime, timedelta

    import smarketing.warehouse.publish as module

    start = datetime(2026, 3, 20, tzinfo=UTC)
    clock = (start - timedelta(hours=h) for h in itertools.count())

    class SteppingBack(datetime):
        @classmethod
        def now(cls, tz=None):  # every call is earlier than the last: a clock stepping back
            return next(clock)

    monkeypatch.setattr(module, "datetime", SteppingBack)
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "marts.duckdb"
    for i in (1, 2, 3):
        _warehouse(wh, 100 * i)
        publish(wh, pub, f"run-{i}", f"d{i}", keep_versions=2)
    kept = kept_versions(pub)
    assert [(v.sequence, v.record["run_id"]) for v in kept] == [(2, "run-2"), (3, "run-3")]
    assert current_version(pub) == kept[-1].path and _run_id(pub) == "run-3"
    # the counter survives pruning: numbers are never reused
    assert not (tmp_path / "versions" / "v000001__run-1.duckdb").exists()
    _warehouse(wh, 400)
    assert publish(wh, pub, "run-4", "d4", keep_versions=2).version.name == "v000004__run-4.duckdb"


def test_rollback_run_rollback_returns_to_the_version_the_first_rollback_restored(
    tmp_path: Path,
) -> None:
    wh, pub = tmp_path / "wh.duckdb", tmp_path / "marts.duckdb"
    for i in (1, 2, 3):  # run-3 turns out to be wrong
        _warehouse(wh, 100 * i)
        publish(wh, pub, f"run-{i}", f"d{i}")
    rollback(pub)
    assert _run_id(pub) == "run-2"
    _warehouse(wh, 400)
    publish(wh, pub, "run-4", "d4")  # the next night publishes as usual
    assert _run_id(pub) == "run-4"
    rollback(pub)  # run-4 is also wrong: back to run-2, not to the withdrawn run-3
    assert _run_id(pub) == "run-2"
    withdrawn = {v.record["run_id"]: v.withdrawn for v in kept_versions(pub)}
    assert withdrawn == {"run-1": False, "run-2": False, "run-3": True, "run-4": True}
    # an explicit --to may still restore a withdrawn version, which is then live again
    run3 = next(v.path for v in kept_versions(pub) if v.record["run_id"] == "run-3")
    assert rollback(pub, run3) == run3 and _run_id(pub) == "run-3"
    assert live_version(pub) == run3
    assert not next(v for v in kept_versions(pub) if v.path == run3).withdrawn


def test_publish_and_rollback_work_in_a_folder_with_quotes_in_its_path(tmp_path: Path) -> None:
    """ATTACH takes no bound parameters: a quote in a path must not break (or inject) SQL."""
    home = tmp_path / "Q3 'final' \"data\""
    home.mkdir()
    wh, pub = home / "wh'.duckdb", home / "pub'" / "marts.duckdb"
    _warehouse(wh, 100)
    publish(wh, pub, "run-1", "2026-01-10")
    _warehouse(wh, 200)
    publish(wh, pub, "run-2", "2026-01-11")
    con = duckdb.connect(str(pub), read_only=True)
    assert con.execute("select sum(won_revenue) from mart_channel_daily").fetchone()[0] == 2000
    con.close()
    rollback(pub)
    con = duckdb.connect(str(pub), read_only=True)
    assert con.execute("select sum(won_revenue) from mart_channel_daily").fetchone()[0] == 1000
    con.close()
