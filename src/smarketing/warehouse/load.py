"""Load one landed data interval into the raw schema of the working warehouse.

Raw tables keep the whole payload as JSON (new vendor fields are kept, never dropped) next to
the few columns loading needs. Loading is idempotent: ``window`` entities replace the days of
the extract window, ``upsert`` entities replace the ids they carry. Everything for one
interval is one transaction, so a failed load leaves raw as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from smarketing.intervals import DataWindow
from smarketing.landing import QUARANTINE_FILE, RECORDS_FILE, interval_dir, read_manifest
from smarketing.sources.catalog import ENTITIES, EntitySpec

RAW_SCHEMA = "raw"
QUARANTINE_TABLE = f"{RAW_SCHEMA}._quarantine"


@dataclass(frozen=True)
class LoadCount:
    """Per entity: extracted = loaded + quarantined, checked on every load."""

    table: str
    extracted: int
    loaded: int
    quarantined: int


def _json_path(dotted: str) -> str:
    return "$." + dotted


def _day_expr(spec: EntitySpec) -> str:
    if spec.strategy != "window" or not spec.date_path:
        return "null::date"
    value = f"json_extract_string(json, '{_json_path(spec.date_path)}')"
    if spec.date_format == "yyyymmdd":
        return f"strptime({value}, '%Y%m%d')::date"
    return f"cast(left({value}, 10) as date)"


def _updated_expr(spec: EntitySpec) -> str:
    if not spec.updated_path:
        return "null::timestamp"
    value = f"json_extract_string(json, '{_json_path(spec.updated_path)}')"
    return f"(cast({value} as timestamptz) at time zone 'UTC')"


def _id_expr(spec: EntitySpec) -> str:
    if not spec.id_path:
        return "md5(json::varchar)"
    return f"json_extract_string(json, '{_json_path(spec.id_path)}')"


def connect(warehouse_path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the working warehouse with UTC session time (timestamps are always UTC here)."""
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse_path), read_only=read_only)
    con.execute("set TimeZone = 'UTC'")
    return con


def load_interval(
    warehouse_path: Path,
    landing_dir: Path,
    window: DataWindow,
    specs: tuple[EntitySpec, ...] = ENTITIES,
) -> list[LoadCount]:
    """Load every entity landed for ``window`` into raw, in one transaction."""
    batches = []
    for spec in specs:
        folder = interval_dir(landing_dir, spec, window)
        manifest = read_manifest(folder)
        batches.append((spec, folder, manifest))
    con = connect(warehouse_path)
    counts: list[LoadCount] = []
    in_transaction = False
    try:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.execute("begin transaction")
        in_transaction = True
        con.execute(
            f"""create table if not exists {QUARANTINE_TABLE} (
                source varchar not null, entity varchar not null, _interval varchar not null,
                record varchar, field varchar, reason varchar not null, raw varchar,
                _loaded_at timestamp not null
            )"""
        )
        for spec, folder, manifest in batches:
            path, landed = folder / RECORDS_FILE, int(manifest["records"])
            quarantined = _load_quarantine(con, spec, folder, window)
            extracted = int(manifest.get("extracted", landed))
            if landed + quarantined != extracted:
                raise RuntimeError(
                    f"{spec.source}/{spec.entity} interval={window.key}: extracted {extracted}"
                    f" != landed {landed} + quarantined {quarantined}"
                )
            table = f"{RAW_SCHEMA}.{spec.raw_table}"
            con.execute(
                f"""create table if not exists {table} (
                    record_id varchar not null,
                    record_date date,
                    updated_at timestamp,
                    payload json not null,
                    _interval varchar not null,
                    _loaded_at timestamp not null
                )"""
            )
            source = f"read_ndjson_objects('{path.as_posix()}')"
            if spec.strategy == "window":
                con.execute(
                    f"delete from {table} where record_date >= ? and record_date < ?",
                    [window.extract_start.date(), window.end.date()],
                )
            else:
                ids = f"select {_id_expr(spec)} from {source}"
                con.execute(f"delete from {table} where record_id in ({ids})")
            before = con.execute(f"select count(*) from {table}").fetchone()[0]
            if landed:
                con.execute(
                    f"""insert into {table}
                    select {_id_expr(spec)}, {_day_expr(spec)}, {_updated_expr(spec)}, json,
                           ?, (now() at time zone 'UTC')
                    from {source}""",
                    [window.key],
                )
            after = con.execute(f"select count(*) from {table}").fetchone()[0]
            if after - before != landed:
                raise RuntimeError(
                    f"raw load of {table}: landed {landed} records but loaded {after - before}"
                )
            counts.append(LoadCount(table, extracted, after - before, quarantined))
        con.execute("commit")
        in_transaction = False
    except BaseException:
        if in_transaction:
            con.execute("rollback")
        raise
    finally:
        con.close()
    return counts


def _load_quarantine(
    con: duckdb.DuckDBPyConnection, spec: EntitySpec, folder: Path, window: DataWindow
) -> int:
    """Replace this interval's quarantined records of one entity; return how many."""
    con.execute(
        f"delete from {QUARANTINE_TABLE} where source = ? and entity = ? and _interval = ?",
        [spec.source, spec.entity, window.key],
    )
    path = folder / QUARANTINE_FILE
    if not path.exists() or path.stat().st_size == 0:
        return 0
    con.execute(
        f"""insert into {QUARANTINE_TABLE}
        select ?, ?, ?, json ->> 'record', json ->> 'field', json ->> 'reason', json ->> 'raw',
               (now() at time zone 'UTC')
        from read_ndjson_objects('{path.as_posix()}')""",
        [spec.source, spec.entity, window.key],
    )
    where = "where source = ? and entity = ? and _interval = ?"
    return con.execute(
        f"select count(*) from {QUARANTINE_TABLE} {where}", [spec.source, spec.entity, window.key]
    ).fetchone()[0]
