"""Load one landed data interval into the raw schema of the working warehouse.

Raw keeps every version it receives in ``raw.<table>__versions`` (the whole payload as JSON,
so new vendor fields are kept) and resolves the current row of each key in ``raw.<table>``,
which is what dbt reads. "Current" never depends on the order intervals are loaded in:

* ``upsert`` (CRM objects): the newest ``updatedAt`` wins, ties by the latest delivery;
* ``append`` (e-mail activity, clicks, GA4 events): keyed by their natural key; a later
  window never deletes what an earlier one delivered; the same key twice is kept once;
* ``window`` (ad stats, restated by the vendor): each day holds the rows of the latest
  delivery that covered it, one per natural grain.

A delivery is one landing (its manifest's ``landed_at``); within a delivery a later line wins.
Re-loading a landing is a no-op; loading an older landing after a newer one changes nothing
current. Everything for one interval is one transaction, so a failed load leaves raw as it
was. Every file path and value reaches SQL as a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from smarketing.intervals import DataWindow
from smarketing.landing import QUARANTINE_FILE, RECORDS_FILE, interval_dir, read_manifest
from smarketing.sources.catalog import ENTITIES, EntitySpec

RAW_SCHEMA = "raw"
QUARANTINE_TABLE = f"{RAW_SCHEMA}._quarantine"
COVERAGE_TABLE = f"{RAW_SCHEMA}._coverage"
LOADS_TABLE = f"{RAW_SCHEMA}._loads"
VERSIONS_SUFFIX = "__versions"


class LoadOutOfMemory(RuntimeError):
    """DuckDB needed more memory than SMARKETING_DUCKDB_MEMORY_LIMIT allows for this load."""


class ConflictingVersions(RuntimeError):
    """One delivery holds two different contents for the same record and modification time."""


@dataclass(frozen=True)
class LoadCount:
    """Per entity: extracted = loaded + quarantined, checked on every load.

    ``duplicates``: rows of this delivery that another row of it with the same key
    superseded (kept in the versions table, not current). ``quarantined_value``: the money
    the quarantined records carry (deal amounts, spend) as far as it can be read, None when the
    entity carries none.
    """

    table: str
    extracted: int
    loaded: int
    quarantined: int
    duplicates: int = 0
    quarantined_value: Decimal | None = None
    quarantined_unvalued: int = 0  # quarantined records whose money could not be read


def _json_path(dotted: str) -> str:
    return "$." + dotted


def _day_expr(spec: EntitySpec) -> str:
    if not spec.date_path:
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
    """The record's key: its id, else a hash of its natural key, else of its payload."""
    if spec.id_path:
        return f"json_extract_string(json, '{_json_path(spec.id_path)}')"
    if spec.key_paths:
        parts = ", ".join(f"json_extract_string(json, '{_json_path(p)}')" for p in spec.key_paths)
        return f"md5(to_json(list_value({parts}))::varchar)"
    return "md5(json::varchar)"


def _value_expr(spec: EntitySpec, raw: str) -> str:
    """Money a quarantined record carries (null when unreadable or the entity has none)."""
    if not spec.value_path:
        return "null::decimal(18, 6)"
    value = f"json_extract_string({raw}, '{_json_path(spec.value_path)}')"
    return (
        f"case when json_valid({raw}) then cast(try_cast({value} as decimal(24, 6))"
        f" * {Decimal(spec.value_scale)} as decimal(18, 6)) end"
    )


