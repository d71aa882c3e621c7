"""Raw loading is idempotent, transactional, and a backfill equals one run over the range."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from smarketing import pipeline
from smarketing.config import Settings
from smarketing.sources.catalog import ENTITIES, SOURCES

RAW_COLUMNS = "record_id, record_date, updated_at, payload::varchar"


def run_interval(settings: Settings, day: date, extract_start: str | None = None) -> dict:
    start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
    for source in SOURCES:
        pipeline.extract(source, start, end, extract_start, settings=settings)
    return pipeline.load_raw(start, end, extract_start, settings=settings)


def raw_snapshot(settings: Settings) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return {
            spec.raw_table: con.execute(
                f"select {RAW_COLUMNS} from raw.{spec.raw_table} order by all"
            ).fetchall()
            for spec in ENTITIES
        }
    finally:
        con.close()


def test_rerunning_an_interval_never_duplicates(settings: Settings) -> None:
    first = run_interval(settings, date(2026, 1, 14), "2026-01-01")
    snap = raw_snapshot(settings)
    second = run_interval(settings, date(2026, 1, 14), "2026-01-01")
    assert first == second
    assert raw_snapshot(settings) == snap
    assert len(snap["ga4__events"]) == first["loaded"]["raw.ga4__events"]["loaded"] > 1000
    assert first["loaded"]["raw.ga4__events"]["quarantined"] == 0


def test_daily_backfill_equals_one_run_over_the_range(
    settings: Settings, tmp_path, monkeypatch
) -> None:
    day = date(2026, 1, 1)
    while day <= date(2026, 1, 14):
        run_interval(settings, day)  # nightly: interval + 2-day lookback
        day += timedelta(days=1)
    daily = raw_snapshot(settings)

    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "single"))
    from smarketing.config import load_settings

    single_settings = load_settings()
    single_settings.ensure_dirs()
    run_interval(single_settings, date(2026, 1, 14), "2026-01-01")
    single = raw_snapshot(single_settings)
    assert {k: len(v) for k, v in daily.items()} == {k: len(v) for k, v in single.items()}
    assert daily == single


def test_failed_load_leaves_raw_unchanged_and_names_what_is_missing(settings: Settings) -> None:
    run_interval(settings, date(2026, 1, 10), "2026-01-01")
    snap = raw_snapshot(settings)
    # the next interval landed everything but the web events
    for source in (s for s in SOURCES if s != "ga4"):
        pipeline.extract(source, "2026-01-11", "2026-01-12", settings=settings)
    with pytest.raises(FileNotFoundError, match=r"ga4/events/interval=2026-01-11"):
        pipeline.load_raw("2026-01-11", "2026-01-12", settings=settings)
    assert raw_snapshot(settings) == snap


def test_an_interval_with_no_crm_records_still_creates_every_crm_raw_table(
    settings: Settings,
) -> None:
    """Before the demo company's first day the CRM has nothing: the tables exist, empty."""
    from smarketing.sources.catalog import entities_of
    from smarketing.warehouse.load import load_interval

    out = pipeline.extract("hubspot", "2025-12-30", "2025-12-31", "2025-12-30", settings=settings)
    specs = entities_of("hubspot")
    assert {s.entity for s in specs} >= {"companies", "calls", "emails", "meetings"}
    assert all(v["landed"] == 0 for v in out["records"].values())
    window = pipeline.window_for("2025-12-30", "2025-12-31", "2025-12-30", settings)
    counts = load_interval(settings.warehouse_path, settings.landing_dir, window, specs)
    assert [(c.table, c.loaded) for c in counts] == [(f"raw.{s.raw_table}", 0) for s in specs]
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        for spec in specs:
            assert con.execute(f"select count(*) from raw.{spec.raw_table}").fetchone() == (0,)
    finally:
        con.close()
    # the next interval fills the new tables
    pipeline.extract("hubspot", "2026-01-14", "2026-01-15", "2026-01-01", settings=settings)
    window = pipeline.window_for("2026-01-14", "2026-01-15", "2026-01-01", settings)
    counts = load_interval(settings.warehouse_path, settings.landing_dir, window, specs)
    loaded = {c.table: c.loaded for c in counts}
    for entity in ("companies", "calls", "emails", "meetings"):
        assert loaded[f"raw.hubspot__{entity}"] > 0


