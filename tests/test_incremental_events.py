"""The incremental int_web__events equals a full refresh of it, built from the same raw data.

Night 1 loads the GA4 export of 01-01..01-05 (9 events). Night 2 (incremental lookback 2
days: event days from 01-03 on are re-read) delivers a new day's session, a late page view
of a 01-03 session, an exact re-send of a 01-02 event and a correction of a 01-01 event
(same GA4 key, another page): only those and the lookback days' events are rebuilt, each
event stays one row, and a full refresh of a copy of the warehouse holds the same rows.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from smarketing.config import Settings
from smarketing.intervals import resolve_window
from smarketing.landing import land_source
from smarketing.sources.catalog import EntitySpec, entities_of
from smarketing.transform import run_dbt
from smarketing.warehouse.load import load_interval
from tests.table_diff import rows_only_in_each
from tests.test_marts_edge_cases import SITE, query, session, settings_in

pytestmark = pytest.mark.slow

SELECT = ("--select", "+int_web__events")  # the staging view, the model and its tests
U1 = session("u1", "2026-01-01 10:00", "google", "organic")
U2 = session("u2", "2026-01-02 09:00", "newsletter", "email", "nl1", form=True)
U3 = session("u3", "2026-01-03 08:00", None, None)
U4 = session("u4", "2026-01-05 12:00", "facebook", "paid_social", "prospecting")
U5 = session("u5", "2026-01-06 11:00", None, None)
LATE = {  # a third event of u3's session, delivered two days late
    **U3[1],
    "event_timestamp": U3[1]["event_timestamp"] + 300_000_000,
    "event_params": [
        *U3[1]["event_params"][:1],
        {"key": "page_location", "value": {"string_value": f"{SITE}/late"}},
    ],
}
CORRECTED = {  # u1's page view again, same GA4 key, another page
    **U1[1],
    "event_params": [
        *U1[1]["event_params"][:1],
        {"key": "page_location", "value": {"string_value": f"{SITE}/fixed"}},
    ],
}
NIGHTS = [[*U1, *U2, *U3, *U4], [*U5, LATE, U2[1], CORRECTED]]
COLUMNS = (
    "event_id, event_date, event_at, event_name, user_pseudo_id, user_id, ga_session_id,"
    " page_location, utm_source, utm_medium, utm_campaign, gclid, loaded_at"
)


class Export:
    """Delivers one night's GA4 export rows, as the GA4 connector would."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        yield from (dict(row) for row in self.rows)


def night(settings: Settings, rows: list[dict], day: str, end: str, extract: str) -> None:
    window = resolve_window(day, end, 0, extract)
    land_source(Export(rows), "ga4", window, settings.landing_dir)
    load_interval(settings.warehouse_path, settings.landing_dir, window, entities_of("ga4"))
    run_dbt(settings, "build", *SELECT)


def events(db: Path) -> dict[tuple, tuple]:
    """{(visitor, event time, name): (page, built_at)}"""
    rows = query(
        db,
        "select user_pseudo_id, strftime(event_at, '%m-%d %H:%M'), event_name,"
        " page_location, built_at from intermediate.int_web__events",
    )
    return {tuple(r[:3]): (r[3].removeprefix(SITE), r[4]) for r in rows}


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict, dict]]:
    settings = dataclasses.replace(
        settings_in(tmp_path_factory.mktemp("incremental_events")), incremental_lookback_days=2
    )
    night(settings, NIGHTS[0], "2026-01-05", "2026-01-06", "2026-01-01")
    first = events(settings.warehouse_path)
    night(settings, NIGHTS[1], "2026-01-06", "2026-01-07", "2026-01-06")
    yield settings.warehouse_path, first, events(settings.warehouse_path)


def test_a_nightly_rebuilds_the_reloaded_and_lookback_events_only(
    two_nights: tuple[Path, dict, dict],
) -> None:
    _, first, second = two_nights
    assert len(first) == 9
    assert len(second) == 12  # 2 new, 1 late; the re-sent and the corrected stay one row each
    assert second[("u3", "01-03 08:06", "page_view")][0] == "/late"
    assert (
        first[("u1", "01-01 10:01", "page_view")][0],
        second[("u1", "01-01 10:01", "page_view")][0],
    ) == ("/p1", "/fixed")
    kept = {key for key in first if second[key][1] == first[key][1]}
    # untouched: outside the lookback (01-03 on) and not re-delivered
    assert kept == {
        ("u1", "01-01 10:00", "session_start"),
        ("u2", "01-02 09:00", "session_start"),
        ("u2", "01-02 09:02", "generate_lead"),
    }


def test_the_incremental_events_equal_a_full_refresh(
    two_nights: tuple[Path, dict, dict], tmp_path: Path
) -> None:
    nightly, _, _ = two_nights
    copy = tmp_path / "warehouse" / nightly.name
    shutil.copytree(nightly.parent, copy.parent)
    settings = dataclasses.replace(
        settings_in(tmp_path), warehouse_path=copy, incremental_lookback_days=2
    )
    run_dbt(settings, "build", "--full-refresh", *SELECT)
    table = "intermediate.int_web__events"
    con = duckdb.connect(str(nightly), read_only=True)
    try:
        con.execute(f"attach '{copy}' as full_db (read_only)")
        differ = list(rows_only_in_each(con, table, f"full_db.{table}", COLUMNS))
        rows = con.execute(f"select count(*) from full_db.{table}").fetchone()[0]
    finally:
        con.close()
    assert (rows, differ) == (12, [0, 0])
