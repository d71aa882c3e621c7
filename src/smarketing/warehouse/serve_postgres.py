"""Serve the published marts from PostgreSQL too (optional): the endpoint most BI tools speak.

Off unless the Airflow Connection ``smarketing_bi_postgres`` is defined (host, port, login,
password, schema = database name). A publish then runs in three steps, so that the DuckDB
file and PostgreSQL always hold the same version:

1. :func:`load_staging` copies the gated audit marts into a fresh schema ``marts__next``
   (``COPY``, types preserved, primary keys, comments from the dbt docs, grants to the
   read-only role). Any failure here drops that schema; nothing published has changed.
2. The DuckDB file is published (``os.replace``). A failure drops the staging schema.
3. :func:`swap` renames ``marts`` -> ``marts__old`` and ``marts__next`` -> ``marts`` in one
   transaction: a reader sees the old or the new version, never a mix and never an empty
   schema. If that transaction fails, the caller restores the previous DuckDB file, so both
   keep the previous version. Every ``marts`` schema has a ``_publish_info`` table with the
   run id, as the DuckDB file has: compare them to check the two are in step.

The read-only role (``SMARKETING_BI_ROLE``, default ``smarketing_bi``) gets USAGE on
``marts`` and SELECT on its tables, nothing else: no other schema, no writes, no DDL.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
import yaml

from smarketing.dbt_docs import doc_blocks, render

log = logging.getLogger(__name__)

CONN_ID = "smarketing_bi_postgres"
LIVE_SCHEMA = "marts"
NEXT_SCHEMA = "marts__next"
OLD_SCHEMA = "marts__old"
BATCH_ROWS = 10_000


class PostgresServingError(RuntimeError):
    """Loading or swapping the PostgreSQL marts failed; what is published is unchanged."""


@dataclass(frozen=True)
class PgTarget:
    """Where to serve: a libpq connection string (never logged) and the read-only role."""

    conninfo: str = field(repr=False)
    role: str
    label: str  # host:port/dbname, for logs


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def target_from_connection(fields: dict[str, Any], role: str, conn_id: str = CONN_ID) -> PgTarget:
    """Build a target from an Airflow Connection's fields (host, port, login, ...)."""
    from psycopg.conninfo import make_conninfo

    extra = fields.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    host, port = fields.get("host") or "", fields.get("port") or 5432
    dbname = fields.get("schema") or "postgres"
    if not host:
        raise PostgresServingError(f"connection {conn_id!r} has no host")
    conninfo = make_conninfo(
        host=host,
        port=str(port),
        user=fields.get("login") or "",
        password=fields.get("password") or "",
        dbname=dbname,
        connect_timeout=str(extra.get("connect_timeout", 10)),
        **({"sslmode": extra["sslmode"]} if extra.get("sslmode") else {}),
    )
    return PgTarget(conninfo, role, f"{host}:{port}/{dbname}")


def _fields_from_env(conn_id: str) -> dict[str, Any] | None:
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}", "").strip()
    if not raw:
        return None
    if raw.startswith("{"):
        return json.loads(raw)
    url = urlsplit(raw)  # Airflow's URI form: postgres://user:pw@host:port/db
    return {
        "host": url.hostname,
        "port": url.port,
        "login": unquote(url.username or ""),
        "password": unquote(url.password or ""),
        "schema": unquote(url.path.lstrip("/")),
    }


def configured_target(role: str, conn_id: str = CONN_ID) -> PgTarget | None:
    """The target if the connection is defined (env ``AIRFLOW_CONN_…`` or Airflow), else None."""
    fields = _fields_from_env(conn_id)
    if fields is None:
        try:
            from airflow.sdk import BaseHook
            from airflow.sdk.exceptions import AirflowNotFoundException
        except ImportError:  # not inside Airflow: serving is off
            return None
        try:
            conn = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:  # not defined: serving is off
            return None
        # any other failure (the execution API or a secrets backend timing out) is raised:
        # silently skipping PostgreSQL would leave BI on yesterday's marts with a green run
        fields = {
            "host": conn.host,
            "port": conn.port,
            "login": conn.login,
            "password": conn.password,
            "schema": conn.schema,
            "extra": conn.extra_dejson or {},
        }
    return target_from_connection(fields, role, conn_id)


# --- dbt docs: comments and keys -------------------------------------------------------------


@dataclass(frozen=True)
class ModelDoc:
    description: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    key: tuple[str, ...] = ()


