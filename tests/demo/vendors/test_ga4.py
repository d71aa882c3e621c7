"""GA4's view of the demo company: the BigQuery export, one file per event day."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from smarketing.demo.company import write_world
from smarketing.demo.world import generate
from tests.demo.helpers import jsonl


def test_every_session_is_its_events_in_its_days_file(tmp_path: Path) -> None:
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 1, 31))
    write_world(world, tmp_path)
    files = sorted((tmp_path / "ga4").glob("events_*.jsonl"))
    # every day of the range (a session started late on the last day may spill past it)
    assert [f.name for f in files][:31] == [f"events_202601{d:02d}.jsonl" for d in range(1, 32)]
    events = [(f.name[7:15], r) for f in files for r in jsonl(f)]
    assert all(day == r["event_date"] for day, r in events)
    names = Counter(r["event_name"] for _, r in events)
    assert names["session_start"] == len(world.sessions)
    assert names["page_view"] == sum(s.pages for s in world.sessions)
    assert names["generate_lead"] == sum(s.lead_form for s in world.sessions) > 0
    # the landing page of an e-mail click carries the newsletter's UTM values
    starts = {
        (r["user_pseudo_id"], r["event_params"][0]["value"]["int_value"]): r
        for _, r in events
        if r["event_name"] == "session_start"
    }
    mailed = [s for s in world.sessions if s.channel == "email"]
    assert mailed
    for s in mailed:
        traffic = starts[(s.user_pseudo_id, s.session_id)]["collected_traffic_source"]
        assert (traffic["manual_source"], traffic["manual_medium"]) == ("mailchimp", "email")
        assert traffic["manual_campaign_name"] == s.campaign
