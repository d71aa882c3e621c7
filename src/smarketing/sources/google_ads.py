"""Google Ads API through ``googleAds:searchStream``: two reports of one customer.

* ``google_ads``: campaign × ad group × day stats, one query over the whole window. Cost
  arrives in micros of the account currency (converted in dbt).
* ``google_ads_clicks``: the ``click_view`` report, one row per ad click with its Google
  click id (gclid). The API only answers it for a single day, so the window is read with
  one query per day. The days are read by up to ``workers`` threads and handed on in day
  order (``smarketing.sources.fanout``): the landed file does not depend on the workers.

OAuth: the connection holds a refresh token; each read exchanges it for an access token at
the token endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial

from smarketing.sources.catalog import EntitySpec
from smarketing.sources.credentials import Credentials
from smarketing.sources.fanout import Slice, ordered
from smarketing.sources.http import JsonHttpClient, RetryPolicy, SourceResponseError
from smarketing.sources.paging import expect_list

DEFAULT_BASE_URL = "https://googleads.googleapis.com"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
API_VERSION = "v18"
GAQL = (
    "SELECT customer.id, customer.currency_code, campaign.id, campaign.name, ad_group.id, "
    "segments.date, metrics.impressions, metrics.clicks, metrics.cost_micros "
    "FROM ad_group WHERE segments.date BETWEEN '{first}' AND '{last}'"
)
CLICK_VIEW_GAQL = (
    "SELECT click_view.gclid, segments.date, campaign.id, campaign.name, ad_group.id, "
    "click_view.ad_group_ad FROM click_view WHERE segments.date = '{day}'"
)


class GoogleAdsReader:
    def __init__(self, creds: Credentials, policy: RetryPolicy | None = None, workers: int = 1):
        creds.require("login", "password", "developer_token")
        self.creds = creds
        self.workers = workers
        self.policy = policy
        self.customer_id = creds.login.replace("-", "")
        self.client = JsonHttpClient("google_ads", creds.host or DEFAULT_BASE_URL, {}, policy)

    def _access_token(self) -> str:
        token_uri = self.creds.extra.get("token_uri", DEFAULT_TOKEN_URI)
        reply = self.client.request(
            "POST",
            token_uri,
            form={
                "grant_type": "refresh_token",
                "refresh_token": self.creds.password,
                "client_id": self.creds.extra.get("client_id", ""),
                "client_secret": self.creds.extra.get("client_secret", ""),
            },
        )
        token = reply.get("access_token") if isinstance(reply, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceResponseError(
                "google_ads",
                self.client.endpoint("POST", token_uri),
                "expected a JSON object with a string 'access_token' (OAuth token reply)",
            )
        return token

    def _queries(self, spec: EntitySpec, start: datetime, end: datetime) -> list[str]:
        """GAQL of one entity for the window's days [start, end)."""
        first, last = start.date(), (end - timedelta(days=1)).date()
        if spec.entity == "campaign_stats":
            return [GAQL.format(first=first, last=last)]
        if spec.entity == "clicks":  # click_view: one day per query
            days = (first + timedelta(days=n) for n in range((last - first).days + 1))
            return [CLICK_VIEW_GAQL.format(day=day) for day in days]
        raise KeyError(f"Google Ads reader has no entity {spec.entity!r}")

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        queries = self._queries(spec, start, end)
        headers = {
            "Authorization": f"Bearer {self._access_token()}",
            "developer-token": str(self.creds.extra["developer_token"]),
        }
        if self.creds.extra.get("login_customer_id"):
            headers["login-customer-id"] = str(self.creds.extra["login_customer_id"])
        yield from ordered(
            (Slice(query, partial(self._stream, query, headers)) for query in queries),
            self.workers,
        )

    def _stream(self, query: str, headers: dict[str, str]) -> Iterator[dict]:
        """The rows of one searchStream query (one request, its reply an array of batches)."""
        path = f"/{API_VERSION}/customers/{self.customer_id}/googleAds:searchStream"
        endpoint = self.client.endpoint("POST", path)
        batches = self.client.request("POST", path, json_body={"query": query}, headers=headers)
        if not isinstance(batches, list):  # searchStream answers an array of batches
            raise SourceResponseError(
                "google_ads",
                endpoint,
                f"expected a JSON array of result batches, got {batches!r:.80}",
            )
        for batch in batches:
            yield from expect_list(batch, "results", "google_ads", endpoint)


def build_reader(creds: Credentials, policy: RetryPolicy, settings) -> GoogleAdsReader:
    """The registry's factory (smarketing.vendors): campaign stats and click_view."""
    return GoogleAdsReader(creds, policy, workers=settings.extract_workers)


# the catalog entries of this vendor's raw tables raw.google_ads__<entity> (the registry,
# smarketing.vendors, points here; smarketing.sources.catalog collects them)
ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        "google_ads",
        "campaign_stats",
        "window",
        None,
        "segments.date",
        "iso",
        None,
        required=("campaign.id", "segments.date", "metrics.costMicros", "customer.currencyCode"),
        types=(
            ("segments.date", "date"),
            ("metrics.costMicros", "int"),
            ("metrics.clicks", "int"),
            ("metrics.impressions", "int"),
        ),
        label_paths=("campaign.id", "adGroup.id", "segments.date"),
        key_paths=("customer.id", "campaign.id", "adGroup.id", "segments.date"),
        value_path="metrics.costMicros",
        value_scale="0.000001",
    ),
    EntitySpec(
        # the click_view report: one row per ad click with its Google click id, so that a
        # session auto-tagged with only a gclid (no UTM values) still joins its campaign
        "google_ads",
        "clicks",
        "append",
        None,
        "segments.date",
        "iso",
        None,
        required=("clickView.gclid", "segments.date", "campaign.id"),
        types=(("segments.date", "date"),),
        label_paths=("clickView.gclid", "segments.date"),
        key_paths=("clickView.gclid",),
    ),
)