def model_docs(dbt_project_dir: Path) -> dict[str, ModelDoc]:
    """Descriptions and keys of the models, from the models' yml (what ``dbt docs`` shows:
    a ``{{ doc("…") }}`` reference is replaced by its docs block).

    The key is the model's ``unique_combination`` test, else its one column tested
    ``unique``; it becomes the primary key in PostgreSQL.
    """
    blocks = doc_blocks(dbt_project_dir)

    def text(node: dict) -> str:
        return " ".join(render(str(node.get("description") or ""), blocks).split())

    docs: dict[str, ModelDoc] = {}
    for yml in sorted((dbt_project_dir / "models").rglob("*.yml")):
        for model in (yaml.safe_load(yml.read_text()) or {}).get("models") or []:
            columns, unique_cols, key = {}, [], ()
            for col in model.get("columns") or []:
                columns[col["name"]] = text(col)
                for test in col.get("data_tests") or col.get("tests") or []:
                    if test == "unique" or (isinstance(test, dict) and "unique" in test):
                        unique_cols.append(col["name"])
            for test in model.get("data_tests") or model.get("tests") or []:
                if isinstance(test, dict) and "unique_combination" in test:
                    spec = test["unique_combination"] or {}
                    key = tuple((spec.get("arguments") or spec).get("columns") or ())
            if not key and len(unique_cols) == 1:
                key = (unique_cols[0],)
            docs[model["name"]] = ModelDoc(text(model), columns, key)
    return docs


# --- types -----------------------------------------------------------------------------------

_SIMPLE_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20,0)",
    "HUGEINT": "numeric(38,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    # The marts keep UTC instants in naive TIMESTAMP columns; loaded with TimeZone=UTC.
    "TIMESTAMP": "timestamptz",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIME": "time",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
}


def pg_type(duckdb_type: str, table: str, column: str) -> str:
    """PostgreSQL type of a DuckDB column; unknown types fail loudly (never silently text)."""
    upper = duckdb_type.upper()
    if upper in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[upper]
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", upper)
    if decimal:
        return f"numeric({decimal[1]},{decimal[2]})"
    if upper.endswith("[]") and upper[:-2] in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[upper[:-2]] + "[]"
    raise PostgresServingError(
        f"{table}.{column}: DuckDB type {duckdb_type} has no PostgreSQL mapping"
    )


# --- load, swap, drop ------------------------------------------------------------------------


def _connect(target: PgTarget):
    import psycopg

    try:
        return psycopg.connect(target.conninfo, autocommit=False)
    except psycopg.Error as exc:
        raise PostgresServingError(
            f"cannot connect to PostgreSQL {target.label}: {type(exc).__name__}"
        ) from exc


def ensure_role(cur, role: str) -> None:
    """Create the read-only role (NOLOGIN) if missing; admins grant it to BI logins."""
    cur.execute("select 1 from pg_roles where rolname = %s", [role])
    if cur.fetchone() is None:
        cur.execute(f"create role {_ident(role)} nologin")


def load_staging(
    target: PgTarget,
    warehouse_path: Path,
    tables: list[str],
    run_id: str,
    data_interval: str,
    dbt_project_dir: Path,
    source_schema: str = "audit",
) -> dict[str, int]:
    """Copy the audit marts into a fresh ``marts__next`` schema; return rows per table."""
    import psycopg

    docs = model_docs(dbt_project_dir)
    src = duckdb.connect(str(warehouse_path), read_only=True)
    pg = _connect(target)
    counts: dict[str, int] = {}
    try:
        with pg.cursor() as cur:
            cur.execute("set local timezone to 'UTC'")
            ensure_role(cur, target.role)
            cur.execute(f"drop schema if exists {_ident(NEXT_SCHEMA)} cascade")
            cur.execute(f"create schema {_ident(NEXT_SCHEMA)}")
            for table in tables:
                counts[table] = _copy_table(cur, src, source_schema, table, docs.get(table))
            cur.execute(
                f"create table {_ident(NEXT_SCHEMA)}._publish_info (run_id text not null,"
                " data_interval text not null, published_at timestamptz not null default now(),"
                " tables jsonb not null)"
            )
            cur.execute(
                f"insert into {_ident(NEXT_SCHEMA)}._publish_info (run_id, data_interval, tables)"
                " values (%s, %s, %s)",
                [run_id, data_interval, json.dumps(counts, sort_keys=True)],
            )
            cur.execute(
                f"comment on schema {_ident(NEXT_SCHEMA)} is "
                + _literal(f"smarketing published marts, run {run_id}, interval {data_interval}")
            )
            cur.execute(f"revoke all on schema {_ident(NEXT_SCHEMA)} from public")
            cur.execute(f"grant usage on schema {_ident(NEXT_SCHEMA)} to {_ident(target.role)}")
            cur.execute(
                f"grant select on all tables in schema {_ident(NEXT_SCHEMA)} "
                f"to {_ident(target.role)}"
            )
        pg.commit()
    except BaseException as exc:
        pg.rollback()
        pg.close()
        src.close()
        drop_staging(target)
        if isinstance(exc, psycopg.Error):
            raise PostgresServingError(f"loading PostgreSQL {target.label} failed: {exc}") from exc
        raise
    pg.close()
    src.close()
    return counts


