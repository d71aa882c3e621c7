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

    share_published_file(building)  # kept versions get the same mode in _copy_file
    versions_dir(published_path).mkdir(parents=True, exist_ok=True)
    share_published_dir(published_path)


def _sql_literal(path: Path) -> str:
    """A path as a SQL string literal (ATTACH takes no bound parameters): quotes doubled."""
    return "'" + path.as_posix().replace("'", "''") + "'"


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
    settings: dict | None = None,
) -> PublishResult:
    """Copy the audit tables into a fresh v1.2.0 database and swap it in atomically.

    The new file is also kept (an independent copy, see "Kept versions" below) under
    ``versions/`` with a JSON record of its run id, interval, SHA-256, validation result and
    the settings the run used; the oldest versions beyond ``keep_versions`` are removed.
    """
    published_path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_builds(published_path)
    building = staging_path(published_path, run_id)
    # An in-memory session reads the warehouse read-only and writes only the new file.
    con = duckdb.connect()
    try:
        con.execute(f"attach {_sql_literal(warehouse_path)} as wh (read_only)")
        con.execute("use wh")
        names = tables if tables is not None else audit_tables(con)
        if not names:
            raise RuntimeError(f"nothing to publish: schema {AUDIT_SCHEMA!r} has no tables")
        con.execute(f"attach {_sql_literal(building)} as pub (storage_version '{STORAGE_VERSION}')")
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
    version = _keep_version(
        building, published_path, run_id, data_interval, counts, validation, settings
    )
    os.replace(building, published_path)
    _fsync_dir(published_path.parent)
    _set_live(published_path, version, "publish")
    prune_versions(published_path, keep_versions)
    return PublishResult(published_path, run_id, counts, version)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Kept versions -----------------------------------------------------------------------------
# Each publish keeps an independent copy (never a hard link: a BI client writing to the
# published file must not change what a rollback restores) as ``v<sequence>__<run>.duckdb``
# with a JSON record (run, interval, SHA-256, validation, settings). The sequence comes from a
# counter file, never from the clock, so a clock step back cannot reorder or prune versions.
# ``LIVE.json`` names the version the published file was made from.
SEQUENCE_FILE = "SEQUENCE"
LIVE_FILE = "LIVE.json"


@dataclass(frozen=True)
class KeptVersion:
    path: Path
    record: dict

    @property
    def sequence(self) -> int:
        """Publish order; versions kept before sequences existed sort first (0)."""
        return int(self.record.get("sequence") or 0)

    @property
    def withdrawn(self) -> bool:
        """A rollback replaced it: the default rollback target skips it."""
        return bool(self.record.get("withdrawn_at"))

    @property
    def name(self) -> str:
        return self.path.name


def _write_json(path: Path, value: dict) -> None:
    """Write a small JSON file atomically (a crash leaves the old one or the new one)."""
    from smarketing.filemodes import share_published_file

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=1, sort_keys=True, default=str))
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    share_published_file(tmp)  # version records are readable like the versions (0640)
    os.replace(tmp, path)


def _next_sequence(folder: Path) -> int:
    counter = folder / SEQUENCE_FILE
    last = int(counter.read_text().strip() or 0) if counter.exists() else 0
    last = max([last, *(v.sequence for v in kept_versions_in(folder))])
    tmp = counter.with_name(f".{SEQUENCE_FILE}.tmp")
    tmp.write_text(f"{last + 1}\n")
    os.replace(tmp, counter)
    return last + 1


def _copy_file(source: Path, target: Path) -> None:
    """An independent byte copy, fsynced, readable by the BI group like the published file."""
    from smarketing.filemodes import share_published_file

    shutil.copyfile(source, target)
    share_published_file(target)
    with target.open("rb+") as fh:
        os.fsync(fh.fileno())


def _keep_version(
    building: Path,
    published_path: Path,
    run_id: str,
    interval: str,
    counts: dict,
    validation: dict | None,
    settings: dict | None = None,
) -> Path:
    folder = versions_dir(published_path)
    folder.mkdir(parents=True, exist_ok=True)
    sequence = _next_sequence(folder)
    target = folder / f"v{sequence:06d}__{_safe(run_id)}.duckdb"
    digest = _sha256(building)
    _copy_file(building, target)
    if _sha256(target) != digest:
        target.unlink(missing_ok=True)
        raise OSError(f"kept copy {target} does not match the file it was copied from")
    record = {
        "sequence": sequence,
        "run_id": run_id,
        "data_interval": interval,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": counts,
        "sha256": digest,
        "validation": validation or {},
        "settings": settings or {},
    }
    _write_json(target.with_suffix(".json"), record)
    return target


def kept_versions_in(folder: Path) -> list[KeptVersion]:
    if not folder.exists():
        return []
    found = []
    for path in folder.glob("*.duckdb"):
        meta = path.with_suffix(".json")
        record = json.loads(meta.read_text()) if meta.exists() else {}
        found.append(KeptVersion(path, record))
    return sorted(found, key=lambda v: (v.sequence, v.name))


def kept_versions(published_path: Path) -> list[KeptVersion]:
    """Kept versions with their records, oldest first (by publish sequence)."""
    return kept_versions_in(versions_dir(published_path))


def list_versions(published_path: Path) -> list[Path]:
    """Kept version files, oldest first (by publish sequence, not by clock)."""
    return [v.path for v in kept_versions(published_path)]