def test_load_raw_runs_under_the_memory_limit_setting_and_loads_the_same_rows(
    settings: Settings, tmp_path, monkeypatch
) -> None:
    """SMARKETING_DUCKDB_MEMORY_LIMIT reaches load_raw's DuckDB connection; a tight limit
    (DuckDB spills instead of growing) loads exactly what the default does."""
    from smarketing.config import load_settings
    from smarketing.warehouse import load

    run_interval(settings, date(2026, 1, 14), "2026-01-01")
    roomy = raw_snapshot(settings)

    seen: list[str] = []
    real_connect = load.connect

    def spying_connect(path, read_only=False, memory_limit=None):
        con = real_connect(path, read_only=read_only, memory_limit=memory_limit)
        seen.append(con.execute("select current_setting('memory_limit')").fetchone()[0])
        return con

    monkeypatch.setattr(load, "connect", spying_connect)
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "tight"))
    monkeypatch.setenv("SMARKETING_DUCKDB_MEMORY_LIMIT", "128MB")
    tight_settings = load_settings()
    tight_settings.ensure_dirs()
    assert tight_settings.duckdb_memory_limit == "128MB"
    run_interval(tight_settings, date(2026, 1, 14), "2026-01-01")
    # DuckDB reports the limit in MiB: 128 MB = 122.0 MiB (DuckDB's JSON reader alone takes
    # 32 MiB buffers, so a limit much lower than this fails with DuckDB's out-of-memory error)
    assert seen == ["122.0 MiB"]
    assert raw_snapshot(tight_settings) == roomy


def test_a_memory_limit_that_is_not_a_size_is_refused_by_name(monkeypatch) -> None:
    from smarketing.config import load_settings

    monkeypatch.setenv("SMARKETING_DUCKDB_MEMORY_LIMIT", "3 gigs")
    with pytest.raises(
        ValueError, match=r"SMARKETING_DUCKDB_MEMORY_LIMIT='3 gigs' is not a memory size"
    ):
        load_settings()
    monkeypatch.setenv("SMARKETING_DUCKDB_MEMORY_LIMIT", "512 MiB")
    assert load_settings().duckdb_memory_limit == "512MiB"


def test_a_memory_limit_too_low_for_the_load_names_the_setting_and_leaves_raw_unchanged(
    settings: Settings, monkeypatch
) -> None:
    """DuckDB's own out-of-memory error says `SET memory_limit`; the load says which setting
    to raise, which file it was loading, and rolls back: raw is as it was."""
    from smarketing.config import load_settings
    from smarketing.warehouse.load import LoadOutOfMemory

    run_interval(settings, date(2026, 1, 13), "2026-01-01")
    before = raw_snapshot(settings)
    # DuckDB's JSON reader alone takes a 32 MiB buffer: 20MB cannot load any landed file
    monkeypatch.setenv("SMARKETING_DUCKDB_MEMORY_LIMIT", "20MB")
    tight = load_settings()
    for source in SOURCES:
        pipeline.extract(source, "2026-01-14", "2026-01-15", settings=tight)
    with pytest.raises(LoadOutOfMemory) as raised:
        pipeline.load_raw("2026-01-14", "2026-01-15", settings=tight)
    message = str(raised.value)
    assert "interval=2026-01-14" in message
    assert "SMARKETING_DUCKDB_MEMORY_LIMIT=20MB" in message
    assert "(hubspot/contacts)" in message  # the first entity it loads: where it stopped
    assert raw_snapshot(settings) == before
