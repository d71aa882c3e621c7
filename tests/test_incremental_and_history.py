"""Two nights on the hand-built company: incremental sessions and the deal history.

Night 1 loads January. Night 2 is a one-day run (incremental lookback 0 days) that also
re-extracts from 2026-01-03, a backfill: GA4 re-delivers 01-03 and 01-04, the anonymous
visitor's session of 01-03 with a late page view; a new visitor arrives on 02-01; the CRM
corrects the amount of the won deal 901. Sessions are re-built because their events were
re-loaded, not because of their date; the raw schema keeps only the deal's current state,
the snapshot keeps both versions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from smarketing.config import Settings
from smarketing.intervals import resolve_window
from smarketing.landing import land_source
from smarketing.sources.catalog import SOURCES, EntitySpec
from smarketing.transform import run_dbt
from smarketing.warehouse.load import load_interval
from tests.test_marts_edge_cases import (
    COMPANY,
    HandBuiltReader,
    deal,
    query,
    session,
    settings_in,
)

pytestmark = pytest.mark.slow

LATE_EVENT = {
    **session("u2", "2026-01-03 09:00", "facebook", "paid_social", "prospecting")[1],
    "event_timestamp": int(datetime.fromisoformat("2026-01-03 09:30+00:00").timestamp() * 1e6),
}
NIGHT_2: dict[tuple[str, str], list[dict]] = {
    ("ga4", "events"): [
        *session("u2", "2026-01-03 09:00", "facebook", "paid_social", "prospecting"),
        LATE_EVENT,
        *session("u3", "2026-01-04 09:00", "google", "organic", form=True),
        *session("u4", "2026-02-01 11:00", None, None),
    ],
    # window entities re-deliver every record of the re-extracted days
    ("mailchimp", "email_activity"): COMPANY[("mailchimp", "email_activity")],
    ("hubspot", "deals"): [
        {
            **deal(
                "901",
                ["102", "101"],
                "1200.00",
                "USD",
                "2026-01-10 00:00",
                "closedwon",
                "2026-01-20 00:00",
            ),
            "updatedAt": "2026-02-01T08:00:00.000Z",
        }
    ],
}


class NightTwoReader:
    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        yield from NIGHT_2.get((spec.source, spec.entity), [])


def night(settings: Settings, reader: object, start: str, end: str, extract: str) -> None:
    window = resolve_window(start, end, 0, extract)
    for source in SOURCES:
        land_source(reader, source, window, settings.landing_dir)
    load_interval(settings.warehouse_path, settings.landing_dir, window)
    run_dbt(settings, "build")


def sessions(path: Path) -> dict[str, tuple]:
    rows = query(
        path,
        "select user_pseudo_id || '@' || strftime(session_date, '%m-%d'), built_at,"
        " page_views from intermediate.int_web__sessions",
    )
    return {key: (built, views) for key, built, views in rows}


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict, dict]]:
    settings = settings_in(tmp_path_factory.mktemp("two_nights"))
    night(settings, HandBuiltReader(), "2026-01-31", "2026-02-01", "2025-09-01")
    first = sessions(settings.warehouse_path)
    one_day = dataclasses.replace(settings, incremental_lookback_days=0)
    night(one_day, NightTwoReader(), "2026-02-01", "2026-02-02", "2026-01-03")
    yield settings.warehouse_path, first, sessions(settings.warehouse_path)


def test_a_nightly_run_rebuilds_only_the_sessions_it_touched(
    two_nights: tuple[Path, dict, dict],
) -> None:
    _, first, second = two_nights
    assert sorted(first) == ["u1@01-02", "u1@10-01", "u2@01-03", "u3@01-04"]
    assert sorted(second) == [*sorted(first), "u4@02-01"]
    # sessions of days that were not re-loaded keep the row built on night 1
    for key in ("u1@10-01", "u1@01-02"):
        assert second[key] == first[key], key
    # re-loaded days are re-sessionised from all their events, the late one included
    assert second["u3@01-04"][0] > first["u3@01-04"][0]
    assert second["u2@01-03"][0] > first["u2@01-03"][0]
    assert (first["u2@01-03"][1], second["u2@01-03"][1]) == (1, 2)


def test_the_deal_snapshot_keeps_the_history_raw_forgets(
    two_nights: tuple[Path, dict, dict],
) -> None:
    db, _, _ = two_nights
    history = query(
        db,
        "select amount, deal_stage, dbt_valid_to is null from snapshots.snap_hubspot__deals"
        " where deal_id = '901' order by dbt_valid_from",
    )
    raw = query(
        db,
        "select payload ->> '$.properties.amount' from raw.hubspot__deals where record_id = '901'",
    )
    published = query(db, "select amount_reporting from audit.fct_deals where deal_id = '901'")
    assert raw == [("1200.00",)]
    assert history == [
        (Decimal("1000.00"), "closedwon", False),
        (Decimal("1200.00"), "closedwon", True),
    ]
    assert published == [(Decimal("1200.00"),)]


def test_a_full_refresh_rebuilds_history_but_keeps_the_snapshot(
    two_nights: tuple[Path, dict, dict],
) -> None:
    """The DAG param full_refresh: incremental models from all raw data; dbt never
    full-refreshes a snapshot, so the deal history survives. (Runs last: it rebuilds.)"""
    from smarketing import pipeline

    db, _, second = two_nights
    settings = settings_in(db.parents[2])
    assert settings.warehouse_path == db
    pipeline.transform(settings, full_refresh=True)
    third = sessions(db)
    assert sorted(third) == sorted(second)
    assert all(third[key][0] > second[key][0] for key in third)
    history = query(db, "select count(*) from snapshots.snap_hubspot__deals where deal_id = '901'")
    assert history == [(2,)]
