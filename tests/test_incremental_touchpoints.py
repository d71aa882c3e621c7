"""The incremental int_touchpoints equals a full refresh, night after night, when people change.

A hand-built company run through the real steps (landing -> raw -> dbt build of
int_touchpoints and everything it reads), three nights, incremental lookback 0 days:

* Night 1 (January 1-5): visitors u1 (two sessions, anonymous), u2 (Ann's, contact 101),
  u3 (two sessions, anonymous) and u4 (anonymous); newsletter clicks by Ann, by Carl and by
  Dora (contact 103, dora@) and by an unknown Zed; a call to Ann, a meeting with Ben (102)
  and a sales e-mail to Dora.
* Night 2: u1 fills in the form and becomes Cat (contact 104): her two earlier sessions of
  days 1-2 become hers; Eve (105) is created with Ann's GA client id (two contacts share a
  visitor); contact 103 changes e-mail from dora@ to carl@ (Carl's click becomes hers,
  Dora's becomes anonymous); the newsletter is renamed; the call moves from Ann to Ben; GA4
  re-delivers u3's second session with the first session's id (the two sessions merge: one
  session and one touch less).
* Night 3: Ann is archived (deleted in the CRM), so is the meeting; Cat's GA client id
  changes from u1 to u4 (u1's touches become anonymous again, u4's become hers).

After each night a copy of the warehouse is rebuilt with ``--full-refresh``: its
int_touchpoints (and the sessions and visitors it reads) hold the same rows, compared with
EXCEPT both ways; the touches are the ones worked out by hand, and a touch whose sources did
not change keeps the row built on night 1.
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
from smarketing.sources.catalog import SOURCES, EntitySpec
from smarketing.transform import DbtBuildFailed, run_dbt
from smarketing.warehouse.load import load_interval
from tests.table_diff import rows_only_in_each
from tests.test_marts_edge_cases import (
    click,
    contact,
    engagement,
    iso,
    person_key,
    query,
    session,
    settings_in,
    ts,
)

pytestmark = pytest.mark.slow

# the model, everything it reads and the tests of those alone
SELECT = ("--select", "+int_touchpoints", "--indirect-selection", "cautious")
# the incremental tables compared with the full refresh, less their build-time columns
COMPARED = {
    "int_touchpoints": "built_at, source_changed_at",
    "int_web__sessions": "built_at",
    "int_web__visitors": "sessions_built_at",
}

U3_FIRST = session("u3", "2026-01-03 08:00", "google", "organic")
U3_SECOND = session("u3", "2026-01-04 09:00", "partner.example", "referral")
# GA4 re-delivers the second session's events (same keys) with the first session's id
U3_MERGED = [
    {**event, "event_params": [U3_FIRST[0]["event_params"][0], *event["event_params"][1:]]}
    for event in U3_SECOND
]


def campaign(title: str) -> dict:
    return {
        "id": "nl1",
        "type": "regular",
        "status": "sent",
        "create_time": "2026-01-02T15:00:00.000Z",
        "send_time": "2026-01-03T08:00:00.000Z",
        "settings": {"title": title, "subject_line": "Hi"},
        "recipients": {"list_id": "l1"},
    }


def changed(record: dict, at: str, **properties: object) -> dict:
    """A CRM record as HubSpot sends it after a change at ``at``."""
    props = {**record["properties"], **properties, "lastmodifieddate": iso(ts(at))}
    return {**record, "properties": props, "updatedAt": iso(ts(at))}


ANN = contact("101", "ann@initech.example", "2026-01-02 09:05", "501", "lead", ga="u2")
BEN = contact("102", "ben@initech.example", "2026-01-01 08:00", "501", "lead")
DORA = contact("103", "dora@globex.example", "2026-01-01 08:00", "502", "lead")
CAT = contact("104", "cat@hooli.example", "2026-01-06 10:05", "502", "lead", ga="u1")
EVE = contact("105", "eve@initech.example", "2026-01-06 11:00", "501", "lead", ga="u2")
CALL = engagement("c1", "101", "501", "2026-01-03 12:00")
MEETING = engagement("m1", "102", "501", "2026-01-04 15:00")

NIGHTS: list[dict[tuple[str, str], list[dict]]] = [
    {
        ("ga4", "events"): [
            *session("u1", "2026-01-01 10:00", "google", "organic"),
            *session("u1", "2026-01-02 10:00", None, None),
            *session("u2", "2026-01-02 09:00", "facebook", "paid_social", "prospecting", form=True),
            *U3_FIRST,
            *U3_SECOND,
            *session("u4", "2026-01-05 10:00", "google", "organic"),
            *session("u5", "2026-01-02 14:00", None, None),
        ],
        ("hubspot", "contacts"): [ANN, BEN, DORA],
        ("hubspot", "calls"): [CALL],
        ("hubspot", "meetings"): [MEETING],
        ("hubspot", "emails"): [engagement("e1", "103", "502", "2026-01-05 09:00")],
        ("mailchimp", "campaigns"): [campaign("Newsletter Jan")],
        ("mailchimp", "email_activity"): [
            click("ann@initech.example", "2026-01-03 09:00"),
            click("carl@globex.example", "2026-01-04 09:00"),
            click("dora@globex.example", "2026-01-04 10:00"),
            click("zed@unknown.example", "2026-01-05 11:00"),
        ],
    },
    {
        ("ga4", "events"): [
            *session("u1", "2026-01-06 10:00", "google", "cpc", "brand", form=True),
            *U3_MERGED,
        ],
        ("hubspot", "contacts"): [
            CAT,
            EVE,
            changed(DORA, "2026-01-06 12:00", email="carl@globex.example"),
        ],
        ("hubspot", "calls"): [
            {
                **engagement("c1", "102", "501", "2026-01-03 12:00"),
                "updatedAt": iso(ts("2026-01-06")),
            }
        ],
        ("mailchimp", "campaigns"): [campaign("Newsletter January")],
    },
    {
        ("hubspot", "contacts"): [
            {**changed(ANN, "2026-01-07 09:00"), "archived": True},
            changed(CAT, "2026-01-07 09:00", ga_client_id="u4"),
        ],
        ("hubspot", "meetings"): [
            {**MEETING, "archived": True, "updatedAt": iso(ts("2026-01-07 09:00"))}
        ],
    },
]


class NightReader:
    """Serves one night's changed records, as the connectors would."""

    def __init__(self, records: dict[tuple[str, str], list[dict]]) -> None:
        self.records = records

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        yield from (dict(r) for r in self.records.get((spec.source, spec.entity), []))


