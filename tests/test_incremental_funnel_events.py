"""The incremental fct_funnel_events equals a full refresh of it, built from the same raw data.

Night 1 (window to 01-10) loads five GA4 visitors and three CRM contacts: Ann (101, GA id
u2), Ben (102, no GA id, an SQL) and Cat (103, GA id u4); u1, u3 and u5 stay anonymous.
Night 2 (01-11) sends what changed in the CRM and a late GA4 export:

* u1 becomes a lead: a new contact Dan (104) with GA id u1. u1's visitor row must disappear
  (its person_id was the visitor key, now it is 104), though u1's sessions did not change;
* Ben is recycled: back to `lead`, the CRM clears his SQL date and back-dates his MQL;
* Cat is deleted (merged into another contact: HubSpot archives her): her rows go, and her
  visitor u4, no longer any lead's, is anonymous again with its old first visit;
* a late session of u3 on 01-01, before its first known visit, from LinkedIn;
* a new anonymous visitor u6 on 01-11.

u1's and u4's sessions (01-02) lie before the incremental lookback, so nothing but the
leads' GA ids tells that their rows changed. A copy of the warehouse after night 2 is
rebuilt with ``--full-refresh``: both hold the same rows (EXCEPT ALL both ways), and the
nightly table the values worked out here. Night 3 delivers nothing: a stored row of an
unchanged visitor, overwritten before it, is not read again; a lead's is (see the last test).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from smarketing.intervals import resolve_window
from smarketing.landing import land_source
from smarketing.sources.catalog import SOURCES, EntitySpec
from smarketing.transform import run_dbt
from smarketing.warehouse.load import load_interval
from tests.table_diff import rows_only_in_each
from tests.test_marts_edge_cases import contact, iso, person_key, session, settings_in, ts

pytestmark = pytest.mark.slow

# the model, everything it reads and the tests of nothing else
SELECT = ("--select", "+fct_funnel_events", "--indirect-selection", "cautious")
TABLE = "audit.fct_funnel_events"
COLUMNS = (
    "funnel_event_id, person_id, lead_id, person_key, is_anonymous, stage, stage_number,"
    " stage_at, channel, campaign, owner_id"
)


def changed(record: dict, at: str, **properties: str | None) -> dict:
    """The contact as the CRM sends it after a change at ``at`` (newest updatedAt wins)."""
    record = json.loads(json.dumps(record))
    record["properties"].update(properties, lastmodifieddate=iso(ts(at)))
    record["updatedAt"] = iso(ts(at))
    return record


ANN = contact(
    "101",
    "ann@initech.example",
    "2026-01-03 09:05",
    "501",
    "marketingqualifiedlead",
    ga="u2",
    lead="2026-01-03 09:05",
    marketingqualifiedlead="2026-01-04 10:00",
)
BEN = contact(
    "102",
    "ben@globex.example",
    "2026-01-05 08:00",
    "502",
    "salesqualifiedlead",
    lead="2026-01-05 08:00",
    marketingqualifiedlead="2026-01-06 12:00",
    salesqualifiedlead="2026-01-08 09:00",
)
CAT = contact(
    "103",
    "cat@umbrella.example",
    "2026-01-02 11:05",
    "501",
    "lead",
    ga="u4",
    lead="2026-01-02 11:05",
)
DAN = contact("104", "dan@hooli.example", "2026-01-11 10:00", "502", "lead", ga="u1")
BEN_RECYCLED = changed(
    BEN,
    "2026-01-11 09:00",
    lifecyclestage="lead",
    hs_lifecyclestage_salesqualifiedlead_date=None,
    hs_lifecyclestage_marketingqualifiedlead_date=iso(ts("2026-01-05 18:00")),
)
CAT_MERGED = {**changed(CAT, "2026-01-11 09:30"), "archived": True}

NIGHTS: list[dict[tuple[str, str], list[dict]]] = [
    {
        ("ga4", "events"): [
            *session("u1", "2026-01-02 10:00", "google", "organic"),
            *session("u2", "2026-01-03 09:00", "newsletter", "email", "nl1", form=True),
            *session("u3", "2026-01-04 09:00", "facebook", "paid_social", "prospecting"),
            *session("u4", "2026-01-02 11:00", "partner-blog.com", "referral", form=True),
            *session("u5", "2026-01-06 15:00", None, None),
        ],
        ("hubspot", "contacts"): [ANN, BEN, CAT],
    },
    {
        ("ga4", "events"): [
            *session("u3", "2026-01-01 08:00", "linkedin", "paid_social", "abm"),
            *session("u6", "2026-01-11 07:00", "google", "organic"),
        ],
        ("hubspot", "contacts"): [BEN_RECYCLED, CAT_MERGED, DAN],
    },
    {},
]
WINDOWS = [
    ("2026-01-10", "2026-01-11", "2025-12-01"),
    ("2026-01-11", "2026-01-12", "2026-01-11"),
    ("2026-01-12", "2026-01-13", "2026-01-12"),
]


class Night:
    """Serves one night's records as the vendor connectors would (nothing else changed)."""

    def __init__(self, records: dict[tuple[str, str], list[dict]]) -> None:
        self.records = records

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        yield from json.loads(json.dumps(self.records.get((spec.source, spec.entity), [])))


