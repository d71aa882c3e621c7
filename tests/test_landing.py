"""Landing: validated, complete, atomic, replaced per interval, never half-written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from smarketing.intervals import resolve_window
from smarketing.landing import MANIFEST_FILE, RECORDS_FILE, land_entity, land_source
from smarketing.sources.base import ExtractError
from smarketing.sources.catalog import ENTITIES, EntitySpec
from smarketing.sources.demo_files import DemoFileReader

DEALS = next(s for s in ENTITIES if s.raw_table == "hubspot__deals")
WINDOW = resolve_window("2026-01-14", "2026-01-15", 0, extract_start="2026-01-01")


class ListReader:
    def __init__(self, records: list[dict]):
        self.records = records

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        yield from self.records


def _deal(i: int, **props: object) -> dict:
    base = {"amount": "10.00", "dealstage": "closedwon", "createdate": "2026-01-02T00:00:00Z"}
    return {"id": str(i), "updatedAt": "2026-01-03T00:00:00Z", "properties": {**base, **props}}


def test_lands_every_entity_with_manifest(tiny_demo: Path, tmp_path: Path) -> None:
    landed = land_source(DemoFileReader(tiny_demo), "google_ads", WINDOW, tmp_path)
    landed += land_source(DemoFileReader(tiny_demo), "meta_ads", WINDOW, tmp_path)
    assert [(x.spec.source, x.spec.entity, x.records) for x in landed] == [
        ("google_ads", "campaign_stats", 28),
        ("google_ads", "clicks", 287),  # one per paid search session, Jan 1..14
        ("meta_ads", "insights", 28),
    ]
    assert landed[0].path == tmp_path / "google_ads" / "campaign_stats" / "interval=2026-01-14"
    manifest = json.loads((landed[0].path / MANIFEST_FILE).read_text())
    assert manifest["records"] == 28
    assert manifest["interval"] == "2026-01-14"
    assert manifest["extract_start"].startswith("2026-01-01")
    assert len((landed[0].path / RECORDS_FILE).read_text().splitlines()) == 28


def test_missing_required_field_names_source_entity_record_and_field(tmp_path: Path) -> None:
    reader = ListReader([_deal(1), _deal(2, dealstage=None), _deal(3)])
    with pytest.raises(ExtractError) as err:
        land_entity(reader, DEALS, WINDOW, tmp_path)
    assert str(err.value) == (
        "source=hubspot entity=deals record=id=2 field=properties.dealstage:"
        " required field is missing"
    )
    # nothing landed, nothing half-written left behind
    assert list((tmp_path / "hubspot" / "deals").iterdir()) == []


def test_open_deal_without_amount_lands_as_unpriced_pipeline(tmp_path: Path) -> None:
    """HubSpot allows a deal without amount: pipeline of unknown value, not a failed extract."""
    reader = ListReader([_deal(1), _deal(2, amount=None, dealstage="appointmentscheduled")])
    landed = land_entity(reader, DEALS, WINDOW, tmp_path)
    assert (landed.extracted, landed.records, landed.quarantined) == (2, 2, 0)


def test_failed_relanding_keeps_the_previous_landing(tmp_path: Path) -> None:
    first = land_entity(ListReader([_deal(1), _deal(2)]), DEALS, WINDOW, tmp_path)
    before = (first.path / RECORDS_FILE).read_bytes()
    with pytest.raises(ExtractError):
        land_entity(ListReader([_deal(3, dealstage="")]), DEALS, WINDOW, tmp_path)
    assert (first.path / RECORDS_FILE).read_bytes() == before
    again = land_entity(ListReader([_deal(5)]), DEALS, WINDOW, tmp_path)
    assert again.records == 1 and again.path == first.path
    assert [p.name for p in (tmp_path / "hubspot" / "deals").iterdir()] == ["interval=2026-01-14"]


def test_new_vendor_fields_are_kept_in_the_landed_payload(tmp_path: Path) -> None:
    rec = _deal(1, brand_new_property="x")
    rec["surprise"] = {"nested": 1}
    landed = land_entity(ListReader([rec]), DEALS, WINDOW, tmp_path)
    kept = json.loads((landed.path / RECORDS_FILE).read_text())
    assert kept["surprise"] == {"nested": 1}
    assert kept["properties"]["brand_new_property"] == "x"


def test_a_killed_attempt_leaves_nothing_that_blocks_the_next(tmp_path: Path) -> None:
    folder = tmp_path / "hubspot" / "deals"
    (folder / ".tmp-2026-01-14-99999").mkdir(parents=True)  # killed mid-write
    (folder / ".tmp-2026-01-14-99999" / RECORDS_FILE).write_text('{"half": ')
    (folder / ".old-2026-01-14-99998").mkdir()  # killed between the two renames
    landed = land_entity(ListReader([_deal(1)]), DEALS, WINDOW, tmp_path)
    assert landed.records == 1
    assert [p.name for p in folder.iterdir()] == ["interval=2026-01-14"]