def checksum_status(version: KeptVersion) -> str:
    """``ok`` if the kept file still has its recorded SHA-256, else why not."""
    recorded = version.record.get("sha256")
    if not recorded:
        return "no checksum recorded"
    return "ok" if _sha256(version.path) == recorded else "MODIFIED"


def _live_record(published_path: Path) -> dict:
    live = versions_dir(published_path) / LIVE_FILE
    return json.loads(live.read_text()) if live.exists() else {}


def _set_live(published_path: Path, version: Path, action: str) -> None:
    _write_json(
        versions_dir(published_path) / LIVE_FILE,
        {"version": version.name, "action": action, "since": datetime.now(UTC).isoformat()},
    )


def live_version(published_path: Path) -> Path | None:
    """The kept copy of what is published, from LIVE.json (never opens the published file)."""
    name = _live_record(published_path).get("version")
    path = versions_dir(published_path) / name if name else None
    return path if path is not None and path.exists() else None


def current_version(published_path: Path) -> Path | None:
    """The kept version the published file was made from.

    The published file's checksum decides when it matches a kept version (this also repairs a
    LIVE.json a crash left one step behind); a published file that a client has written to
    matches none, and LIVE.json says which version it was.
    """
    if not published_path.exists():
        return None
    digest = _sha256(published_path)
    for version in reversed(kept_versions(published_path)):
        if version.record.get("sha256") == digest:
            return version.path
    return live_version(published_path)


def prune_versions(published_path: Path, keep: int) -> list[Path]:
    """Remove the oldest versions beyond ``keep`` (by sequence); never the live one."""
    versions = kept_versions(published_path)
    live = live_version(published_path)
    removed = []
    for old in versions[: max(0, len(versions) - keep)]:
        if old.path == live:
            continue
        old.path.unlink(missing_ok=True)
        old.path.with_suffix(".json").unlink(missing_ok=True)
        removed.append(old.path)
    return removed


def version_rows(published_path: Path) -> list[dict]:
    """One row per kept version, oldest first, for ``smarketing rollback --list``."""
    live = current_version(published_path)
    modified_live = (
        live is not None
        and published_path.exists()
        and _sha256(published_path) != kept_record(live).get("sha256")
    )
    rows = []
    for v in kept_versions(published_path):
        rows.append(
            {
                "version": v.name,
                "sequence": v.sequence,
                "run_id": v.record.get("run_id"),
                "data_interval": v.record.get("data_interval"),
                "published_at": v.record.get("published_at"),
                "checksum": checksum_status(v),
                "live": v.path == live,
                "published_file_modified": v.path == live and modified_live,
                "withdrawn_at": v.record.get("withdrawn_at"),
            }
        )
    return rows


def kept_record(version: Path) -> dict:
    meta = version.with_suffix(".json")
    return json.loads(meta.read_text()) if meta.exists() else {}


def rollback(published_path: Path, to: Path | None = None) -> Path:
    """Atomically restore the version before the current one (or ``to``); return it.

    "Before" means the newest kept version older in publish sequence than the live one that
    no earlier rollback withdrew, so rollback -> run -> rollback returns to the version the
    first rollback restored, not to the one it removed. The live version is marked withdrawn.
    The target must still have its recorded SHA-256; a modified copy is refused. The restored
    file is a copy of those exact bytes, swapped in with ``os.replace()`` like a publish.
    """
    versions = kept_versions(published_path)
    current = current_version(published_path)
    by_path = {v.path: v for v in versions}
    if to is None:
        if current is None or current not in by_path:
            raise RollbackError(
                f"no earlier version to roll back to in {versions_dir(published_path)}: the "
                f"published file matches no kept version ({len(versions)} kept); "
                "choose one with --to (see --list)"
            )
        live = by_path[current]
        earlier = [v for v in versions if v.sequence < live.sequence and not v.withdrawn]
        if not earlier:
            raise RollbackError(
                f"no earlier version to roll back to in {versions_dir(published_path)} "
                f"({len(versions)} kept; current: {live.name})"
            )
        target = earlier[-1]
    elif to in by_path:
        target = by_path[to]
    else:
        raise RollbackError(f"{to} is not a kept version of {published_path}")
    status = checksum_status(target)
    if status != "ok":
        raise RollbackError(
            f"refusing to restore {target.name}: its checksum is {status} (recorded "
            f"{target.record.get('sha256')}); the kept file was changed after it was published. "
            "Nothing was changed; choose another version with --to (see --list)."
        )
    building = staging_path(published_path, "rollback")
    _copy_file(target.path, building)
    if _sha256(building) != target.record["sha256"]:
        building.unlink(missing_ok=True)
        raise RollbackError(f"copy of {target.name} does not match its checksum; nothing changed")
    _share_with_readers(building, published_path)
    os.replace(building, published_path)
    _fsync_dir(published_path.parent)
    now = datetime.now(UTC).isoformat()
    if current is not None and current in by_path and current != target.path:
        _write_json(current.with_suffix(".json"), by_path[current].record | {"withdrawn_at": now})
    if target.withdrawn:
        record = {k: v for k, v in target.record.items() if k != "withdrawn_at"}
        _write_json(target.path.with_suffix(".json"), record)
    _set_live(published_path, target.path, "rollback")
    return target.path


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