def visitor(pseudo: str) -> str:
    """The person_id (and person_key) of an anonymous GA4 visitor."""
    return "visitor:" + person_key(pseudo)


def funnel(db: Path) -> dict[tuple[str, str], tuple]:
    """{(person_id, stage): (stage_at, channel, campaign, is_anonymous)}"""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "select person_id, stage, strftime(stage_at, '%m-%d %H:%M'), channel, campaign,"
            f" is_anonymous from {TABLE}"
        ).fetchall()
    finally:
        con.close()
    return {(r[0], r[1]): r[2:] for r in rows}


def tamper(db: Path, person_id: str) -> None:
    """Overwrite a stored row's campaign: only a run that recomputes the person repairs it."""
    con = duckdb.connect(str(db))
    try:
        con.execute(f"update {TABLE} set campaign = 'tampered' where person_id = ?", [person_id])
    finally:
        con.close()


def state(db: Path) -> list[str]:
    """The leads' GA client ids the table reflects (kept for the next incremental run)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "select lead_ga_client_ids from intermediate.fct_funnel_events__state"
        ).fetchone()[0]
    finally:
        con.close()


def full_refresh_differences(nightly: Path, copy_dir: Path) -> tuple[int, int, int]:
    """Rebuild a copy of the warehouse with --full-refresh: (rows, only nightly, only full)."""
    copy = copy_dir / "warehouse" / nightly.name
    shutil.copytree(nightly.parent, copy.parent)
    run_dbt(
        dataclasses.replace(settings_in(copy_dir), warehouse_path=copy),
        "build",
        "--full-refresh",
        *SELECT,
    )
    con = duckdb.connect(str(nightly), read_only=True)
    try:
        con.execute(f"attach '{copy}' as full_db (read_only)")
        only = rows_only_in_each(con, TABLE, f"full_db.{TABLE}", COLUMNS)
        rows = con.execute(f"select count(*) from full_db.{TABLE}").fetchone()[0]
    finally:
        con.close()
    return rows, only[0], only[1]


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict]]:
    """Each night's funnel, rows written, and a full refresh's differences from it."""
    base = tmp_path_factory.mktemp("incremental_funnel")
    settings = settings_in(base / "nightly")
    seen = []
    for number, (records, (day, end, extract)) in enumerate(zip(NIGHTS, WINDOWS, strict=True)):
        window = resolve_window(day, end, 0, extract)
        for source in SOURCES:
            land_source(Night(records), source, window, settings.landing_dir)
        load_interval(settings.warehouse_path, settings.landing_dir, window)
        if number == 2:
            # night 3 has no new data: an unchanged visitor is left as stored, every lead is
            # compared again (the CRM's leads carry no change marker)
            tamper(settings.warehouse_path, visitor("u5"))
            tamper(settings.warehouse_path, "101")
        run_dbt(settings, "build", *SELECT)
        seen.append(
            {
                "funnel": funnel(settings.warehouse_path),
                "lead_ga_client_ids": state(settings.warehouse_path),
                "full": full_refresh_differences(settings.warehouse_path, base / f"full{number}")
                if number == 1
                else None,
            }
        )
    yield seen


def person(night: dict, person_id: str) -> dict[str, tuple]:
    """{stage: (stage_at, channel, campaign, is_anonymous)} of one person on one night."""
    return {stage: row for (pid, stage), row in night["funnel"].items() if pid == person_id}


def test_a_visitor_who_becomes_a_lead_leaves_the_anonymous(nights: list[dict]) -> None:
    first, second = nights[0], nights[1]
    assert person(first, visitor("u1")) == {
        "visitor": ("01-02 10:00", "organic_search", None, True)
    }
    assert person(second, visitor("u1")) == {}
    assert person(second, "104") == {
        "visitor": ("01-02 10:00", "organic_search", None, False),
        "lead": ("01-11 10:00", "organic_search", None, False),
    }


def test_a_recycled_lead_moves_back(nights: list[dict]) -> None:
    assert person(nights[0], "102") == {
        "lead": ("01-05 08:00", "offline", None, False),
        "mql": ("01-06 12:00", "offline", None, False),
        "sal": ("01-08 09:00", "offline", None, False),
        "sql": ("01-08 09:00", "offline", None, False),
    }
    assert person(nights[1], "102") == {
        "lead": ("01-05 08:00", "offline", None, False),
        "mql": ("01-05 18:00", "offline", None, False),
    }


def test_a_deleted_lead_goes_and_its_visitor_is_anonymous_again(nights: list[dict]) -> None:
    first, second = nights[0], nights[1]
    assert person(first, "103") == {
        "visitor": ("01-02 11:00", "referral", None, False),
        "lead": ("01-02 11:05", "referral", None, False),
    }
    assert person(first, visitor("u4")) == {}
    assert person(second, "103") == {}
    # its sessions (before the lookback) were not rebuilt: the visitor is found by its GA
    # id leaving the leads'
    assert person(second, visitor("u4")) == {"visitor": ("01-02 11:00", "referral", None, True)}
    assert (first["lead_ga_client_ids"], second["lead_ga_client_ids"]) == (
        ["u2", "u4"],
        ["u1", "u2"],
    )


def test_a_late_earlier_session_and_a_new_visitor(nights: list[dict]) -> None:
    first, second = nights[0], nights[1]
    assert person(first, visitor("u3")) == {
        "visitor": ("01-04 09:00", "paid_social", "prospecting", True)
    }
    assert person(second, visitor("u3")) == {"visitor": ("01-01 08:00", "paid_social", "abm", True)}
    assert person(second, visitor("u6")) == {
        "visitor": ("01-11 07:00", "organic_search", None, True)
    }
    assert len(first["funnel"]) == 12 and len(second["funnel"]) == 11


def test_the_nightly_table_equals_a_full_refresh(nights: list[dict]) -> None:
    assert nights[1]["full"] == (11, 0, 0)


def test_a_night_without_changes_compares_the_leads_only(nights: list[dict]) -> None:
    """Before night 3 an unchanged visitor's and a lead's stored campaigns were overwritten:
    the lead is recomputed and repaired, the visitor is not read again."""
    second, third = nights[1], nights[2]
    repaired = {**second["funnel"]}
    key = (visitor("u5"), "visitor")
    repaired[key] = (*repaired[key][:2], "tampered", repaired[key][3])
    assert third["funnel"] == repaired
    assert third["lead_ga_client_ids"] == ["u1", "u2"]
