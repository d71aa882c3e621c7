"""Atomic publication of the audited marts to the database BI tools read.

DuckDB locks its file: a BI reader holding the published file open would block any writer of
that file. So a publish never writes the published file. It builds a complete new database
next to it and ``os.replace()``s it over the published path (atomic on POSIX): a reader that
already opened the old file keeps its snapshot, a new reader sees the new file, nobody sees a
mix. The new file is written in DuckDB storage version v1.2.0 so DuckDB 1.x clients (many BI
drivers bundle one) can read it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

AUDIT_SCHEMA = "audit"
STORAGE_VERSION = "v1.2.0"
PUBLISH_INFO_TABLE = "_publish_info"


@dataclass(frozen=True)
class PublishResult:
    path: Path
    run_id: str
    tables: dict[str, int]  # table -> rows


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def audit_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog = current_database()"
        " and table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [AUDIT_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def staging_path(published_path: Path, run_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    return published_path.with_name(f".{published_path.name}.{safe}.building")


def clean_stale_builds(published_path: Path) -> list[Path]:
    """Remove half-built files a killed publish left behind (they were never published)."""
    removed = []
    for stale in published_path.parent.glob(f".{published_path.name}.*.building*"):
        stale.unlink(missing_ok=True)
        removed.append(stale)
    return removed


def publish(
    warehouse_path: Path,
    published_path: Path,
    run_id: str,
    data_interval: str,
    tables: list[str] | None = None,
) -> PublishResult:
    """Copy the audit tables into a fresh v1.2.0 database and swap it in atomically."""
    published_path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_builds(published_path)
    building = staging_path(published_path, run_id)
    # An in-memory session reads the warehouse read-only and writes only the new file.
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse_path.as_posix()}' as wh (read_only)")
        con.execute("use wh")
        names = tables if tables is not None else audit_tables(con)
        if not names:
            raise RuntimeError(f"nothing to publish: schema {AUDIT_SCHEMA!r} has no tables")
        con.execute(f"attach '{building.as_posix()}' as pub (storage_version '{STORAGE_VERSION}')")
        counts: dict[str, int] = {}
        for name in names:
            con.execute(
                f"create table pub.main.{_quote(name)} as "
                f"select * from wh.{AUDIT_SCHEMA}.{_quote(name)}"
            )
            counts[name] = con.execute(f"select count(*) from pub.main.{_quote(name)}").fetchone()[
                0
            ]
        con.execute(
            f"create table pub.main.{PUBLISH_INFO_TABLE} as select "
            "? as run_id, ? as data_interval, ?::timestamp as published_at, ? as tables",
            [
                run_id,
                data_interval,
                datetime.now(UTC).replace(tzinfo=None),
                json.dumps(counts, sort_keys=True),
            ],
        )
        con.execute("checkpoint pub")
        con.execute("detach pub")
    except BaseException:
        con.close()
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)
        raise
    con.close()
    with building.open("rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(building, published_path)
    _fsync_dir(published_path.parent)
    return PublishResult(published_path, run_id, counts)


def published_tables(published_path: Path) -> dict[str, int]:
    """Row count of every table in the published database (read-only)."""
    con = duckdb.connect(str(published_path), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' order by table_name"
            ).fetchall()
        ]
        return {n: con.execute(f"select count(*) from {_quote(n)}").fetchone()[0] for n in names}
    finally:
        con.close()
