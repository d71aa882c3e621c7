"""Meta Marketing API: campaign × day insights for one ad account, cursor paged.

The token goes in the Authorization header, not the query string, so that no URL we log or
follow carries it; paging follows ``paging.cursors.after`` while ``paging.next`` is present.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

from smarketing.sources.catalog import EntitySpec
from smarketing.sources.credentials import Credentials
from smarketing.sources.http import JsonHttpClient, RetryPolicy, SourceResponseError
from smarketing.sources.paging import PageGuard

DEFAULT_BASE_URL = "https://graph.facebook.com"
API_VERSION = "v19.0"
FIELDS = (
    "account_id,account_currency,campaign_id,campaign_name,date_start,date_stop,"
    "impressions,clicks,spend"
)
PAGE_SIZE = 500


class MetaAdsReader:
    def __init__(self, creds: Credentials, policy: RetryPolicy | None = None):
        creds.require("password", "ad_account_id")
        self.account = str(creds.extra["ad_account_id"])
        self.client = JsonHttpClient(
            "meta_ads",
            creds.host or DEFAULT_BASE_URL,
            {"Authorization": f"Bearer {creds.password}"},
            policy,
        )

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        if spec.entity != "insights":
            raise KeyError(f"Meta reader has no entity {spec.entity!r}")
        params: dict = {
            "level": "campaign",
            "time_increment": 1,
            "time_range": json.dumps(
                {"since": str(start.date()), "until": str((end - timedelta(days=1)).date())}
            ),
            "fields": FIELDS,
            "limit": PAGE_SIZE,
        }
        path = f"/{API_VERSION}/{self.account}/insights"
        guard = PageGuard(self.client, self.client.endpoint("GET", path))
        while True:
            page = self.client.request("GET", path, params=params)
            yield from guard.items(page, "data")
            paging = page.get("paging") or {}
            if not paging.get("next"):
                return
            after = (paging.get("cursors") or {}).get("after")
            if not after:
                raise SourceResponseError(
                    "meta_ads", guard.endpoint, "paging.next given without paging.cursors.after"
                )
            guard.advance(after)
            params["after"] = after


def build_reader(creds: Credentials, policy: RetryPolicy, settings) -> MetaAdsReader:
    """The registry's factory (smarketing.vendors)."""
    return MetaAdsReader(creds, policy)


# the catalog entries of this vendor's raw tables raw.meta_ads__<entity> (the registry,
# smarketing.vendors, points here; smarketing.sources.catalog collects them)
ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        "meta_ads",
        "insights",
        "window",
        None,
        "date_start",
        "iso",
        None,
        required=("campaign_id", "date_start", "spend", "account_currency"),
        types=(
            ("date_start", "date"),
            ("spend", "decimal"),
            ("clicks", "int"),
            ("impressions", "int"),
        ),
        label_paths=("campaign_id", "date_start"),
        key_paths=("account_id", "campaign_id", "date_start"),
        value_path="spend",
    ),
)
