"""Mailchimp's view of the demo company: newsletters, activity, and its API."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date
from pathlib import Path

from smarketing.demo.company import write_world
from smarketing.demo.vendors.mailchimp import Api
from smarketing.demo.world import generate
from tests.demo.helpers import jsonl


def test_files_are_the_worlds_newsletters_and_actions(tmp_path: Path) -> None:
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    write_world(world, tmp_path)
    campaigns = jsonl(tmp_path / "mailchimp" / "campaigns.jsonl")
    assert [c["id"] for c in campaigns] == [n.campaign_id for n in world.newsletters]
    assert len(campaigns) == 8  # eight Tuesdays in January and February 2026
    assert all(c["send_time"].endswith("T15:00:00.000Z") for c in campaigns)
    activity = jsonl(tmp_path / "mailchimp" / "email_activity.jsonl")
    assert len(activity) == len(world.email_actions) > 100
    for row, action in zip(activity, world.email_actions, strict=True):
        assert row["email_address"] == action.email == action.email.strip().lower()
        assert row["email_id"] == hashlib.md5(action.email.encode()).hexdigest()
        assert row["action"] == action.action and ("url" in row) == (action.action == "click")


def test_email_activity_groups_members_and_pages_from_one_index(tmp_path: Path) -> None:
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    write_world(world, tmp_path)
    rows = jsonl(tmp_path / "mailchimp" / "email_activity.jsonl")
    api = Api(tmp_path, page_size=7)
    for n in world.newsletters:
        expected: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            if r["campaign_id"] == n.campaign_id and r["timestamp"] >= "2026-01-20T00:00:00":
                expected[r["email_address"]].append(
                    {k: v for k, v in r.items() if k in ("action", "timestamp", "url")}
                )
        members, offset = [], 0
        while True:
            page = api.email_activity(
                n.campaign_id,
                {"since": "2026-01-20T00:00:00Z", "offset": str(offset), "count": "50"},
            )
            assert page["total_items"] == len(expected) and page["campaign_id"] == n.campaign_id
            assert len(page["emails"]) <= 7  # the server's page size caps count
            members.extend(page["emails"])
            offset += 7
            if offset >= page["total_items"]:
                break
        assert [m["email_address"] for m in members] == sorted(expected)
        assert {m["email_address"]: m["activity"] for m in members} == dict(expected)
    campaigns = api.campaigns(
        {"since_send_time": "2026-02-01T00:00:00Z", "before_send_time": "2026-02-20T00:00:00Z"}
    )
    assert [c["id"] for c in campaigns["campaigns"]] == ["nl20260203", "nl20260210", "nl20260217"]
    assert api.indexes.builds == 2  # one per file, however many pages