def _copy_table(cur, src, schema: str, table: str, doc: ModelDoc | None) -> int:
    columns = src.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not columns:
        raise PostgresServingError(f"{schema}.{table} does not exist in the warehouse")
    qualified = f"{_ident(NEXT_SCHEMA)}.{_ident(table)}"
    key = doc.key if doc else ()
    definitions = []
    for name, dtype in columns:
        not_null = " not null" if name in key else ""
        definitions.append(f"{_ident(name)} {pg_type(dtype, table, name)}{not_null}")
    if key:
        definitions.append(f"primary key ({', '.join(_ident(c) for c in key)})")
    cur.execute(f"create table {qualified} ({', '.join(definitions)})")
    names = ", ".join(_ident(n) for n, _ in columns)
    result = src.execute(f"select {names} from {_ident(schema)}.{_ident(table)}")
    rows = 0
    with cur.copy(f"copy {qualified} ({names}) from stdin") as copy:
        while batch := result.fetchmany(BATCH_ROWS):
            for row in batch:
                copy.write_row(row)
            rows += len(batch)
    if doc:
        if doc.description:
            cur.execute(f"comment on table {qualified} is {_literal(doc.description)}")
        for name, _ in columns:
            if doc.columns.get(name):
                cur.execute(
                    f"comment on column {qualified}.{_ident(name)} is {_literal(doc.columns[name])}"
                )
    return rows


def swap(target: PgTarget, lock_timeout_seconds: int = 30) -> None:
    """Make ``marts__next`` the live ``marts`` in one transaction; then drop the old one.

    Renaming schemas does not touch a reader's running query: it finishes on the tables it
    opened; the next query resolves ``marts.x`` to the new tables.
    """
    import psycopg

    pg = _connect(target)
    try:
        with pg.cursor() as cur:
            cur.execute(f"set local lock_timeout = '{int(lock_timeout_seconds)}s'")
            cur.execute("select nspname from pg_namespace where nspname = %s", [NEXT_SCHEMA])
            if cur.fetchone() is None:
                raise PostgresServingError(f"no {NEXT_SCHEMA} schema to swap in")
            cur.execute(f"drop schema if exists {_ident(OLD_SCHEMA)} cascade")
            cur.execute("select 1 from pg_namespace where nspname = %s", [LIVE_SCHEMA])
            if cur.fetchone() is not None:
                cur.execute(f"alter schema {_ident(LIVE_SCHEMA)} rename to {_ident(OLD_SCHEMA)}")
            cur.execute(f"alter schema {_ident(NEXT_SCHEMA)} rename to {_ident(LIVE_SCHEMA)}")
        pg.commit()
    except psycopg.Error as exc:
        pg.rollback()
        raise PostgresServingError(f"swapping PostgreSQL {target.label} failed: {exc}") from exc
    finally:
        pg.close()
    # Separate transaction: waits for readers still on the old tables, never blocks new ones.
    try:
        pg = _connect(target)
        with pg, pg.cursor() as cur:
            cur.execute(f"drop schema if exists {_ident(OLD_SCHEMA)} cascade")
        pg.close()
    except (psycopg.Error, PostgresServingError) as exc:  # harmless: dropped next time
        log.warning("could not drop %s yet: %s", OLD_SCHEMA, exc)


def drop_staging(target: PgTarget) -> None:
    """Remove a half-loaded ``marts__next`` (never the live schema); errors are logged."""
    import psycopg

    try:
        pg = _connect(target)
        with pg, pg.cursor() as cur:
            cur.execute(f"drop schema if exists {_ident(NEXT_SCHEMA)} cascade")
        pg.close()
    except (psycopg.Error, PostgresServingError) as exc:
        log.warning("could not drop %s: %s", NEXT_SCHEMA, exc)


def live_run_id(target: PgTarget) -> str | None:
    """The run id PostgreSQL serves (None before the first publish)."""
    pg = _connect(target)
    try:
        with pg.cursor() as cur:
            cur.execute("select to_regclass(%s)", [f"{LIVE_SCHEMA}._publish_info"])
            if cur.fetchone()[0] is None:
                return None
            cur.execute(f"select run_id from {_ident(LIVE_SCHEMA)}._publish_info")
            row = cur.fetchone()
            return row[0] if row else None
    finally:
        pg.close()
