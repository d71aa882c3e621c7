"""Meta's view of the demo company: insights in euros, and its cursor-paged API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from smarketing.demo.company import write_world
from smarketing.demo.vendors.meta_ads import Api
from smarketing.demo.world import generate
from tests.demo.helpers import jsonl


def test_insights_are_the_worlds_ad_days_as_decimal_euros(tmp_path: Path) -> None:
    world = generate(11, 0.2, date(2026, 2, 1), date(2026, 2, 7))
    write_world(world, tmp_path)
    rows = jsonl(tmp_path / "meta_ads" / "insights.jsonl")
    days = world.ad_days_of("meta_ads")
    assert len(rows) == len(days) == 14
    for row, ad in zip(rows, days, strict=True):
        assert (row["account_currency"], ad.currency) == ("EUR", "EUR")
        assert Decimal(row["spend"]) * 100 == ad.spend_cents
        assert (row["date_start"], row["date_stop"]) == (ad.day.isoformat(),) * 2
        assert int(row["clicks"]) == ad.clicks and int(row["impressions"]) == ad.impressions


def test_cursor_paging_returns_every_row_of_the_range_once(tmp_path: Path) -> None:
    world = generate(11, 0.2, date(2026, 2, 1), date(2026, 2, 7))
    write_world(world, tmp_path)
    api = Api(tmp_path, page_size=4)
    query = {"time_range": '{"since": "2026-02-02", "until": "2026-02-05"}', "limit": "25"}
    got, pages = [], 0
    while True:
        page = api.insights("act_987654", query)
        got.extend(page["data"])
        pages += 1
        nxt = page["paging"].get("next")
        if nxt is None:
            break
        query = {**query, "after": nxt.split("after=")[1]}
    expected = [
        r
        for r in jsonl(tmp_path / "meta_ads" / "insights.jsonl")
        if "2026-02-02" <= r["date_start"] <= "2026-02-05"
    ]
    assert got == expected and len(got) == 8 and pages == 2
    assert api.insights("act_1", {"time_range": query["time_range"]})["data"] == []
    assert api.indexes.builds == 1
