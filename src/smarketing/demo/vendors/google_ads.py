"""Google Ads API (v18) of the demo company: campaign stats and click_view, as files and API.

Mirrors ``smarketing.sources.google_ads``. Endpoints: ``POST /token`` (OAuth refresh) and
``POST /v18/customers/{id}/googleAds:searchStream`` with a developer token: GAQL ``FROM
ad_group`` with ``segments.date BETWEEN``, or ``FROM click_view`` with a single-day
``segments.date =`` filter (without one it is answered 400
``EXPECTED_FILTER_ON_A_SINGLE_DAY``, as Google does). Money is ``costMicros`` in the
account's currency.

The files are indexed once per version by day; a query is the days it asks for.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from smarketing.demo.vendors.files import IndexCache, write_jsonl
from smarketing.demo.world import GOOGLE_CAMPAIGNS, AdDay, Session, World

FOLDER = "google_ads"
CUSTOMER_ID = "1234567890"
DEVELOPER_TOKEN = "demo-developer-token"
REFRESH_TOKEN = "demo-refresh-token"
ACCESS_TOKEN = "demo-google-access-token"
STATS_MASK = (
    "campaign.id,campaign.name,adGroup.id,segments.date,metrics.impressions,"
    "metrics.clicks,metrics.costMicros,customer.currencyCode"
)
CLICKS_MASK = "clickView.gclid,segments.date,campaign.id,campaign.name,adGroup.id,"
CLICKS_MASK += "clickView.adGroupAd"


def campaign_stats(ad: AdDay) -> dict:
    """One ``FROM ad_group`` searchStream row (each campaign has one ad group)."""
    return {
        "customer": {"id": CUSTOMER_ID, "currencyCode": ad.currency},
        "campaign": {"id": ad.campaign_id, "name": ad.campaign_name},
        "adGroup": {"id": f"{ad.campaign_id}01"},
        "segments": {"date": ad.day.isoformat()},
        "metrics": {
            "impressions": str(ad.impressions),
            "clicks": str(ad.clicks),
            "costMicros": str(ad.spend_cents * 10_000),
        },
    }


def click_view(session: Session) -> dict:
    """The click_view row of one paid search session (searchStream JSON)."""
    assert session.gclid is not None and session.campaign is not None
    campaign_id = next(cid for cid, name in GOOGLE_CAMPAIGNS if name == session.campaign)
    ad_group_id = f"{campaign_id}01"
    day = session.started_at.date().isoformat()
    customer = f"customers/{CUSTOMER_ID}"
    return {
        "clickView": {
            "resourceName": f"{customer}/clickViews/{day}~{session.gclid}",
            "gclid": session.gclid,
            "adGroupAd": f"{customer}/adGroupAds/{ad_group_id}~{ad_group_id}1",
        },
        "campaign": {
            "resourceName": f"{customer}/campaigns/{campaign_id}",
            "id": campaign_id,
            "name": session.campaign,
        },
        "adGroup": {"resourceName": f"{customer}/adGroups/{ad_group_id}", "id": ad_group_id},
        "segments": {"date": day},
    }


def write(world: World, out_dir: Path) -> None:
    """``google_ads/campaign_stats.jsonl`` and ``google_ads/clicks.jsonl`` (by day, gclid)."""
    stats = [campaign_stats(ad) for ad in world.ad_days_of("google_ads")]
    write_jsonl(out_dir / FOLDER / "campaign_stats.jsonl", stats)
    clicks = sorted(
        (click_view(s) for s in world.google_ads_clicks()),
        key=lambda r: (r["segments"]["date"], r["clickView"]["gclid"]),
    )
    write_jsonl(out_dir / FOLDER / "clicks.jsonl", clicks)


# --------------------------------------------------------------------------- the API


class GoogleAdsRequestError(ValueError):
    """A query Google Ads rejects: answered 400 with Google's JSON error body."""

    def __init__(self, error_code: dict[str, str], message: str):
        super().__init__(message)
        self.body = {
            "error": {
                "code": 400,
                "message": "Request contains an invalid argument.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.ads.googleads.v18.errors."
                        "GoogleAdsFailure",
                        "errors": [{"errorCode": error_code, "message": message}],
                        "requestId": "demo-error",
                    }
                ],
            }
        }


