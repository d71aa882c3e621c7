"""Atomic publication of the audited marts to the database BI tools read.

DuckDB locks its file: a BI reader holding the published file open would block any writer of
that file. So a publish never writes the published file. It builds a complete new database
next to it and ``os.replace()``s it over the published path (atomic on POSIX): a reader that
already opened the old file keeps its snapshot, a new reader sees the new file, nobody sees a
mix. The new file is written in DuckDB storage version v1.2.0 so DuckDB 1.x clients (many BI
drivers bundle one) can read it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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
    version: Path | None = None


class RollbackError(RuntimeError):
    """There is no earlier published version to go back to."""


def versions_dir(published_path: Path) -> Path:
    return published_path.parent / "versions"


def _share_with_readers(building: Path, published_path: Path) -> None:
    """BI readers' modes before the swap (smarketing.filemodes): file 0640, folders 0750."""
    from smarketing.filemodes import share_published_dir, share_published_file

    share_published_file(building)  # versions are hard links: the same mode
    versions_dir(published_path).mkdir(parents=True, exist_ok=True)
    share_published_dir(published_path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def audit_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The marts to publish: every audit table except run bookkeeping (names starting "_")."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog = current_database()"
        " and table_schema = ? and table_type = 'BASE TABLE'"
        " and not starts_with(table_name, '_') order by table_name",
        [AUDIT_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def _safe(run_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in run_id)


def staging_path(published_path: Path, run_id: str) -> Path:
    return published_path.with_name(f".{published_path.name}.{_safe(run_id)}.building")


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
    validation: dict | None = None,
    keep_versions: int = 7,
) -> PublishResult:
    """Copy the audit tables into a fresh v1.2.0 database and swap it in atomically.

    The new file is also kept (hard link: published files are never modified) under
    ``versions/`` with a JSON record of its run id, interval and validation result; the
    oldest versions beyond ``keep_versions`` are removed.
    """
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
    _share_with_readers(building, published_path)
    version = _keep_version(building, published_path, run_id, data_interval, counts, validation)
    os.replace(building, published_path)
    _fsync_dir(published_path.parent)
    prune_versions(published_path, keep_versions)
    return PublishResult(published_path, run_id, counts, version)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _keep_version(
    building: Path,
    published_path: Path,
    run_id: str,
    interval: str,
    counts: dict,
    validation: dict | None,
) -> Path:
    folder = versions_dir(published_path)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{stamp}__{_safe(run_id)}.duckdb"
    record = {
        "run_id": run_id,
        "data_interval": interval,
        "published_at": stamp,
        "tables": counts,
        "sha256": _sha256(building),
        "validation": validation or {},
    }
    target.with_suffix(".json").write_text(json.dumps(record, indent=1, sort_keys=True))
    os.link(building, target)
    return target


def list_versions(published_path: Path) -> list[Path]:
    """Kept versions, oldest first (names start with their publish time)."""
    folder = versions_dir(published_path)
    return sorted(folder.glob("*.duckdb")) if folder.exists() else []


def prune_versions(published_path: Path, keep: int) -> list[Path]:
    removed = []
    for old in list_versions(published_path)[: max(0, len(list_versions(published_path)) - keep)]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
        removed.append(old)
    return removed


def current_version(published_path: Path) -> Path | None:
    """The kept version whose bytes are the published file's, if any."""
    if not published_path.exists():
        return None
    digest = _sha256(published_path)
    for version in reversed(list_versions(published_path)):
        meta = version.with_suffix(".json")
        if meta.exists() and json.loads(meta.read_text()).get("sha256") == digest:
            return version
    return None


def rollback(published_path: Path, to: Path | None = None) -> Path:
    """Atomically restore the version before the current one (or ``to``); return it.

    The restored file is a copy of the kept version's exact bytes, swapped in with
    ``os.replace()`` like a publish, so open readers are never disturbed.
    """
    versions = list_versions(published_path)
    if to is None:
        current = current_version(published_path)
        if current is None or current not in versions or versions.index(current) == 0:
            raise RollbackError(
                f"no earlier version to roll back to in {versions_dir(published_path)} "
                f"({len(versions)} kept; current: {current.name if current else 'unknown'})"
            )
        to = versions[versions.index(current) - 1]
    building = staging_path(published_path, "rollback")
    shutil.copyfile(to, building)
    with building.open("rb+") as fh:
        os.fsync(fh.fileno())
    _share_with_readers(building, published_path)
    os.replace(building, published_path)
    _fsync_dir(published_path.parent)
    return to


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
