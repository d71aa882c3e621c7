"""Mailchimp Marketing v3 of the demo company: newsletters and their activity, as files and API.

Mirrors ``smarketing.sources.mailchimp``. Endpoints: ``GET /3.0/campaigns``
(``since_send_time`` / ``before_send_time``, offset/count paging) and ``GET
/3.0/reports/{id}/email-activity`` (``since``, offset/count paging, one member per address
with its list of actions), HTTP Basic auth with the API key as password. Mailchimp caps
``count`` at 1,000.

The files are indexed once per version: campaigns sorted by send time, activity grouped by
campaign; a page is a slice.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from smarketing.demo.vendors.files import IndexCache, write_jsonl
from smarketing.demo.world import NEWSLETTER_LIST, EmailAction, Newsletter, World, iso
from smarketing.sources.timestamps import parse_vendor_timestamp as parse_ts

FOLDER = "mailchimp"
TOKEN = "demo-mailchimp-key-us1"
MAX_COUNT = 1_000
_MEMBER_KEYS = ("campaign_id", "list_id", "email_id", "email_address")


def campaign(n: Newsletter) -> dict:
    """A sent regular campaign as ``GET /3.0/campaigns`` lists it (created the day before)."""
    return {
        "id": n.campaign_id,
        "type": "regular",
        "status": "sent",
        "create_time": iso(n.sent_at - timedelta(days=1)),
        "send_time": iso(n.sent_at),
        "settings": {"title": n.name, "subject_line": n.subject},
        "recipients": {"list_id": NEWSLETTER_LIST},
    }


def activity(a: EmailAction) -> dict:
    """One recipient action, shaped as the connector lands it (a member's activity, flat)."""
    row = {
        "campaign_id": a.campaign_id,
        "list_id": NEWSLETTER_LIST,
        "email_id": hashlib.md5(a.email.lower().encode()).hexdigest(),  # Mailchimp's hash
        "email_address": a.email,
        "action": a.action,
        "timestamp": iso(a.at),
    }
    if a.url:
        row["url"] = a.url
    return row


def write(world: World, out_dir: Path) -> None:
    """``mailchimp/campaigns.jsonl`` and ``mailchimp/email_activity.jsonl``."""
    write_jsonl(out_dir / FOLDER / "campaigns.jsonl", [campaign(n) for n in world.newsletters])
    write_jsonl(
        out_dir / FOLDER / "email_activity.jsonl", [activity(a) for a in world.email_actions]
    )


# --------------------------------------------------------------------------- the API


@dataclass
class _Campaigns:
    send_times: list[datetime]
    rows: list[dict]  # sorted by (send_time, id)


def _campaigns(rows: list[dict]) -> _Campaigns:
    keyed = [(parse_ts(r["send_time"]), r) for r in rows]
    keyed.sort(key=lambda p: (p[1]["send_time"], p[1].get("id", "")))
    return _Campaigns([t for t, _ in keyed], [r for _, r in keyed])


@dataclass
class _Activity:
    by_campaign: dict[str, list[tuple[datetime, dict]]]  # file order
    # a report's members, kept for its next pages (small LRU, gone with the file's version)
    reports: OrderedDict[tuple[str, datetime], list[dict]] = field(default_factory=OrderedDict)


def _activity_by_campaign(rows: list[dict]) -> _Activity:
    by_campaign: dict[str, list[tuple[datetime, dict]]] = defaultdict(list)
    for act in rows:
        by_campaign[act.get("campaign_id")].append((parse_ts(act["timestamp"]), act))
    return _Activity(dict(by_campaign))


def _members(campaign_id: str, actions: list[tuple[datetime, dict]], since: datetime) -> list:
    """One member per address with its actions since ``since``, by address."""
    members: dict[str, dict] = {}
    for ts, act in actions:
        if ts < since:
            continue
        member = members.setdefault(
            act["email_address"],
            {
                "campaign_id": campaign_id,
                "list_id": act.get("list_id"),
                "email_id": act.get("email_id"),
                "email_address": act["email_address"],
                "activity": [],
            },
        )
        member["activity"].append({k: v for k, v in act.items() if k not in _MEMBER_KEYS})
    return sorted(members.values(), key=lambda m: m["email_address"])


class Api:
    """Mailchimp's endpoints over the demo files (no HTTP here: easy to test)."""

    prefixes = ("/3.0/",)

    def __init__(self, demo_dir: Path, page_size: int = 100):
        self.folder = demo_dir / FOLDER
        self.page_size = page_size
        self.indexes = IndexCache()
        self._lock = threading.Lock()

    def campaigns(self, query: dict[str, str]) -> dict:
        since = parse_ts(query.get("since_send_time", "1970-01-01T00:00:00Z"))
        before = parse_ts(query.get("before_send_time", "9999-01-01T00:00:00Z"))
        index = self.indexes.get(self.folder / "campaigns.jsonl", "by_send_time", _campaigns)
        # sorted by the send_time text: the same order as its instant (one ISO form)
        rows = [r for t, r in zip(index.send_times, index.rows, strict=True) if since <= t < before]
        return self._offset_page("campaigns", rows, query)

    def _offset_page(self, key: str, rows: list[dict], query: dict[str, str]) -> dict:
        offset = int(query.get("offset", 0))
        count = min(int(query.get("count", 10)), self.page_size, MAX_COUNT)
        return {key: rows[offset : offset + count], "total_items": len(rows)}

    def email_activity(self, campaign_id: str, query: dict[str, str]) -> dict:
        since = parse_ts(query.get("since", "1970-01-01T00:00:00Z"))
        index = self.indexes.get(
            self.folder / "email_activity.jsonl", "by_campaign", _activity_by_campaign
        )
        key = (campaign_id, since)
        with self._lock:
            rows = index.reports.get(key)
            if rows is not None:
                index.reports.move_to_end(key)
        if rows is None:
            rows = _members(campaign_id, index.by_campaign.get(campaign_id, []), since)
            with self._lock:
                index.reports[key] = rows
                while len(index.reports) > 16:
                    index.reports.popitem(last=False)
        out = self._offset_page("emails", rows, query)
        out["campaign_id"] = campaign_id
        return out

    def authorised(self, headers: Any) -> bool:
        auth = headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        _, _, key = base64.b64decode(auth[6:]).decode().partition(":")
        return key == TOKEN

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: Callable[[], bytes]
    ) -> tuple[int, Any]:
        if not self.authorised(headers):
            return 401, {"message": "bad credentials"}
        if method == "GET" and path == "/3.0/campaigns":
            return 200, self.campaigns(query)
        if method == "GET" and (m := re.fullmatch(r"/3.0/reports/(\w+)/email-activity", path)):
            return 200, self.email_activity(m.group(1), query)
        return 404, {"message": f"no such endpoint: {method} {path}"}

    @staticmethod
    def error(exc: Exception) -> tuple[int, Any] | None:
        return None


# --------------------------------------------------------------------------- the connection
SECRETS = {"mailchimp": TOKEN}  # the demo's well-known fake credentials


def demo_connection(server_url: str, demo_dir: Path) -> dict:
    """The ``smarketing_mailchimp`` connection (Airflow's JSON form) for the demo server."""
    return {"conn_type": "http", "host": server_url, "password": TOKEN}