def connect(
    warehouse_path: Path, read_only: bool = False, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the working warehouse with UTC session time (timestamps are always UTC here).

    ``memory_limit`` (SMARKETING_DUCKDB_MEMORY_LIMIT): beyond it DuckDB spills to
    ``<warehouse>.tmp`` instead of growing; None keeps DuckDB's default (80 % of RAM).
    """
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": memory_limit} if memory_limit else {}
    con = duckdb.connect(str(warehouse_path), read_only=read_only, config=config)
    con.execute("set TimeZone = 'UTC'")
    return con


def _delivered_at(manifest: dict) -> datetime:
    """When this landing was delivered (naive UTC), the tie-breaker between deliveries."""
    landed = manifest.get("landed_at")
    moment = datetime.fromisoformat(landed) if landed else datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _create_tables(con: duckdb.DuckDBPyConnection, table: str) -> None:
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
    con.execute(
        f"""create table if not exists {table}{VERSIONS_SUFFIX} (
            record_id varchar not null,
            record_date date,
            updated_at timestamp,
            payload json not null,
            payload_md5 varchar not null,
            _interval varchar not null,
            _delivered_at timestamp not null,
            _line bigint not null,
            _loaded_at timestamp not null
        )"""
    )


def _stage_batch(con: duckdb.DuckDBPyConnection, spec: EntitySpec, path: Path, landed: int) -> None:
    """The landed file as a temp table ``_batch``, each row with its key and line number."""
    columns = (
        f"{_id_expr(spec)} as record_id, {_day_expr(spec)} as record_date,"
        f" {_updated_expr(spec)} as updated_at, json as payload,"
        " md5(json::varchar) as payload_md5, ordinality as _line"
    )
    if landed:
        con.execute(
            f"create or replace temp table _batch as select {columns}"
            " from read_ndjson_objects(?) with ordinality",
            [path.as_posix()],
        )
    else:
        con.execute(
            f"create or replace temp table _batch as select {columns}"
            " from (select '{}'::json as json, 0::bigint as ordinality) where false"
        )


def _check_conflicts(con: duckdb.DuckDBPyConnection, spec: EntitySpec, window: DataWindow) -> None:
    """Two contents for one id and one modification time: no rule can pick one; stop."""
    if spec.strategy != "upsert":
        return
    rows = con.execute(
        """select record_id, any_value(updated_at), count(distinct payload_md5)
        from _batch group by record_id, updated_at
        having count(distinct payload_md5) > 1 order by record_id limit 5"""
    ).fetchall()
    if rows:
        named = "; ".join(f"id={r[0]} {spec.updated_path}={r[1]}: {r[2]} contents" for r in rows)
        raise ConflictingVersions(
            f"source={spec.source} entity={spec.entity} interval={window.key}: a record was "
            f"delivered twice with the same {spec.updated_path} and different content, so "
            f"no version can be chosen (re-extract the interval): {named}"
        )


def _store_versions(
    con: duckdb.DuckDBPyConnection, versions: str, window: DataWindow, delivered: datetime
) -> None:
    """Keep every distinct version; a version delivered again remembers its latest delivery."""
    latest_per_version = """(select * from _batch
        qualify row_number() over (partition by record_id, payload_md5 order by _line desc) = 1)"""
    con.execute(
        f"""update {versions} as v
        set _delivered_at = ?, _interval = ?, _line = b._line
        from {latest_per_version} as b
        where v.record_id = b.record_id and v.payload_md5 = b.payload_md5
          and v._delivered_at < ?""",
        [delivered, window.key, delivered],
    )
    con.execute(
        f"""insert into {versions}
        select b.record_id, b.record_date, b.updated_at, b.payload, b.payload_md5, ?, ?,
               b._line, (now() at time zone 'UTC')
        from {latest_per_version} as b
        where not exists (
            select 1 from {versions} as v
            where v.record_id = b.record_id and v.payload_md5 = b.payload_md5
        )""",
        [window.key, delivered],
    )


def _resolve_current(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    table: str,
    window: DataWindow,
    delivered: datetime,
) -> None:
    """Rewrite the current rows this delivery touches, from the versions, order-independently."""
    versions = f"{table}{VERSIONS_SUFFIX}"
    if spec.strategy != "window":
        con.execute(f"delete from {table} where record_id in (select record_id from _batch)")
        con.execute(
            f"""insert into {table}
            select record_id, record_date, updated_at, payload, _interval,
                   (now() at time zone 'UTC')
            from {versions}
            where record_id in (select record_id from _batch)
            qualify row_number() over (
                partition by record_id
                order by updated_at desc nulls last, _delivered_at desc, _line desc
            ) = 1"""
        )
        return
    con.execute(
        f"""create table if not exists {COVERAGE_TABLE} (
            raw_table varchar not null, day date not null, _interval varchar not null,
            _delivered_at timestamp not null
        )"""
    )
    last_day = window.end.date() - timedelta(days=1)
    con.execute(
        """create or replace temp table _days as
        select distinct day from (
            select unnest(generate_series(?::date, ?::date, interval 1 day))::date as day
            union all
            select record_date from _batch where record_date is not null
        )""",
        [window.extract_start.date(), last_day],
    )
    con.execute(
        f"""insert into {COVERAGE_TABLE}
        select ?, day, ?, ? from _days
        where not exists (
            select 1 from {COVERAGE_TABLE} as c
            where c.raw_table = ? and c.day = _days.day and c._delivered_at = ?
        )""",
        [spec.raw_table, window.key, delivered, spec.raw_table, delivered],
    )
    con.execute(f"delete from {table} where record_date in (select day from _days)")
    con.execute(
        f"""insert into {table}
        with latest as (
            select day, max(_delivered_at) as delivered_at from {COVERAGE_TABLE}
            where raw_table = ? and day in (select day from _days)
            group by day
        )
        select v.record_id, v.record_date, v.updated_at, v.payload, v._interval,
               (now() at time zone 'UTC')
        from {versions} as v
        join latest on v.record_date = latest.day and v._delivered_at = latest.delivered_at
        qualify row_number() over (partition by v.record_id order by v._line desc) = 1""",
        [spec.raw_table],
    )


def load_interval(
    warehouse_path: Path,
    landing_dir: Path,
    window: DataWindow,
    specs: tuple[EntitySpec, ...] = ENTITIES,
    memory_limit: str | None = None,
) -> list[LoadCount]:
    """Load every entity landed for ``window`` into raw, in one transaction.

    ``specs``: the enabled vendors' entities (the pipeline passes catalog.enabled_entities);
    ``memory_limit``: DuckDB's (see :func:`connect`).
    """
    batches = []
    for spec in specs:
        folder = interval_dir(landing_dir, spec, window)
        manifest = read_manifest(folder)
        batches.append((spec, folder, manifest))
    con = connect(warehouse_path, memory_limit=memory_limit)
    counts: list[LoadCount] = []
    in_transaction = False
    loading = "raw's tables"  # what an error names
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
        con.execute(f"alter table {QUARANTINE_TABLE} add column if not exists value decimal(18, 6)")
        con.execute(
            f"""create table if not exists {LOADS_TABLE} (
                raw_table varchar not null, source varchar not null, entity varchar not null,
                _interval varchar not null, _delivered_at timestamp not null,
                extracted bigint not null, loaded bigint not null, quarantined bigint not null,
                duplicates bigint not null, quarantined_value decimal(18, 6),
                _loaded_at timestamp not null
            )"""
        )
        # every registered vendor's tables exist (empty for one switched off, see
        # smarketing.vendors) so its staging models still build
        for spec in ENTITIES:
            _create_tables(con, f"{RAW_SCHEMA}.{spec.raw_table}")
        for spec, folder, manifest in batches:
            loading = f"{spec.source}/{spec.entity}"
            path, landed = folder / RECORDS_FILE, int(manifest["records"])
            quarantined, value, unvalued = _load_quarantine(con, spec, folder, window)
            extracted = int(manifest.get("extracted", landed))
            if landed + quarantined != extracted:
                raise RuntimeError(
                    f"{spec.source}/{spec.entity} interval={window.key}: extracted {extracted}"
                    f" != landed {landed} + quarantined {quarantined}"
                )
            table = f"{RAW_SCHEMA}.{spec.raw_table}"
            _create_tables(con, table)
            _stage_batch(con, spec, path, landed)
            staged, keys = con.execute(
                "select count(*), count(distinct record_id) from _batch"
            ).fetchone()
            if staged != landed:
                raise RuntimeError(
                    f"raw load of {table}: landed {landed} records but {path} holds {staged}"
                )
            _check_conflicts(con, spec, window)
            delivered = _delivered_at(manifest)
            _store_versions(con, f"{table}{VERSIONS_SUFFIX}", window, delivered)
            _resolve_current(con, spec, table, window, delivered)
            count = LoadCount(table, extracted, landed, quarantined, staged - keys, value, unvalued)
            con.execute(
                f"delete from {LOADS_TABLE} where raw_table = ? and _interval = ?",
                [spec.raw_table, window.key],
            )
            con.execute(
                f"insert into {LOADS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " (now() at time zone 'UTC'))",
                [
                    spec.raw_table,
                    spec.source,
                    spec.entity,
                    window.key,
                    delivered,
                    extracted,
                    landed,
                    quarantined,
                    count.duplicates,
                    value,
                ],
            )
            counts.append(count)
        con.execute("commit")
        in_transaction = False
    except BaseException as exc:
        if in_transaction:
            con.execute("rollback")
        if isinstance(exc, duckdb.OutOfMemoryException):
            raise LoadOutOfMemory(
                f"raw load of interval={window.key} ({loading}) needed more"
                f" memory than SMARKETING_DUCKDB_MEMORY_LIMIT={memory_limit} allows; raise"
                f" the setting and re-run (raw is unchanged). DuckDB said: {exc}"
            ) from exc
        raise
    finally:
        con.close()
    return counts


def _load_quarantine(
    con: duckdb.DuckDBPyConnection, spec: EntitySpec, folder: Path, window: DataWindow
) -> tuple[int, Decimal | None, int]:
    """Replace this interval's quarantined records of one entity.

    Returns their count, the money they carry and how many carry money that cannot be read.
    """
    where = "where source = ? and entity = ? and _interval = ?"
    key = [spec.source, spec.entity, window.key]
    con.execute(f"delete from {QUARANTINE_TABLE} {where}", key)
    path = folder / QUARANTINE_FILE
    if path.exists() and path.stat().st_size > 0:
        value = _value_expr(spec, "(json ->> 'raw')")
        con.execute(
            f"""insert into {QUARANTINE_TABLE}
                (source, entity, _interval, record, field, reason, raw, _loaded_at, value)
            select ?, ?, ?, json ->> 'record', json ->> 'field', json ->> 'reason',
                   json ->> 'raw', (now() at time zone 'UTC'), {value}
            from read_ndjson_objects(?)""",
            [*key, path.as_posix()],
        )
    count, value, valued = con.execute(
        f"select count(*), sum(value), count(value) from {QUARANTINE_TABLE} {where}", key
    ).fetchone()
    if spec.value_path is None:
        return count, None, 0
    return count, Decimal(value if value is not None else "0.000000"), count - valued
