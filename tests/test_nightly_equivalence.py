"""Nightly after nightly publishes exactly what one full refresh does, to the cent.

A small demo company (its own copy, its own vendor server) is loaded in full up to 02-09,
then runs four nightlies: 02-10, 02-11, 02-12 and an older day re-run (02-11 again:
every source re-sends its lookback days). Between nights GA4 delivers late: an event for
02-10 (an existing session gets another page view) and a new session on 02-11 of a known
visitor arrive in the files only after those days were loaded, inside the lookback. Then a
copy of the warehouse -- the same raw data -- is rebuilt with ``--full-refresh`` and every
table of the audit area (the marts the gate checks and publish copies) and every incremental
intermediate table must hold the same rows in both, compared with EXCEPT both ways.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from smarketing import pipeline
from smarketing.config import Settings, load_settings
from smarketing.demo.company import generate, write_world
from smarketing.demo.server import DemoServer, demo_connections
from smarketing.sources.catalog import SOURCES
from smarketing.transform import run_dbt
from tests.conftest import PROJECT_DIR
from tests.table_diff import rows_only_in_each

# seven dbt builds: well past the default per-test timeout on a shared 2-core machine
pytestmark = [pytest.mark.slow, pytest.mark.extended, pytest.mark.timeout(3600)]

FIRST, LAST = date(2026, 1, 1), date(2026, 2, 13)
# columns that say when a row (or the session it was made from) was built, not what it says
BUILD_TIME_COLUMNS = {"built_at", "sessions_built_at", "source_changed_at"}


def _ga4_dir(demo: Path) -> Path:
    """The GA4 export folder of the demo company (``ga4/`` or, before the rename, ``web/``)."""
    return next(demo / name for name in ("ga4", "web") if (demo / name).is_dir())


def _late(demo: Path, day: str, line: dict, **changes: object) -> dict:
    """A copy of a GA4 event with ``changes``, appended to ``day``'s export file."""
    event = {**line, **changes}
    with (_ga4_dir(demo) / f"events_{day.replace('-', '')}.jsonl").open("a") as f:
        f.write(json.dumps(event) + "\n")
    return event


def _events(demo: Path, day: str) -> list[dict]:
    path = _ga4_dir(demo) / f"events_{day.replace('-', '')}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _night(s: Settings, day: str, extract_start: str | None = None) -> None:
    end = date.fromisoformat(day).toordinal() + 1
    end_s = date.fromordinal(end).isoformat()
    for source in SOURCES:
        pipeline.extract(source, day, end_s, extract_start, s)
    pipeline.load_raw(day, end_s, extract_start, s)
    pipeline.transform(s)


def _tables(con: duckdb.DuckDBPyConnection, schema: str, kind: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables"
            " where table_schema = ? and table_type = ? order by 1",
            [schema, kind],
        ).fetchall()
    ]


def _differences(nightly: Path, full: Path, schema: str, table: str) -> tuple[int, int, int]:
    """(rows, rows only in the nightly build, rows only in the full refresh)."""
    con = duckdb.connect(str(nightly), read_only=True)
    try:
        con.execute(f"attach '{full}' as full_db (read_only)")
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_catalog ="
                " current_database() and table_schema = ? and table_name = ?"
                " order by ordinal_position",
                [schema, table],
            ).fetchall()
            if r[0] not in BUILD_TIME_COLUMNS
        ]
        cols = ", ".join(f'"{c}"' for c in columns)
        mine, theirs = f"{schema}.{table}", f"full_db.{schema}.{table}"
        rows = con.execute(f"select count(*) from {mine}").fetchone()[0]
        only_nightly, only_full = rows_only_in_each(con, mine, theirs, cols)
    finally:
        con.close()
    return rows, only_nightly, only_full


