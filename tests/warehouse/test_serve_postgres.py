"""PostgreSQL serving on a real server: types, keys, comments, the swap, the role's limits.

Every publish goes through ``pipeline.publish`` with the Airflow Connection
``smarketing_bi_postgres`` defined as ``AIRFLOW_CONN_SMARKETING_BI_POSTGRES``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from smarketing import pipeline
from smarketing.config import Settings, load_settings
from smarketing.warehouse import publish as publish_module
from smarketing.warehouse import serve_postgres
from tests.conftest import PROJECT_DIR
from tests.pg_server import PostgresServer

BI_PASSWORD = "bi-test-password"


def _warehouse(path: Path, version: int, rows: int = 30) -> None:
    """Audit marts whose every value carries ``version``: a mix of two versions is visible."""
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists audit")
    con.execute("create schema if not exists raw")
    con.execute("create or replace table raw.hubspot_contacts as select 'ann@x.example' as email")
    con.execute(
        "create or replace table audit.mart_channel_daily as select"
        " date '2026-01-01' + i::int as date_day, 'ch' || (i % 3) as channel,"
        f" ({version} * 1000 + i + 0.25)::decimal(18,2) as spend,"
        f" {version}::integer as leads,"
        " timestamp '2026-01-01 23:30:00' + to_hours(i::int) as last_touch_at"
        f" from range({rows}) t(i)"
    )
    con.execute(
        "create or replace table audit.fct_deals as select 'd' || i as deal_id,"
        f" ({version} * 100)::decimal(18,2) as amount_reporting from range({version}) t(i)"
    )
    con.execute("create or replace table audit._gate_bookkeeping as select 1 as never_published")
    con.close()


@pytest.fixture
def pg_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_server: PostgresServer
) -> Settings:
    dbname = f"t_{tmp_path.name.lower().replace('-', '_')}"[:60]
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as admin:
        admin.execute(f'create database "{dbname}"')
        admin.execute(
            "do $$ begin if not exists (select from pg_roles where rolname = 'smarketing_bi')"
            " then create role smarketing_bi nologin; end if; end $$"
        )
        admin.execute(f"alter role smarketing_bi login password '{BI_PASSWORD}'")
    conn = {
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": postgres_server.port,
        "login": "smarketing_admin",
        "password": postgres_server.password,
        "schema": dbname,
    }
    monkeypatch.setenv("AIRFLOW_CONN_SMARKETING_BI_POSTGRES", json.dumps(conn))
    monkeypatch.setenv("SMARKETING_PROJECT_DIR", str(PROJECT_DIR))
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    settings.ensure_dirs()
    return settings


def _dsn(server: PostgresServer, settings: Settings, user: str = "smarketing_admin") -> str:
    dbname = json.loads(os.environ["AIRFLOW_CONN_SMARKETING_BI_POSTGRES"])["schema"]
    password = BI_PASSWORD if user == "smarketing_bi" else None
    return server.dsn(user, password, dbname)


def test_types_keys_comments_and_equality_with_duckdb(
    pg_settings: Settings, postgres_server: PostgresServer
) -> None:
    _warehouse(pg_settings.warehouse_path, 3)
    result = pipeline.publish("run-3", "2026-01-31", {}, pg_settings)
    assert (
        result["postgres"]
        == f"127.0.0.1:{postgres_server.port}/"
        + json.loads(os.environ["AIRFLOW_CONN_SMARKETING_BI_POSTGRES"])["schema"]
    )
    assert result["tables"] == {"fct_deals": 3, "mart_channel_daily": 30}
    with psycopg.connect(_dsn(postgres_server, pg_settings)) as pg:
        types = pg.execute(
            "select table_name, column_name, data_type, numeric_precision, numeric_scale"
            " from information_schema.columns where table_schema = 'marts'"
            " and table_name = 'mart_channel_daily' order by ordinal_position"
        ).fetchall()
        assert types == [
            ("mart_channel_daily", "date_day", "date", None, None),
            ("mart_channel_daily", "channel", "text", None, None),
            ("mart_channel_daily", "spend", "numeric", 18, 2),
            ("mart_channel_daily", "leads", "integer", 32, 0),
            ("mart_channel_daily", "last_touch_at", "timestamp with time zone", None, None),
        ]
        # primary keys from the dbt tests (unique_combination / unique)
        keys = dict(
            pg.execute(
                "select conrelid::regclass::text, pg_get_constraintdef(oid) from pg_constraint"
                " where contype = 'p' and connamespace = 'marts'::regnamespace"
            ).fetchall()
        )
        assert keys == {
            "marts.mart_channel_daily": "PRIMARY KEY (date_day, channel)",
            "marts.fct_deals": "PRIMARY KEY (deal_id)",
        }
        table_comment, column_comment = pg.execute(
            "select obj_description('marts.fct_deals'::regclass, 'pg_class'),"
            " col_description('marts.fct_deals'::regclass, 2)"
        ).fetchone()
        assert table_comment.startswith("The sales grain: one row per HubSpot deal")
        assert column_comment.startswith(
            "The deal's value for bookings and won revenue: deal_amount in the reporting currency"
        )
        # the naive UTC instant is the same instant in PostgreSQL
        pg.execute("set timezone to 'America/New_York'")
        first = pg.execute(
            "select last_touch_at at time zone 'UTC' from marts.mart_channel_daily"
            " order by date_day limit 1"
        ).fetchone()[0]
        assert str(first) == "2026-01-01 23:30:00"
        pg_figures = pg.execute(
            "select (select count(*) from marts.mart_channel_daily),"
            " (select sum(spend) from marts.mart_channel_daily),"
            " (select sum(leads) from marts.mart_channel_daily),"
            " (select count(*) from marts.fct_deals),"
            " (select sum(amount_reporting) from marts.fct_deals),"
            " (select run_id from marts._publish_info)"
        ).fetchone()
        tables = {
            r[0]
            for r in pg.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            )
        }
    assert tables == {"_publish_info", "fct_deals", "mart_channel_daily"}
    db = duckdb.connect(str(pg_settings.published_path), read_only=True)
    duck_figures = db.execute(
        "select (select count(*) from mart_channel_daily), (select sum(spend) from"
        " mart_channel_daily), (select sum(leads) from mart_channel_daily),"
        " (select count(*) from fct_deals), (select sum(amount_reporting) from fct_deals),"
        " (select run_id from _publish_info)"
    ).fetchone()
    db.close()
    assert pg_figures == duck_figures
    assert pg_figures == (30, Decimal("90442.50"), 90, 3, Decimal("900.00"), "run-3")


def test_readers_see_old_or_new_never_a_mix_through_20_publishes(
    pg_settings: Settings, postgres_server: PostgresServer
) -> None:
    _warehouse(pg_settings.warehouse_path, 1)
    pipeline.publish("run-1", "2026-01-01", {}, pg_settings)
    stop = threading.Event()
    seen: list[int] = []
    errors: list[str] = []
    mixes: list[tuple] = []

    def reader() -> None:
        # a BI tool's pooled connection: one connection, autocommit, query after query
        with psycopg.connect(_dsn(postgres_server, pg_settings, "smarketing_bi")) as pg:
            pg.autocommit = True
            while not stop.is_set():
                try:
                    row = pg.execute(
                        "select (select min(leads) from marts.mart_channel_daily),"
                        " (select max(leads) from marts.mart_channel_daily),"
                        " (select count(*) from marts.fct_deals),"
                        " (select max(amount_reporting) / 100 from marts.fct_deals),"
                        " (select replace(run_id, 'run-', '')::int from marts._publish_info)"
                    ).fetchone()
                except psycopg.Error as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                if len(set(row)) != 1 or row[0] is None:
                    mixes.append(row)
                else:
                    seen.append(row[0])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for version in range(2, 22):
            _warehouse(pg_settings.warehouse_path, version)
            pipeline.publish(f"run-{version}", "2026-01-01", {}, pg_settings)
    finally:
        stop.set()
        thread.join(60)
    assert errors == []
    assert mixes == []
    assert seen == sorted(seen)  # never goes back to an older version
    assert seen[-1] == 21 and len(set(seen)) >= 5, f"reader saw versions {sorted(set(seen))}"
    with psycopg.connect(_dsn(postgres_server, pg_settings)) as pg:
        schemas = {r[0] for r in pg.execute("select nspname from pg_namespace")}
    assert "marts__next" not in schemas and "marts__old" not in schemas


def test_bi_role_reads_marts_only_and_cannot_write_or_create(
    pg_settings: Settings, postgres_server: PostgresServer
) -> None:
    _warehouse(pg_settings.warehouse_path, 2)
    pipeline.publish("run-2", "2026-01-02", {}, pg_settings)
    with psycopg.connect(_dsn(postgres_server, pg_settings), autocommit=True) as admin:
        # other data living in the same database (as if raw/audit were copied there)
        admin.execute("create schema raw")
        admin.execute("create table raw.contacts as select 'ann@x.example' as email")
        admin.execute("create schema audit")
        admin.execute("create table audit.fct_deals as select 1 as x")
    denied = {
        "select email from raw.contacts": psycopg.errors.InsufficientPrivilege,
        "select * from audit.fct_deals": psycopg.errors.InsufficientPrivilege,
        "insert into marts.fct_deals values ('x', 1)": psycopg.errors.InsufficientPrivilege,
        "update marts.fct_deals set amount_reporting = 0": psycopg.errors.InsufficientPrivilege,
        "delete from marts.fct_deals": psycopg.errors.InsufficientPrivilege,
        "truncate marts.fct_deals": psycopg.errors.InsufficientPrivilege,
        "drop table marts.fct_deals": psycopg.errors.InsufficientPrivilege,
        "create table marts.mine (x int)": psycopg.errors.InsufficientPrivilege,
        "create table public.mine (x int)": psycopg.errors.InsufficientPrivilege,
        "create schema mine": psycopg.errors.InsufficientPrivilege,
        "create view marts.v as select 1": psycopg.errors.InsufficientPrivilege,
        "alter table marts.fct_deals add column y int": psycopg.errors.InsufficientPrivilege,
    }
    with psycopg.connect(
        _dsn(postgres_server, pg_settings, "smarketing_bi"), autocommit=True
    ) as bi:
        assert bi.execute("select count(*) from marts.fct_deals").fetchone() == (2,)
        outcomes = {}
        for sql, error in denied.items():
            try:
                bi.execute(sql)
                outcomes[sql] = "allowed"
            except error:
                outcomes[sql] = "denied"
        assert outcomes == {sql: "denied" for sql in denied}
    with psycopg.connect(_dsn(postgres_server, pg_settings)) as admin:
        assert admin.execute("select count(*) from marts.fct_deals").fetchone() == (2,)


def test_failed_postgres_load_keeps_both_previous_versions(
    pg_settings: Settings, postgres_server: PostgresServer
) -> None:
    _warehouse(pg_settings.warehouse_path, 4)
    pipeline.publish("run-4", "2026-01-04", {}, pg_settings)
    before = pg_settings.published_path.read_bytes()
    _warehouse(pg_settings.warehouse_path, 5)
    con = duckdb.connect(str(pg_settings.warehouse_path))
    con.execute("create table audit.mart_bad as select map {'a': 1} as no_pg_type")
    con.close()
    with pytest.raises(serve_postgres.PostgresServingError, match=r"mart_bad\.no_pg_type"):
        pipeline.publish("run-5", "2026-01-05", {}, pg_settings)
    assert pg_settings.published_path.read_bytes() == before
    target = serve_postgres.configured_target("smarketing_bi")
    assert serve_postgres.live_run_id(target) == "run-4"


def _lose_staging_after_the_duckdb_swap(
    monkeypatch: pytest.MonkeyPatch, server: PostgresServer, settings: Settings
) -> None:
    """The DuckDB file is swapped in; then the PostgreSQL staging schema disappears (an
    operator's cleanup, a restore), so the PostgreSQL swap fails for real."""
    real_publish = publish_module.publish

    def publish_then_lose_staging(*args, **kwargs):
        result = real_publish(*args, **kwargs)
        with psycopg.connect(_dsn(server, settings), autocommit=True) as admin:
            admin.execute("drop schema marts__next cascade")
        return result

    monkeypatch.setattr(publish_module, "publish", publish_then_lose_staging)


def test_failed_swap_restores_the_previous_duckdb_file(
    pg_settings: Settings, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _warehouse(pg_settings.warehouse_path, 6)
    pipeline.publish("run-6", "2026-01-06", {}, pg_settings)
    before = pg_settings.published_path.read_bytes()
    _warehouse(pg_settings.warehouse_path, 7)
    _lose_staging_after_the_duckdb_swap(monkeypatch, postgres_server, pg_settings)
    with pytest.raises(serve_postgres.PostgresServingError, match="no marts__next"):
        pipeline.publish("run-7", "2026-01-07", {}, pg_settings)
    assert pg_settings.published_path.read_bytes() == before
    target = serve_postgres.configured_target("smarketing_bi")
    assert serve_postgres.live_run_id(target) == "run-6"


def test_failed_swap_with_one_kept_version_restores_exactly_what_postgres_serves(
    pg_settings: Settings, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Versions are pruned only once both stores serve the new one: with one version kept,
    a failed PostgreSQL swap still finds the version PostgreSQL serves and restores it."""
    settings = dataclasses.replace(pg_settings, publish_keep_versions=1)
    _warehouse(settings.warehouse_path, 8)
    pipeline.publish("run-8", "2026-01-08", {}, settings)
    before = settings.published_path.read_bytes()
    _warehouse(settings.warehouse_path, 9)
    real_publish = publish_module.publish
    _lose_staging_after_the_duckdb_swap(monkeypatch, postgres_server, settings)
    with pytest.raises(serve_postgres.PostgresServingError, match="no marts__next"):
        pipeline.publish("run-9", "2026-01-09", {}, settings)
    assert settings.published_path.read_bytes() == before
    assert serve_postgres.live_run_id(serve_postgres.configured_target("smarketing_bi")) == "run-8"
    monkeypatch.setattr(publish_module, "publish", real_publish)
    _warehouse(settings.warehouse_path, 10)
    pipeline.publish("run-10", "2026-01-10", {}, settings)  # a good night prunes to one version
    assert [v.record["run_id"] for v in publish_module.kept_versions(settings.published_path)] == [
        "run-10"
    ]


def test_cli_rollback_puts_postgres_back_on_the_restored_version(
    pg_settings: Settings, postgres_server: PostgresServer
) -> None:
    """BI tools on PostgreSQL never keep showing numbers an operator withdrew."""
    from smarketing.cli import main

    for version in (11, 12):
        _warehouse(pg_settings.warehouse_path, version)
        pipeline.publish(f"run-{version}", f"2026-01-{version}", {}, pg_settings)
    target = serve_postgres.configured_target("smarketing_bi")
    assert serve_postgres.live_run_id(target) == "run-12"
    assert main(["rollback"]) == 0
    assert serve_postgres.live_run_id(target) == "run-11"
    with psycopg.connect(_dsn(postgres_server, pg_settings)) as pg:
        spend, leads = pg.execute(
            "select sum(spend), min(leads) from marts.mart_channel_daily"
        ).fetchone()
    duck = duckdb.connect(str(pg_settings.published_path), read_only=True)
    assert (
        (spend, leads)
        == duck.execute("select sum(spend), min(leads) from mart_channel_daily").fetchone()
        == (sum(Decimal(11_000 + i) + Decimal("0.25") for i in range(30)), 11)
    )
    duck.close()


def test_serving_is_off_without_the_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SMARKETING_BI_POSTGRES", raising=False)
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    settings.ensure_dirs()
    _warehouse(settings.warehouse_path, 1)
    assert serve_postgres.configured_target("smarketing_bi") is None
    assert pipeline.publish("run-1", "2026-01-01", {}, settings)["postgres"] is None


def test_demo_marts_in_postgres_equal_the_published_duckdb_file(
    published_demo: Settings, postgres_server: PostgresServer
) -> None:
    """Every published mart of the demo company: rows, sums of every number, date ranges."""
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as admin:
        admin.execute("create database demo_marts")
    fields = {
        "host": "127.0.0.1",
        "port": postgres_server.port,
        "login": "smarketing_admin",
        "password": postgres_server.password,
        "schema": "demo_marts",
    }
    target = serve_postgres.target_from_connection(fields, "smarketing_bi")
    db = duckdb.connect(str(published_demo.published_path), read_only=True)
    tables = [
        r[0]
        for r in db.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
            " and table_name <> '_publish_info' order by 1"
        ).fetchall()
    ]
    assert len(tables) >= 10
    serve_postgres.load_staging(
        target,
        published_demo.warehouse_path,
        tables,
        "demo-run",
        "2026-02-14",
        published_demo.dbt_project_dir,
    )
    serve_postgres.swap(target)
    compared = 0
    with psycopg.connect(postgres_server.dsn(dbname="demo_marts")) as pg:
        pg.execute("set timezone to 'UTC'")
        for table in tables:
            columns = db.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = 'main' and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            duck_figures, pg_figures = ["count(*)"], ["count(*)"]
            for name, dtype in columns:
                col = f'"{name}"'
                if dtype.startswith(("DECIMAL", "INTEGER", "BIGINT", "HUGEINT")):
                    duck_figures.append(f"sum({col})::decimal(38,4)")
                    pg_figures.append(f"sum({col})::numeric(38,4)")
                elif dtype == "DOUBLE":
                    duck_figures.append(f"round(sum({col}), 6)::decimal(38,6)")
                    pg_figures.append(f"round(sum({col})::numeric, 6)")
                elif dtype == "DATE":
                    duck_figures += [f"min({col})::varchar", f"max({col})::varchar"]
                    pg_figures += [f"min({col})::varchar", f"max({col})::varchar"]
                elif dtype == "TIMESTAMP":
                    for fn in ("min", "max"):
                        duck_figures.append(f"strftime({fn}({col}), '%Y-%m-%d %H:%M:%S.%f')")
                        pg_figures.append(f"to_char({fn}({col}), 'YYYY-MM-DD HH24:MI:SS.US')")
                elif dtype in ("VARCHAR", "BOOLEAN"):
                    duck_figures.append(f"count(distinct {col})")
                    pg_figures.append(f"count(distinct {col})")
            duck = db.execute(f'select {", ".join(duck_figures)} from main."{table}"').fetchone()
            got = pg.execute(f'select {", ".join(pg_figures)} from marts."{table}"').fetchone()
            assert got == duck, table
            assert len(got) == len(columns) + 1 + sum(
                1 for _, t in columns if t in ("DATE", "TIMESTAMP")
            ), table
            compared += len(got)
    db.close()
    assert compared > 150
