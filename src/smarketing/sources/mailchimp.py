"""Mailchimp Marketing API v3: sent campaigns and their per-recipient e-mail activity.

Offset/count paging. Activity for a campaign keeps arriving for weeks after the send, so a
window reads the activity of every campaign sent in the last ``activity_days`` before its end,
``since`` the window start, and keeps the actions that happened inside the window. Each
activity becomes one landed record (campaign, recipient, action, timestamp, url).

Each campaign's activity is its own paged read: up to ``workers`` threads read campaigns at
once (``smarketing.sources.fanout``), and the records are handed on campaign by campaign in
the order the campaigns were listed, so the landed file does not depend on the workers.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial

from smarketing.sources.catalog import EntitySpec
from smarketing.sources.credentials import Credentials
from smarketing.sources.demo_files import parse_ts
from smarketing.sources.fanout import Slice, ordered
from smarketing.sources.http import JsonHttpClient, RetryPolicy
from smarketing.sources.paging import PageGuard

PAGE_SIZE = 1000  # the API's maximum count


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S+00:00")


class MailchimpReader:
    """Reads the ``mailchimp`` vendor's entities from a Mailchimp account (or the demo server)."""

    def __init__(
        self,
        creds: Credentials,
        policy: RetryPolicy | None = None,
        activity_days: int = 30,
        workers: int = 1,
    ):
        creds.require("host", "password")
        token = base64.b64encode(f"smarketing:{creds.password}".encode()).decode()
        self.client = JsonHttpClient(
            "mailchimp", creds.host, {"Authorization": f"Basic {token}"}, policy
        )
        self.activity_days = activity_days
        self.workers = workers

    def _pages(self, path: str, key: str, params: dict) -> Iterator[dict]:
        guard = PageGuard(self.client, self.client.endpoint("GET", path))
        offset = 0
        while True:
            page = self.client.request(
                "GET", path, params={**params, "offset": offset, "count": PAGE_SIZE}
            )
            rows = guard.items(page, key)
            total = page.get("total_items", 0)
            guard.expect_total(total, len(rows) or PAGE_SIZE)  # a server may send fewer
            yield from rows
            offset += len(rows)
            if not rows or offset >= int(total):
                return

    def campaigns(self, since: datetime, before: datetime) -> Iterator[dict]:
        return self._pages(
            "/3.0/campaigns",
            "campaigns",
            {"status": "sent", "since_send_time": _iso(since), "before_send_time": _iso(before)},
        )

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        if spec.entity == "campaigns":
            yield from self.campaigns(start, end)
            return
        if spec.entity != "email_activity":
            raise KeyError(f"Mailchimp reader has no entity {spec.entity!r}")
        campaigns = self.campaigns(start - timedelta(days=self.activity_days), end)
        yield from ordered(
            (
                Slice(f"campaign {c['id']}", partial(self._activity, c, start, end))
                for c in campaigns
            ),
            self.workers,
        )

    def _activity(self, campaign: dict, start: datetime, end: datetime) -> Iterator[dict]:
        """One campaign's recipients' actions inside [start, end), one record per action."""
        path = f"/3.0/reports/{campaign['id']}/email-activity"
        for member in self._pages(path, "emails", {"since": _iso(start)}):
            for act in member.get("activity") or []:
                ts = act.get("timestamp")
                if ts and not (start <= parse_ts(ts) < end):
                    continue
                yield {
                    "campaign_id": member.get("campaign_id", campaign["id"]),
                    "list_id": member.get("list_id"),
                    "email_id": member.get("email_id"),
                    "email_address": member.get("email_address"),
                    **act,
                }


def build_reader(creds: Credentials, policy: RetryPolicy, settings) -> MailchimpReader:
    """The registry's factory (smarketing.vendors)."""
    return MailchimpReader(
        creds, policy, settings.mailchimp_activity_days, workers=settings.extract_workers
    )


# the catalog entries of this vendor's raw tables raw.mailchimp__<entity> (the registry,
# smarketing.vendors, points here; smarketing.sources.catalog collects them)
ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        "mailchimp",
        "campaigns",
        "upsert",
        "id",
        None,
        "",
        "send_time",
        required=("id", "send_time"),
        types=(("send_time", "timestamp"),),
    ),
    EntitySpec(
        "mailchimp",
        "email_activity",
        "append",
        None,
        "timestamp",
        "iso",
        None,
        required=("campaign_id", "email_address", "action", "timestamp"),
        types=(("timestamp", "timestamp"),),
        label_paths=("campaign_id", "email_id", "timestamp"),
        # two clicks on two links in the same second are two activities: the url is keyed too
        key_paths=("campaign_id", "email_address", "action", "timestamp", "url"),
    ),
)
