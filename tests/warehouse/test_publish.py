"""Publication is atomic, readable by DuckDB 1.x, and never damages what is published."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from smarketing.warehouse.publish import clean_stale_builds, publish, published_tables, staging_path

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
    assert list(pub.parent.iterdir()) == [pub]  # no temp files left


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