# (interval start, end, extract start): night 2 re-extracts from 01-03 (GA4 re-delivers
# u3's second session, of 01-04)
WINDOWS = [
    ("2026-01-01", "2026-01-06", "2025-12-01"),
    ("2026-01-06", "2026-01-07", "2026-01-03"),
    ("2026-01-07", "2026-01-08", "2026-01-07"),
]


def night(settings: Settings, number: int) -> None:
    window = resolve_window(*WINDOWS[number][:2], 0, WINDOWS[number][2])
    reader = NightReader(NIGHTS[number])
    for source in SOURCES:
        land_source(reader, source, window, settings.landing_dir)
    load_interval(settings.warehouse_path, settings.landing_dir, window)
    run_dbt(settings, "build", *SELECT)


def full_refresh(settings: Settings, into: Path) -> Path:
    """A copy of the warehouse rebuilt whole from the same raw data."""
    copy = into / "warehouse" / settings.warehouse_path.name
    shutil.copytree(settings.warehouse_path.parent, copy.parent)
    run_dbt(
        dataclasses.replace(settings_in(into), warehouse_path=copy, incremental_lookback_days=0),
        "build",
        "--full-refresh",
        *SELECT,
    )
    return copy


def differences(nightly: Path, full: Path) -> dict[str, tuple[int, int, int]]:
    """{table: (rows, rows only in the nightly build, rows only in the full refresh)}"""
    con = duckdb.connect(str(nightly), read_only=True)
    out = {}
    try:
        con.execute(f"attach '{full}' as full_db (read_only)")
        for table, skip in COMPARED.items():
            mine, theirs = f"intermediate.{table}", f"full_db.intermediate.{table}"
            cols = f"* exclude ({skip})"
            out[table] = (
                con.execute(f"select count(*) from {mine}").fetchone()[0],
                *rows_only_in_each(con, mine, theirs, cols),
            )
    finally:
        con.close()
    return out


ADDRESSES = ("ann@initech", "ben@initech", "carl@globex", "cat@hooli", "dora@globex")
PEOPLE = {  # person key -> name
    **{person_key(f"{a}.example"): a.split("@")[0] for a in (*ADDRESSES, "eve@initech")},
    person_key("zed@unknown.example"): "zed",
    **{"visitor:" + person_key(f"u{n}"): f"visitor u{n}" for n in range(1, 6)},
}


def touches(db: Path) -> dict[tuple, tuple]:
    """{(touch, contact, person): (campaign, built_at)}: a session as its visitor and start,
    a click as its address, a sales touch as its id; a person by name."""
    rows = query(
        db,
        "select source_key, touchpoint_id, strftime(touched_at, '%m-%d %H:%M'), contact_id,"
        " person_key, campaign, built_at from intermediate.int_touchpoints",
    )
    out = {}
    for source, touch, at, contact_id, key, campaign_name, built in rows:
        kind, _, identity = source.partition(":")
        label = {"web": f"{identity} {at}", "email": f"click {identity}"}.get(kind, touch)
        out[(label, contact_id, PEOPLE[key])] = (campaign_name, built)
    return out


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict]]:
    """After each night: the touches and the differences from a full refresh."""
    base = tmp_path_factory.mktemp("incremental_touchpoints")
    settings = dataclasses.replace(settings_in(base), incremental_lookback_days=0)
    states = []
    for number in range(len(NIGHTS)):
        night(settings, number)
        full = full_refresh(settings, base / f"full{number}")
        states.append(
            {
                "touches": touches(settings.warehouse_path),
                "differences": differences(settings.warehouse_path, full),
                "warehouse": str(settings.warehouse_path),
            }
        )
    yield states