def _by_day(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows per ``segments.date`` (ISO text), in file order."""
    days: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        days[str((row.get("segments") or {}).get("date", ""))[:10]].append(row)
    return dict(days)


class Api:
    """Google Ads' endpoints over the demo files (no HTTP here: easy to test)."""

    prefixes = ("/v18/customers/", "/token")

    def __init__(self, demo_dir: Path, page_size: int = 100):
        self.folder = demo_dir / FOLDER
        self.page_size = page_size
        self.indexes = IndexCache()

    def _rows(self, name: str, first: date, last: date) -> list[dict]:
        days = self.indexes.get(self.folder / name, "by_day", _by_day)
        out: list[dict] = []
        day = first
        while day <= last:
            out.extend(days.get(day.isoformat(), ()))
            day += timedelta(days=1)
        return out

    def search_stream(self, customer_id: str, body: dict) -> list[dict]:
        query = body.get("query", "")
        if re.search(r"\bFROM\s+click_view\b", query, re.IGNORECASE):
            return self._click_view(customer_id, query)
        match = re.search(
            r"segments\.date\s+BETWEEN\s+'(\d{4}-\d{2}-\d{2})'\s+AND\s+'(\d{4}-\d{2}-\d{2})'",
            query,
            re.IGNORECASE,
        )
        if not match:
            raise ValueError("query needs segments.date BETWEEN 'YYYY-MM-DD' AND 'YYYY-MM-DD'")
        first, last = (date.fromisoformat(g) for g in match.groups())
        rows = [
            r
            for r in self._rows("campaign_stats.jsonl", first, last)
            if r["customer"]["id"] == customer_id
        ]
        return self._batches(rows, STATS_MASK)

    def _click_view(self, customer_id: str, query: str) -> list[dict]:
        """click_view answers one day only: ``segments.date = 'YYYY-MM-DD'``, nothing else."""
        days = re.findall(r"segments\.date\s*=\s*'(\d{4}-\d{2}-\d{2})'", query, re.IGNORECASE)
        ranged = re.search(r"segments\.date\s+(BETWEEN|DURING|>|<|IN\b)", query, re.IGNORECASE)
        if len(days) != 1 or ranged:
            raise GoogleAdsRequestError(
                {"clickViewError": "EXPECTED_FILTER_ON_A_SINGLE_DAY"},
                "Missing filter on a single day.",
            )
        day = date.fromisoformat(days[0])
        prefix = f"customers/{customer_id}/"
        rows = [
            r
            for r in self._rows("clicks.jsonl", day, day)
            if r["clickView"]["resourceName"].startswith(prefix)
        ]
        return self._batches(rows, CLICKS_MASK)

    def _batches(self, rows: list[dict], mask: str) -> list[dict]:
        """searchStream's reply: the rows in batches, each with its field mask."""
        batches = [rows[i : i + self.page_size] for i in range(0, len(rows), self.page_size)]
        return [
            {"results": b, "fieldMask": mask, "requestId": f"demo-{i}"}
            for i, b in enumerate(batches or [[]])
        ]

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: Callable[[], bytes]
    ) -> tuple[int, Any]:
        if method == "POST" and path == "/token":
            form = parse_qs(body().decode())
            if form.get("refresh_token", [""])[0] != REFRESH_TOKEN:
                return 400, {"error": "invalid_grant"}
            return 200, {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}
        if not (
            headers.get("Authorization", "") == f"Bearer {ACCESS_TOKEN}"
            and headers.get("developer-token") == DEVELOPER_TOKEN
        ):
            return 401, {"message": "bad credentials"}
        if method == "POST" and (
            m := re.fullmatch(r"/v18/customers/(\d+)/googleAds:searchStream", path)
        ):
            raw = body()
            return 200, self.search_stream(m.group(1), json.loads(raw) if raw else {})
        return 404, {"message": f"no such endpoint: {method} {path}"}

    @staticmethod
    def error(exc: Exception) -> tuple[int, Any] | None:
        return (400, exc.body) if isinstance(exc, GoogleAdsRequestError) else None


# --------------------------------------------------------------------------- the connection
# the demo's well-known fake credentials
SECRETS = {"google_ads_developer": DEVELOPER_TOKEN, "google_ads_refresh": REFRESH_TOKEN}


def demo_connection(server_url: str, demo_dir: Path) -> dict:
    """The ``smarketing_google_ads`` connection (Airflow's JSON form) for the demo server."""
    return {
        "conn_type": "http",
        "host": server_url,
        "login": "123-456-7890",
        "password": REFRESH_TOKEN,
        "extra": {
            "developer_token": DEVELOPER_TOKEN,
            "client_id": "demo",
            "client_secret": "demo",
            "token_uri": f"{server_url}/token",
        },
    }
