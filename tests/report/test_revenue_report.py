"""The nightly revenue report: its numbers are the demo company's truth; it renders offline.

The page is opened in headless Chromium (Debian's ``chromium``): no console errors, every
chart an SVG with marks. The screenshot is kept under ``test-artifacts/`` (or
``$SMARKETING_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from smarketing import pipeline
from smarketing.config import Settings
from smarketing.report.revenue import build_sections, channel_frame
from tests.conftest import PROJECT_DIR
from tests.headless_chromium import chromium_binary, render_page

ARTIFACTS = Path(os.environ.get("SMARKETING_TEST_ARTIFACTS", PROJECT_DIR / "test-artifacts"))


def test_report_numbers_equal_the_demo_companys_truth(
    published_demo: Settings, truth: dict
) -> None:
    _, sections = build_sections(published_demo.published_path, "USD")
    assert [s.title for s in sections] == [
        "Funnel",
        "Spend, pipeline and bookings per channel",
        "CAC and ROAS per channel",
        "Speed to lead",
        "This month's pacing",
    ]
    funnel = sections[0].table.set_index("stage")["people"].to_dict()
    by_channel = truth["funnel_by_channel"].values()
    assert funnel == {
        "Visitor": truth["totals"]["visitors"],
        "Lead": truth["totals"]["leads"],
        "MQL": sum(c["mqls"] for c in by_channel),
        "SQL": sum(c["sqls"] for c in by_channel),
        "Opportunity": sum(c["opportunities"] for c in by_channel),
        "Won": truth["totals"]["won_deals"],
    }
    con = duckdb.connect(str(published_demo.published_path), read_only=True)
    try:
        channels = channel_frame(con).set_index("channel")
    finally:
        con.close()
    assert round(Decimal(channels["spend"].sum()), 2) * 100 == truth["totals"]["spend_cents"]
    assert (
        round(Decimal(channels["bookings"].sum()), 2) * 100 == truth["totals"]["won_revenue_cents"]
    )
    for channel, counts in truth["funnel_by_channel"].items():
        assert channels.loc[channel, "won_deals"] == counts["won_deals"], channel
    paid = channels.loc["paid_search"]
    won = truth["funnel_by_channel"]["paid_search"]["won_deals"]
    assert paid["cac_lead_source"] == pytest.approx(paid["spend"] / won)
    assert paid["roas_lead_source"] == pytest.approx(paid["bookings"] / paid["spend"])
    # no spend, no CAC/ROAS (never a division by zero shown as infinity)
    assert channels.loc["direct", ["cac_lead_source", "roas_lead_source"]].isna().all()
    sla = sections[3].table.set_index("lead_source")
    assert sla["mqls"].to_dict() == {c: v["mqls"] for c, v in truth["funnel_by_channel"].items()}
    # the running month's pacing (February, 14 of 28 days on the CRM's clock): the truth's
    pacing = sections[4]
    assert pacing.note.startswith("Are we on track? February 2026, day 14 of 28 (")
    assert pacing.charts
    expected = {
        r["metric"]: r
        for r in truth["targets_pacing"]["rows"]
        if (r["period_type"], r["period_start"], r["channel"]) == ("month", "2026-02-01", "(all)")
    }
    table = pacing.table.set_index("commitment")
    assert list(table.index) == ["bookings", "pipeline", "MQLs", "SLA share"]
    for label, metric in zip(
        table.index, ("bookings", "pipeline", "mqls", "sla_share"), strict=True
    ):
        assert table.loc[label, "actual"] == pytest.approx(expected[metric]["actual"], abs=1e-4)
        assert table.loc[label, "target"] == pytest.approx(expected[metric]["target"], abs=1e-4)
        assert table.loc[label, "status"] == expected[metric]["status"]


def test_a_file_published_before_the_targets_gets_a_note(
    published_demo: Settings, tmp_path: Path
) -> None:
    copy = tmp_path / "without_targets.duckdb"
    shutil.copyfile(published_demo.published_path, copy)
    con = duckdb.connect(str(copy))
    con.execute("drop table mart_targets_pacing")
    con.close()
    _, sections = build_sections(copy, "USD")
    assert sections[-1].title == "This month's pacing"
    assert "No targets are published yet" in sections[-1].note
    assert sections[-1].table is None and sections[-1].charts == []


def test_report_renders_offline_in_headless_chromium(published_demo: Settings) -> None:
    path = Path(pipeline.revenue_report("scheduled__2026-02-15T02:00:00+00:00", published_demo))
    assert path == published_demo.reports_dir / "scheduled__2026-02-15T02_00_00_00_00" / (
        "revenue_report.html"
    )
    page = path.read_text()
    # offline: nothing is loaded from anywhere, the vega-embed bundle is inline
    assert re.findall(r"<script[^>]*\bsrc=", page) == []
    assert re.findall(r"<link[^>]*\bhref=", page) == []
    assert "vegaEmbed" in page
    if chromium_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing (apt-get install chromium; see .ci/run)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    screenshot = ARTIFACTS / "revenue_report.png"
    result = render_page(path, screenshot)
    assert result["console_errors"] == []
    assert result["state"] == "rendered"
    assert [c["id"] for c in result["charts"]] == [f"chart{i}" for i in range(7)]
    for chart in result["charts"]:
        assert chart["svg"] == 1 and chart["marks"] > 0, chart
    funnel = result["charts"][0]
    assert funnel["marks"] == 12  # six bars and six labels: visitor, lead, MQL, SQL, opp, won
    # the month's pacing: a bar per commitment of the plan and the line at 100 %
    assert result["charts"][6]["marks"] == 5
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000