@pytest.fixture(scope="module")
def nightly_and_full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    base = tmp_path_factory.mktemp("equivalence")
    demo = base / "demo"
    write_world(generate(11, 0.3, FIRST, LAST), demo)
    with DemoServer(demo, page_size=200) as server, pytest.MonkeyPatch.context() as mp:
        for key, value in demo_connections(server.url, demo).items():
            mp.setenv(key, value)
        mp.delenv("AIRFLOW_CONN_SMARKETING_BI_POSTGRES", raising=False)
        mp.setenv("SMARKETING_HTTP_BACKOFF_SECONDS", "0")
        mp.setenv("SMARKETING_HUBSPOT_SEARCH_PER_SECOND", "1000")
        mp.setenv("SMARKETING_PROJECT_DIR", str(PROJECT_DIR))
        mp.setenv("SMARKETING_DATA_DIR", str(base / "data"))
        mp.setenv("SMARKETING_DEMO_DIR", str(demo))
        mp.setenv("SMARKETING_LOOKBACK_DAYS", "2")
        mp.setenv("SMARKETING_INCREMENTAL_LOOKBACK_DAYS", "1")
        s = load_settings()
        s.ensure_dirs()
        # the GA4 export of 02-10 and 02-11 as it stands on the first night that loads them
        held_back = {
            day: (_ga4_dir(demo) / f"events_{day.replace('-', '')}.jsonl").read_text()
            for day in ("2026-02-10", "2026-02-11")
        }
        _night(s, "2026-02-09", FIRST.isoformat())
        _night(s, "2026-02-10")
        # late: another page view of the first session of 02-10
        first = _events(demo, "2026-02-10")[0]
        _late(
            demo,
            "2026-02-10",
            first,
            event_name="page_view",
            event_timestamp=first["event_timestamp"] + 90_000_000,
        )
        _night(s, "2026-02-11")
        # late: a new session on 02-11 of a visitor first seen on an earlier day
        earlier = _events(demo, "2026-02-09")[0]
        ts = _events(demo, "2026-02-11")[0]["event_timestamp"] + 7_000_000
        _late(
            demo,
            "2026-02-11",
            earlier,
            event_date="20260211",
            event_timestamp=ts,
            event_params=[
                {"key": "ga_session_id", "value": {"int_value": ts // 1_000_000}},
                {"key": "page_location", "value": {"string_value": "https://late.example/"}},
            ],
        )
        _night(s, "2026-02-12")
        _night(s, "2026-02-11")  # an older day re-run: re-sends its lookback days
        assert all(
            (_ga4_dir(demo) / f"events_{d.replace('-', '')}.jsonl").read_text() != text
            for d, text in held_back.items()
        )
        full_dir = base / "full"
        shutil.copytree(s.warehouse_path.parent, full_dir / "warehouse")
        full = full_dir / "warehouse" / s.warehouse_path.name
        mp.setenv("SMARKETING_WAREHOUSE_PATH", str(full))
        mp.setenv("SMARKETING_DATA_DIR", str(full_dir))
        full_settings = load_settings()
        full_settings.ensure_dirs()
        assert full_settings.warehouse_path == full
        run_dbt(full_settings, "build", "--full-refresh")
        yield s.warehouse_path, full


def test_nightly_increments_publish_what_a_full_refresh_does(
    nightly_and_full: tuple[Path, Path],
) -> None:
    nightly, full = nightly_and_full
    con = duckdb.connect(str(nightly), read_only=True)
    try:
        marts = _tables(con, "audit", "BASE TABLE")
        incremental = _tables(con, "intermediate", "BASE TABLE")
    finally:
        con.close()
    assert {"fct_attribution", "fct_deals", "mart_channel_daily", "fct_funnel_events"} <= set(marts)
    assert "int_web__sessions" in incremental
    compared = {}
    for schema, tables in (("audit", marts), ("intermediate", incremental)):
        for table in tables:
            rows, only_nightly, only_full = _differences(nightly, full, schema, table)
            compared[f"{schema}.{table}"] = (only_nightly, only_full)
            assert rows > 0, f"{schema}.{table} is empty: nothing was compared"
    assert {k: v for k, v in compared.items() if v != (0, 0)} == {}


def test_late_events_reach_the_incremental_sessions(nightly_and_full: tuple[Path, Path]) -> None:
    nightly, _ = nightly_and_full
    con = duckdb.connect(str(nightly), read_only=True)
    try:
        late = con.execute(
            "select count(*) from intermediate.int_web__sessions"
            " where landing_page = 'https://late.example/'"
        ).fetchone()[0]
    finally:
        con.close()
    assert late == 1


def test_revenue_to_the_cent(nightly_and_full: tuple[Path, Path]) -> None:
    """The attributed revenue per model equals won + open revenue in both builds, equally."""
    totals = []
    for path in nightly_and_full:
        con = duckdb.connect(str(path), read_only=True)
        try:
            totals.append(
                con.execute(
                    "select attribution_model, sum(attributed_amount) from audit.fct_attribution"
                    " group by 1 order by 1"
                ).fetchall()
            )
        finally:
            con.close()
    assert totals[0] == totals[1]
    assert len(totals[0]) == 6 and len({amount for _, amount in totals[0]}) == 1
