"""The demo reader answers like an incremental vendor API would."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from smarketing.sources.catalog import ENTITIES
from smarketing.sources.demo_files import DemoFileReader, parse_ts

SPECS = {s.raw_table: s for s in ENTITIES}


def _versions(demo: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for line in (demo / "hubspot" / "contacts.jsonl").read_text().splitlines():
        rec = json.loads(line)
        out.setdefault(rec["id"], []).append(rec)
    return out


def test_contacts_come_in_their_state_at_window_end(tiny_demo: Path) -> None:
    versions = _versions(tiny_demo)
    # a contact with several versions: ask for a window that ends between two of them
    cid, vs = next((k, v) for k, v in versions.items() if len(v) >= 3)
    second, third = parse_ts(vs[1]["updatedAt"]), parse_ts(vs[2]["updatedAt"])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    got = {r["id"]: r for r in DemoFileReader(tiny_demo).read(SPECS["crm__contacts"], start, third)}
    assert got[cid]["updatedAt"] == vs[1]["updatedAt"]
    assert got[cid]["properties"]["lifecyclestage"] == vs[1]["properties"]["lifecyclestage"]
    # a window after its last change but before the next one does not return it
    later = DemoFileReader(tiny_demo).read(
        SPECS["crm__contacts"], second.replace(microsecond=1), third
    )
    assert cid not in {r["id"] for r in later}


def test_window_entities_return_only_the_window_days(tiny_demo: Path) -> None:
    reader = DemoFileReader(tiny_demo)
    start, end = datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC)
    events = list(reader.read(SPECS["web__events"], start, end))
    assert {e["event_date"] for e in events} == {"20260103", "20260104"}
    expected = sum(
        1
        for day in ("20260103", "20260104")
        for _ in (tiny_demo / "ga4" / f"events_{day}.jsonl").read_text().splitlines()
    )
    assert len(events) == expected
    ads = list(reader.read(SPECS["ppc__google_ads"], start, end))
    assert sorted({a["segments"]["date"] for a in ads}) == ["2026-01-03", "2026-01-04"]
    assert len(ads) == 4  # two campaigns x two days