def test_each_night_equals_a_full_refresh(nights: list[dict]) -> None:
    for number, state in enumerate(nights, start=1):
        for table, (rows, only_nightly, only_full) in state["differences"].items():
            assert rows > 0, (number, table)
            assert (only_nightly, only_full) == (0, 0), (number, table)


def test_night_1(nights: list[dict]) -> None:
    assert set(nights[0]["touches"]) == {
        ("u1 01-01 10:00", None, "visitor u1"),
        ("u1 01-02 10:00", None, "visitor u1"),
        ("u2 01-02 09:00", "101", "ann"),
        ("u3 01-03 08:00", None, "visitor u3"),
        ("u3 01-04 09:00", None, "visitor u3"),
        ("u4 01-05 10:00", None, "visitor u4"),
        ("u5 01-02 14:00", None, "visitor u5"),
        ("click ann@initech.example", "101", "ann"),
        ("click carl@globex.example", None, "carl"),
        ("click dora@globex.example", "103", "dora"),
        ("click zed@unknown.example", None, "zed"),
        ("call:c1:101", "101", "ann"),
        ("meeting:m1:102", "102", "ben"),
        ("sales_email:e1:103", "103", "dora"),
    }


def test_night_2_rekeys_merges_and_renames(nights: list[dict]) -> None:
    first, second = nights[0]["touches"], nights[1]["touches"]
    assert set(second) == {
        # the visitor became Cat: her earlier sessions are hers too
        ("u1 01-01 10:00", "104", "cat"),
        ("u1 01-02 10:00", "104", "cat"),
        ("u1 01-06 10:00", "104", "cat"),
        # two contacts share the visitor: the session touches both
        ("u2 01-02 09:00", "101", "ann"),
        ("u2 01-02 09:00", "105", "eve"),
        # u3's second session merged into the first: one touch
        ("u3 01-03 08:00", None, "visitor u3"),
        ("u4 01-05 10:00", None, "visitor u4"),
        ("u5 01-02 14:00", None, "visitor u5"),
        ("click ann@initech.example", "101", "ann"),
        # contact 103's e-mail changed: Carl's click is hers now, Dora's is anonymous
        ("click carl@globex.example", "103", "carl"),
        ("click dora@globex.example", None, "dora"),
        ("click zed@unknown.example", None, "zed"),
        # the call moved from Ann to Ben
        ("call:c1:102", "102", "ben"),
        ("meeting:m1:102", "102", "ben"),
        ("sales_email:e1:103", "103", "carl"),
    }
    assert {campaign for campaign, _ in second.values()} == {
        "newsletter january",
        "prospecting",
        "brand",
        None,
    }
    # untouched: a visitor with no new event outside the lookback (u4's day, the latest,
    # is re-sessionised), a sales touch whose contact did not change
    kept = {key for key in first if key in second and second[key][1] == first[key][1]}
    assert kept == {("u5 01-02 14:00", None, "visitor u5"), ("meeting:m1:102", "102", "ben")}


def test_night_3_archives_and_moves_a_client_id(nights: list[dict]) -> None:
    assert set(nights[2]["touches"]) == {
        ("u1 01-01 10:00", None, "visitor u1"),
        ("u1 01-02 10:00", None, "visitor u1"),
        ("u1 01-06 10:00", None, "visitor u1"),
        ("u2 01-02 09:00", "105", "eve"),
        ("u3 01-03 08:00", None, "visitor u3"),
        ("u4 01-05 10:00", "104", "cat"),
        ("u5 01-02 14:00", None, "visitor u5"),
        ("click ann@initech.example", None, "ann"),
        ("click carl@globex.example", "103", "carl"),
        ("click dora@globex.example", None, "dora"),
        ("click zed@unknown.example", None, "zed"),
        ("call:c1:102", "102", "ben"),
        ("sales_email:e1:103", "103", "carl"),
    }


def test_a_table_built_before_it_was_incremental_asks_for_a_full_refresh(
    nights: list[dict], tmp_path: Path
) -> None:
    """Upgrading: a warehouse whose int_touchpoints has no source_key (built whole, before
    the model was incremental) stops at that model, naming it and the DAG param, instead of
    replacing rows by a key they lack; nothing downstream is built over it."""
    built = settings_in(tmp_path)  # nights' warehouse lives in its own module folder
    source = Path(nights[2]["warehouse"])
    shutil.copytree(source.parent, built.warehouse_path.parent, dirs_exist_ok=True)
    con = duckdb.connect(str(built.warehouse_path))
    try:
        con.execute("alter table intermediate.int_touchpoints drop column source_key")
        before = con.execute("select count(*) from intermediate.int_touchpoints").fetchone()[0]
    finally:
        con.close()
    with pytest.raises(DbtBuildFailed) as failed:
        run_dbt(dataclasses.replace(built, incremental_lookback_days=0), "build", *SELECT)
    message = str(failed.value)
    assert "model.smarketing.int_touchpoints" in message
    assert "was built before it was incremental" in message and "full_refresh: true" in message
    # the stored rows are left as they were: no delete by a missing key
    assert query(built.warehouse_path, "select count(*) from intermediate.int_touchpoints") == [
        (before,)
    ]
