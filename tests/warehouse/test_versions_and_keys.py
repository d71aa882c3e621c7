"""Raw resolves "current" by modification time and natural key, never by load order.

Each test lands hand-made deliveries through the real landing code and loads them with the
real loader, in the order an Airflow clear or a backfill would, and checks what dbt reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from smarketing.intervals import DataWindow, resolve_window
from smarketing.landing import QUARANTINE_FILE, land_entity
from smarketing.sources.catalog import ENTITIES, EntitySpec, type_problem
from smarketing.warehouse.load import ConflictingVersions, load_interval

SPECS = {s.raw_table: s for s in ENTITIES}
DEALS, ACTIVITY, META, EVENTS = (
    SPECS["hubspot__deals"],
    SPECS["mailchimp__email_activity"],
    SPECS["meta_ads__insights"],
    SPECS["ga4__events"],
)
DAY_13 = resolve_window("2026-02-13", "2026-02-14", 2)
DAY_14 = resolve_window("2026-02-14", "2026-02-15", 2)


class ListReader:
    def __init__(self, records: list[dict]):
        self.records = records

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        yield from self.records


def deal(i: int, amount: str, updated: str, stage: str = "closedwon") -> dict:
    props = {
        "amount": amount,
        "dealstage": stage,
        "createdate": "2026-01-02T00:00:00Z",
        "closedate": "2026-02-10T00:00:00Z",
    }
    return {"id": str(i), "updatedAt": updated, "properties": props}


def activity(email: str, ts: str, action: str = "open") -> dict:
    return {"campaign_id": "c1", "email_address": email, "action": action, "timestamp": ts}


def meta(campaign: str, day: str, spend: str, clicks: object = 3) -> dict:
    return {
        "account_id": "987654",
        "campaign_id": campaign,
        "date_start": day,
        "spend": spend,
        "clicks": clicks,
        "account_currency": "USD",
    }


def deliver(tmp: Path, spec: EntitySpec, window: DataWindow, rows: list[dict], share=0.0):
    """Land ``rows`` for the window (replacing an earlier landing) and load them into raw."""
    land_entity(ListReader(rows), spec, window, tmp / "landing", share)
    return load(tmp, spec, window)


def load(tmp: Path, spec: EntitySpec, window: DataWindow):
    return load_interval(tmp / "wh.duckdb", tmp / "landing", window, (spec,))[0]


def raw(tmp: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_an_older_interval_loaded_after_a_newer_one_never_reverts_a_deal(tmp_path: Path) -> None:
    # night of the 13th: deal 1 was worth 1000; night of the 14th: corrected to 1200
    deliver(tmp_path / "a", DEALS, DAY_13, [deal(1, "1000.00", "2026-02-13T10:00:00Z")])
    deliver(tmp_path / "a", DEALS, DAY_14, [deal(1, "1200.00", "2026-02-14T09:00:00Z")])
    # an Airflow clear of the 13th's load_raw re-loads its (older) landing
    load(tmp_path / "a", DEALS, DAY_13)
    current = "select record_id, payload ->> '$.properties.amount' from raw.hubspot__deals"
    assert raw(tmp_path / "a", current) == [("1", "1200.00")]
    # every version received is kept, once each, however often it is re-loaded
    versions = raw(
        tmp_path / "a",
        "select payload ->> '$.properties.amount', _interval from raw.hubspot__deals__versions"
        " order by updated_at",
    )
    assert versions == [("1000.00", "2026-02-13"), ("1200.00", "2026-02-14")]
    # the other order gives the same current state
    deliver(tmp_path / "b", DEALS, DAY_14, [deal(1, "1200.00", "2026-02-14T09:00:00Z")])
    deliver(tmp_path / "b", DEALS, DAY_13, [deal(1, "1000.00", "2026-02-13T10:00:00Z")])
    assert raw(tmp_path / "b", current) == [("1", "1200.00")]


def test_one_delivery_with_two_contents_for_one_version_stops_naming_the_record(
    tmp_path: Path,
) -> None:
    rows = [deal(7, "10.00", "2026-02-14T09:00:00Z"), deal(7, "1.00", "2026-02-14T09:00:00Z")]
    with pytest.raises(ConflictingVersions, match=r"entity=deals interval=2026-02-14: .*id=7"):
        deliver(tmp_path, DEALS, DAY_14, rows)
    # the same content twice (a repeated page) is one version, counted as a duplicate
    count = deliver(tmp_path, DEALS, DAY_14, [rows[0], rows[0]])
    assert (count.loaded, count.duplicates) == (2, 1)
    assert raw(tmp_path, "select count(*) from raw.hubspot__deals") == [(1,)]


def test_late_e_mail_activity_survives_a_later_window_that_does_not_deliver_it(
    tmp_path: Path,
) -> None:
    early = activity("a@example.com", "2026-02-12T08:00:00Z")
    deliver(tmp_path, ACTIVITY, DAY_13, [early, activity("b@example.com", "2026-02-13T08:00:00Z")])
    # the next night's window (02-12..02-14) no longer reads that campaign's activity
    deliver(tmp_path, ACTIVITY, DAY_14, [activity("c@example.com", "2026-02-14T08:00:00Z")])
    emails = "select payload ->> '$.email_address' from raw.mailchimp__email_activity order by 1"
    assert raw(tmp_path, emails) == [("a@example.com",), ("b@example.com",), ("c@example.com",)]
    # delivered again (a re-run, a Mailchimp page repeated): still once
    deliver(tmp_path, ACTIVITY, DAY_14, [early, early])
    assert len(raw(tmp_path, emails)) == 3


def test_ad_rows_sent_twice_count_once_and_the_latest_delivery_wins(tmp_path: Path) -> None:
    rows = [meta("m1", "2026-02-14", "50.00"), meta("m1", "2026-02-14", "55.00")]
    count = deliver(tmp_path, META, DAY_14, [meta("m2", "2026-02-13", "7.00"), *rows])
    assert count.duplicates == 1
    spend = "select sum(cast(payload ->> '$.spend' as decimal(18, 2))) from raw.meta_ads__insights"
    assert raw(tmp_path, spend) == [(Decimal("62.00"),)]  # 7 + the later row's 55
    loads = "select duplicates from raw._loads where raw_table = 'meta_ads__insights'"
    assert raw(tmp_path, loads) == [(1,)]


def test_a_restated_day_holds_the_latest_delivery_whatever_the_load_order(
    tmp_path: Path,
) -> None:
    # the 13th's night saw 40.00 for the 13th; the 14th's night (lookback) a restated 45.00
    deliver(tmp_path, META, DAY_13, [meta("m1", "2026-02-13", "40.00")])
    deliver(tmp_path, META, DAY_14, [meta("m1", "2026-02-13", "45.00")])
    load(tmp_path, META, DAY_13)  # older landing re-loaded
    spend = "select payload ->> '$.spend' from raw.meta_ads__insights"
    assert raw(tmp_path, spend) == [("45.00",)]


def test_ga4_events_belong_to_their_event_date_and_re_runs_converge(tmp_path: Path) -> None:
    def event(day: str, ts: int, user: str = "u1") -> dict:
        return {
            "event_date": day,
            "event_timestamp": ts,
            "event_name": "page_view",
            "user_pseudo_id": user,
        }

    old = event("20260205", 1770278400000000)  # 2026-02-05, loaded long ago
    deliver(tmp_path, EVENTS, resolve_window("2026-02-05", "2026-02-06", 0), [old])
    # the file of the 14th carries the 5th's event again, plus its own
    today = [old, event("20260214", 1771056000000000, "u2")]
    for _ in range(2):
        deliver(tmp_path, EVENTS, DAY_14, today)
        rows = raw(
            tmp_path,
            "select record_date, count(*) from raw.ga4__events group by 1 order by 1",
        )
        assert rows == [(date(2026, 2, 5), 1), (date(2026, 2, 14), 1)]


def test_quarantined_money_is_counted_and_valued(tmp_path: Path) -> None:
    rows = [meta("m1", "2026-02-14", "250.00", clicks="n/a"), meta("m2", "2026-02-14", "9.00")]
    count = deliver(tmp_path, META, DAY_14, rows, share=1.0)
    assert (count.extracted, count.loaded, count.quarantined) == (2, 1, 1)
    assert count.quarantined_value == Decimal("250.00")
    bad = [deal(1, "1.200,00", "2026-02-14T09:00:00Z"), deal(2, "30.00", "2026-02-14T09:00:00Z")]
    count = deliver(tmp_path, DEALS, DAY_14, bad, share=1.0)
    assert (count.quarantined, count.quarantined_value) == (1, Decimal(0))  # value unreadable


def test_impossible_dates_are_quarantined_with_their_reason(tmp_path: Path) -> None:
    run_time = datetime(2026, 2, 15, 3, 0, tzinfo=UTC)
    rows = [
        deal(1, "10.00", "2026-02-14T09:00:00Z"),
        {**deal(2, "10.00", "2026-02-14T09:00:00Z"), "updatedAt": "1900-01-01T00:00:00Z"},
        {**deal(3, "10.00", "2099-01-01T00:00:00Z")},
    ]
    # an open deal's expected close date may lie ahead: not quarantined
    rows[0]["properties"]["closedate"] = "2026-06-30T00:00:00Z"
    landed = land_entity(ListReader(rows), DEALS, DAY_14, tmp_path, 1.0, run_time=run_time)
    assert (landed.records, landed.quarantined) == (1, 2)
    reasons = [json.loads(x) for x in (landed.path / QUARANTINE_FILE).read_text().splitlines()]
    assert [(r["record"], r["field"], r["reason"]) for r in reasons] == [
        ("id=2", "updatedAt", "date before the floor 2000-01-01: '1900-01-01T00:00:00Z'"),
        (
            "id=3",
            "updatedAt",
            "date after the run time 2026-02-15T03:00:00+00:00: '2099-01-01T00:00:00Z'",
        ),
    ]


def test_type_problem_bounds_every_date_kind() -> None:
    floor, latest = date(2000, 1, 1), datetime(2026, 2, 15, tzinfo=UTC)
    assert type_problem("yyyymmdd", "19000101", floor, latest) is not None
    assert type_problem("date", "2030-01-01", floor, latest) is not None
    assert type_problem("date", "2026-02-14", floor, latest) is None
    assert type_problem("timestamp", "2026-02-15T00:00:01Z", floor, latest) is not None
    assert type_problem("timestamp", "1999-12-31T23:59:59Z", None, latest) is None


def test_a_data_folder_with_a_quote_in_its_path_loads(tmp_path: Path) -> None:
    home = tmp_path / "Q3 'final' \"data\""
    rows = [meta("m1", "2026-02-14", "50.00"), meta("m2", "2026-02-14", "50.00", clicks="x")]
    count = deliver(home, META, DAY_14, rows, share=1.0)
    assert (count.loaded, count.quarantined, count.quarantined_value) == (1, 1, Decimal("50"))
    assert raw(home, "select count(*) from raw.meta_ads__insights") == [(1,)]


def test_gate_checks_name_quarantined_money_and_reconcile_the_counts(tmp_path: Path) -> None:
    from smarketing.quality.quarantine import quarantine_checks

    rows = [meta("m1", "2026-02-14", "250.00", clicks="n/a"), meta("m2", "2026-02-14", "9.00")]
    deliver(tmp_path, META, DAY_14, rows, share=1.0)
    won = [deal(5, "900.00", "2099-01-01T00:00:00Z"), deal(6, "5.00", "2026-02-14T09:00:00Z")]
    deliver(tmp_path, DEALS, DAY_14, won, share=1.0)
    checks = quarantine_checks(
        tmp_path / "wh.duckdb", tmp_path / "landing", DAY_14, 100.0, (DEALS, META)
    )
    by_name = {c.check: c for c in checks}
    deals = by_name["hubspot.deals: no won deal is quarantined"]
    assert not deals.success and deals.observed.startswith("1 quarantined, value 900.00; won: id=5")
    spend = by_name["meta_ads.insights: quarantined spend at most 100"]
    assert (
        not spend.success and "campaign_id=m1 date_start=2026-02-14 field=clicks" in spend.observed
    )
    assert "value 250.00" in spend.observed
    recon = by_name["extracted = loaded + quarantined for every entity"]
    assert recon.success and recon.observed == "2 entities reconcile"
    # a loaded count that no longer matches the landing is caught
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("update raw._loads set loaded = loaded - 1 where raw_table = 'hubspot__deals'")
    con.close()
    checks = quarantine_checks(
        tmp_path / "wh.duckdb", tmp_path / "landing", DAY_14, 100.0, (DEALS, META)
    )
    recon = next(c for c in checks if c.check.startswith("extracted"))
    assert not recon.success and recon.observed.startswith("hubspot/deals: extracted 2 (landing)")
