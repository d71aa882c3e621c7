"""The demo sales team's decisions on its MQLs: written as HubSpot holds them, with a ground
truth whose categories add up and include leads rejected as bad fit that qualify again."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from smarketing.demo.company import generate, write_world
from smarketing.demo.disposition import MQL_ENTERED_PROPERTY, REASON_PROPERTY
from smarketing.sources.timestamps import parse_vendor_timestamp

DISPOSITIONS = ("accepted", "rejected", "worked_undecided", "pending", "never_worked")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("disposition_demo")
    truth = write_world(generate(7, 0.3, date(2026, 1, 1), date(2026, 3, 31)), out)
    return out, truth["lead_disposition"]


def _latest_contacts(folder: Path) -> dict[str, list[dict]]:
    versions: dict[str, list[dict]] = {}
    for line in (folder / "hubspot" / "contacts.jsonl").read_text().splitlines():
        row = json.loads(line)
        versions.setdefault(row["id"], []).append(row)
    return versions


def test_every_mql_has_one_disposition_and_every_kind_occurs(demo: tuple[Path, dict]) -> None:
    _, truth = demo
    counts = truth["by_disposition"]
    assert sum(counts.values()) == truth["mqls"] == len(truth["leads"]) > 100
    assert all(counts[k] > 0 for k in ("accepted", "rejected", "worked_undecided", "never_worked"))
    assert sum(truth["rejection_reasons"].values()) == counts["rejected"]
    assert truth["rejection_reasons"].get("bad_timing", 0) > 0
    # bad-fit rejections that came back weeks later: their SLA restarted, the reason stays
    returned = [v for v in truth["leads"].values() if v["is_remql"]]
    assert len(returned) == truth["remqls"] > 0
    assert all(v["ever_rejected"] and v["disposition"] != "rejected" for v in returned)
    assert truth["ever_rejected"] == counts["rejected"] + truth["remqls"]


def test_contacts_carry_the_status_and_reason_the_truth_implies(demo: tuple[Path, dict]) -> None:
    folder, truth = demo
    versions = _latest_contacts(folder)
    as_of = parse_vendor_timestamp(truth["as_of"])
    for lead_id, t in truth["leads"].items():
        history = versions[lead_id]
        props = max(history, key=lambda r: r["updatedAt"])["properties"]
        status = props["hs_lead_status"]
        entered = parse_vendor_timestamp(props[MQL_ENTERED_PROPERTY])
        assert entered == parse_vendor_timestamp(t["mql_started_at"]), lead_id
        if t["disposition"] == "accepted":
            assert status in ("CONNECTED", "OPEN_DEAL"), lead_id
        elif t["disposition"] == "rejected":
            assert status in ("UNQUALIFIED", "BAD_TIMING"), lead_id
            assert props.get(REASON_PROPERTY, "bad_timing") == t["rejection_reason"], lead_id
        elif t["is_remql"]:
            # rejected as a bad fit, then an MQL again: NEW, the old reason kept
            assert status == "NEW" and props[REASON_PROPERTY] == "bad_fit", lead_id
            statuses = [r["properties"]["hs_lead_status"] for r in history[1:]]
            assert "UNQUALIFIED" in statuses, lead_id
        if t["disposition"] == "pending":
            assert as_of < entered + timedelta(hours=24)
        if t["disposition"] == "never_worked":
            assert as_of >= entered + timedelta(hours=24)
    # a rejection or re-qualification is a change: the contact's modification date follows
    remql = next(i for i, t in truth["leads"].items() if t["is_remql"])
    latest = max(versions[remql], key=lambda r: r["updatedAt"])
    assert parse_vendor_timestamp(latest["updatedAt"]) == parse_vendor_timestamp(
        truth["leads"][remql]["mql_started_at"]
    )


def test_the_crm_clock_is_the_latest_change(demo: tuple[Path, dict]) -> None:
    folder, truth = demo
    latest = max(
        parse_vendor_timestamp(json.loads(line)["updatedAt"])
        for name in ("contacts", "deals", "calls", "emails", "meetings")
        for line in (folder / "hubspot" / f"{name}.jsonl").read_text().splitlines()
    )
    assert parse_vendor_timestamp(truth["as_of"]) == latest
    assert latest < datetime(2026, 4, 1, tzinfo=latest.tzinfo)
