"""Meta Marketing API (v19.0) of the demo company: campaign insights, as a file and API.

Mirrors ``smarketing.sources.meta_ads``. Endpoint: ``GET /v19.0/act_{id}/insights`` with a
``time_range`` (since/until, inclusive), cursor paging (``paging.cursors`` and
``paging.next``), a bearer access token. Money is ``spend`` as a decimal string in the ad
account's currency (euros here).

The file is indexed once per version by day; a query is the days it asks for.
"""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from smarketing.demo.vendors.files import IndexCache, write_jsonl
from smarketing.demo.world import AdDay, World

FOLDER = "meta_ads"
ACCOUNT_ID = "987654"
TOKEN = "demo-meta-access-token"


def insight(ad: AdDay) -> dict:
    """One campaign-level, one-day insights row."""
    return {
        "account_id": ACCOUNT_ID,
        "account_currency": ad.currency,
        "campaign_id": ad.campaign_id,
        "campaign_name": ad.campaign_name,
        "date_start": ad.day.isoformat(),
        "date_stop": ad.day.isoformat(),
        "impressions": str(ad.impressions),
        "clicks": str(ad.clicks),
        "spend": f"{ad.spend_cents // 100}.{ad.spend_cents % 100:02d}",
    }


def write(world: World, out_dir: Path) -> None:
    """``meta_ads/insights.jsonl``."""
    rows = [insight(ad) for ad in world.ad_days_of("meta_ads")]
    write_jsonl(out_dir / FOLDER / "insights.jsonl", rows)


# --------------------------------------------------------------------------- the API


def _by_day(rows: list[dict]) -> dict[str, list[dict]]:
    days: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        days[str(row.get("date_start", ""))[:10]].append(row)
    return dict(days)


def _cursor(n: int) -> str:
    return base64.b64encode(str(n).encode()).decode()


class Api:
    """Meta's insights endpoint over the demo file (no HTTP here: easy to test)."""

    prefixes = ("/v19.0/",)

    def __init__(self, demo_dir: Path, page_size: int = 100):
        self.folder = demo_dir / FOLDER
        self.page_size = page_size
        self.indexes = IndexCache()

    def insights(self, account: str, query: dict[str, str]) -> dict:
        time_range = json.loads(query.get("time_range", "{}"))
        first = date.fromisoformat(time_range["since"])
        last = date.fromisoformat(time_range["until"])
        days = self.indexes.get(self.folder / "insights.jsonl", "by_day", _by_day)
        rows: list[dict] = []
        day = first
        while day <= last:
            rows.extend(r for r in days.get(day.isoformat(), ()) if r["account_id"] == account[4:])
            day += timedelta(days=1)
        offset = int(base64.b64decode(query["after"]).decode()) if query.get("after") else 0
        limit = min(int(query.get("limit", 25)), self.page_size)
        page = rows[offset : offset + limit]
        out: dict[str, Any] = {
            "data": page,
            "paging": {
                "cursors": {"before": _cursor(offset), "after": _cursor(offset + len(page))}
            },
        }
        if offset + limit < len(rows):
            out["paging"]["next"] = f"/v19.0/{account}/insights?after={_cursor(offset + limit)}"
        return out

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: Callable[[], bytes]
    ) -> tuple[int, Any]:
        if headers.get("Authorization", "") != f"Bearer {TOKEN}":
            return 401, {"message": "bad credentials"}
        if method == "GET" and (m := re.fullmatch(r"/v19.0/(act_\d+)/insights", path)):
            return 200, self.insights(m.group(1), query)
        return 404, {"message": f"no such endpoint: {method} {path}"}

    @staticmethod
    def error(exc: Exception) -> tuple[int, Any] | None:
        return None


# --------------------------------------------------------------------------- the connection
SECRETS = {"meta": TOKEN}  # the demo's well-known fake credentials


def demo_connection(server_url: str, demo_dir: Path) -> dict:
    """The ``smarketing_meta_ads`` connection (Airflow's JSON form) for the demo server."""
    return {
        "conn_type": "http",
        "host": server_url,
        "password": TOKEN,
        "extra": {"ad_account_id": f"act_{ACCOUNT_ID}"},
    }
