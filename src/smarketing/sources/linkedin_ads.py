"""LinkedIn Marketing API: campaign × day spend of one or more ad accounts (``adAnalytics``).

What the connector does, and the vendor facts each step rests on (LinkedIn's Marketing API
documentation on learn.microsoft.com, versioned "li-lms-YYYY-MM"; third-party sources named
where LinkedIn's own pages are silent):

* **Versioned REST API** under ``https://api.linkedin.com/rest``. Every call carries
  ``LinkedIn-Version: YYYYMM`` (versions are sunset about a year after release, hence the
  connection may override :data:`API_VERSION`) and ``X-Restli-Protocol-Version: 2.0.0``.
  In Rest.li protocol 2.0 the structure of a parameter (``List(…)``, ``(start:(…))``) is
  written literally and only the values inside are URL-encoded:
  ``accounts=List(urn%3Ali%3AsponsoredAccount%3A123)`` (LinkedIn API guide, "Protocol
  Versions"). ``requests`` would percent-encode the parentheses, so the query string is
  built here by :func:`restli_query` and sent as part of the URL.
* **adAnalytics, Analytics finder**: ``GET /rest/adAnalytics?q=analytics&pivot=CAMPAIGN&
  timeGranularity=DAILY&dateRange=(start:(year:2026,month:1,day:1),end:(year:…,month:…,
  day:…))&accounts=List(…)&fields=…`` (Marketing API, "Reporting"). ``dateRange.end`` is
  inclusive, so the window [start, end) asks for ``end - 1 day``. Each element holds
  ``pivotValues`` (``["urn:li:sponsoredCampaign:…"]``), ``dateRange`` (the element's day as
  ``{year, month, day}`` objects), ``costInLocalCurrency`` (a decimal *string*, in the
  account's currency), ``impressions`` and ``clicks``. A campaign with no activity on a day
  has no element for it: empty days are absent, not zero rows ("An empty response is
  returned if there is no activity to report").
* **No paging, a cap on elements**: "The adAnalytics endpoint does not support pagination"
  (Reporting). Third-party clients document a ceiling of 15,000 elements per response
  (:data:`MAX_ELEMENTS`). The connector therefore asks for windows small enough that
  campaigns × days stays below the cap, and treats a reply *at* the cap as possibly cut
  short: the window is halved and asked again; a single day at the cap fails, naming it.
  ``fields`` takes at most 20 metrics (same third-party note); we ask for three.
* **URL length**: LinkedIn refuses requests whose raw URL exceeds 8 KB or whose query
  string exceeds 4 KB with 414 ("Migration Guide – Updated API Request Maximum Length");
  one account per request keeps ours far below.
* **Currency**: an analytics element does not say its currency. ``GET /rest/adAccounts/{id}``
  answers the account with ``currency`` (ISO 4217), added to every row as
  ``accountCurrency``. A reply without a currency fails: spend of unknown currency must
  never reach a revenue mart.
* **Campaign names**: ``GET /rest/adAccounts/{id}/adCampaigns?q=search`` pages by cursor
  since version 202401: ``pageSize`` (default 100) and ``pageToken`` from
  ``metadata.nextPageToken``; no token means the last page ("Cursor Based Pagination For
  Search APIs"). The search asks for every status, so a campaign since archived or removed
  still names its old spend; a campaign the listing lacks keeps its id and no name.
* **OAuth 2.0 refresh**: ``POST https://www.linkedin.com/oauth/v2/accessToken`` with form
  ``grant_type=refresh_token&refresh_token=…&client_id=…&client_secret=…`` answers
  ``{"access_token", "expires_in", "refresh_token", "refresh_token_expires_in"}``. Access
  tokens live 60 days and refresh tokens 365 days; refreshing does not extend the refresh
  token ("Programmatic Refresh Tokens"). The connector refreshes once per read and once
  more when a call is answered 401 (token expired or revoked meanwhile), then retries the
  call; a second 401 fails at once.
* **Errors** have the body ``{"status": 401, "serviceErrorCode": 65600, "message":
  "Invalid access token"}`` (LinkedIn API guide, "Error Handling"; that exact 401 quoted in
  xcarpentier/react-native-linkedin#80); versioned endpoints add a ``code`` such as
  ``VERSION_MISSING``. The connector keys on the HTTP status only, never on these codes.
  Throttling is a daily application and member quota reset at midnight UTC, answered 429
  (``{"serviceErrorCode": 101, "message": "Resource level throttle limit for calls to this
  resource is reached.", "status": 429}``, quoted in Automattic/wp-calypso#32007; "Rate
  Limiting"); LinkedIn documents no ``Retry-After``, so the shared client's backoff applies
  and a ``Retry-After`` is honoured when one comes. 429 and 5xx are retried
  (:class:`~smarketing.sources.http.JsonHttpClient`); any other 4xx is the same on every
  try and fails fast as :class:`LinkedInRequestError`.

Each row landed is the element as LinkedIn sent it plus five fields the connector adds:
``account`` (the sponsoredAccount URN), ``accountCurrency``, ``campaign`` (the campaign
URN, from ``pivotValues``), ``campaignName`` and ``day`` (ISO date from ``dateRange.start``).
An element that is not one campaign on one day of the window is quarantined whole
(:class:`~smarketing.sources.base.Malformed`), never dropped. A campaign-day sent twice
unchanged is kept once; sent twice with different figures, the read fails naming both.
The catalog entry (:data:`AD_ANALYTICS`) is a ``window`` entity: each day of the window
holds what the latest delivery said about it, so a day restated to no activity empties.
Days are taken as LinkedIn labels them; the connector does not shift time zones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from smarketing import redact
from smarketing.sources.base import Malformed
from smarketing.sources.catalog import EntitySpec
from smarketing.sources.credentials import Credentials
from smarketing.sources.http import (
    JsonHttpClient,
    RetryPolicy,
    SourceHttpError,
    SourceResponseError,
)
from smarketing.sources.paging import PageGuard, expect_list

log = logging.getLogger(__name__)

SOURCE = "linkedin_ads"
CONN_ID = "smarketing_linkedin_ads"
DEFAULT_BASE_URL = "https://api.linkedin.com"
DEFAULT_TOKEN_URI = "https://www.linkedin.com/oauth/v2/accessToken"
API_VERSION = "202610"  # LinkedIn-Version: YYYYMM; override with extra.linkedin_version
RESTLI_PROTOCOL = "2.0.0"
MAX_ELEMENTS = 15_000  # elements one adAnalytics reply holds at most (no paging)
CAMPAIGN_PAGE_SIZE = 100  # adCampaigns search pageSize (LinkedIn's default)
FIELDS = ("dateRange", "pivotValues", "costInLocalCurrency", "impressions", "clicks")
ACCOUNT_URN = "urn:li:sponsoredAccount:"
CAMPAIGN_URN = "urn:li:sponsoredCampaign:"
CAMPAIGN_STATUSES = (
    "ACTIVE",
    "PAUSED",
    "ARCHIVED",
    "COMPLETED",
    "CANCELED",
    "DRAFT",
    "PENDING_DELETION",
    "REMOVED",
)

# the catalog entry of the raw table linkedin_ads__ad_analytics
AD_ANALYTICS = EntitySpec(
    SOURCE,
    "ad_analytics",
    "window",  # restated figures by day: a day holds the latest delivery that covered it
    None,
    "day",
    "iso",
    None,
    required=("account", "campaign", "day", "costInLocalCurrency", "accountCurrency"),
    types=(
        ("day", "date"),
        ("costInLocalCurrency", "decimal"),
        ("clicks", "int"),
        ("impressions", "int"),
    ),
    label_paths=("campaign", "day"),
    key_paths=("account", "campaign", "day"),
    value_path="costInLocalCurrency",
)
ENTITIES: tuple[EntitySpec, ...] = (AD_ANALYTICS,)  # the registry's catalog pointer


class LinkedInRequestError(SourceResponseError):
    """LinkedIn refused a request with a 4xx other than 429 (bad request, no access, an
    inactive version, a token still refused after a refresh): the same answer on every try,
    so the task fails at once instead of retrying."""


def _fail_fast(exc: SourceHttpError) -> SourceHttpError:
    """A refused request (4xx, 429 aside, which the client retries) as a fail-fast error."""
    if exc.status is None or not 400 <= exc.status < 500:
        return exc
    detail = str(exc).split(f"endpoint={exc.endpoint}: ", 1)[-1]
    return LinkedInRequestError(SOURCE, exc.endpoint, detail)


def restli_query(params: Mapping[str, str]) -> str:
    """A query string in Rest.li 2.0 form: values already structured, not re-encoded."""
    return "&".join(f"{name}={value}" for name, value in params.items())


def restli_date(day: date) -> str:
    return f"(year:{day.year},month:{day.month},day:{day.day})"


def restli_date_range(first: date, last: date) -> str:
    """``dateRange`` of the inclusive days first..last."""
    return f"(start:{restli_date(first)},end:{restli_date(last)})"


def restli_list(values: list[str]) -> str:
    """``List(v1,v2)`` with each value URL-encoded (``:`` → ``%3A``)."""
    return "List(" + ",".join(quote(v, safe="") for v in values) + ")"


def element_day(element: dict) -> date | None:
    """The day of a DAILY element (its ``dateRange.start``), or None when it is not one."""
    try:
        start = element["dateRange"]["start"]
        end = element["dateRange"].get("end", start)
        first = date(int(start["year"]), int(start["month"]), int(start["day"]))
        last = date(int(end["year"]), int(end["month"]), int(end["day"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return first if first == last else None


class LinkedInAdsReader:
    """Reads ``ad_analytics`` (campaign × day) for the connection's ad accounts."""

    def __init__(
        self,
        creds: Credentials,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        max_elements: int = MAX_ELEMENTS,
    ):
        creds.require("login", "password", "client_id", "client_secret")
        self.creds = creds
        self.accounts = [a.strip() for a in creds.login.split(",") if a.strip()]
        bad = [a for a in self.accounts if not a.isdigit()]
        if bad or not self.accounts:
            raise LinkedInRequestError(
                SOURCE,
                f"connection {creds.conn_id}",
                f"login must hold ad account ids (digits, comma-separated), got {bad or '∅'}",
            )
        self.version = str(creds.extra.get("linkedin_version") or API_VERSION)
        self.token_uri = str(creds.extra.get("token_uri") or DEFAULT_TOKEN_URI)
        self.max_elements = max_elements
        self.client = JsonHttpClient(
            SOURCE,
            creds.host or DEFAULT_BASE_URL,
            {"LinkedIn-Version": self.version, "X-Restli-Protocol-Version": RESTLI_PROTOCOL},
            policy,
            sleep=sleep,
        )
        self._token: str | None = None
        self.refreshes = 0  # token exchanges made, for tests and run summaries
        self.analytics_requests = 0

    # ------------------------------------------------------------------ OAuth
    def _refresh(self) -> str:
        """Exchange the refresh token for an access token (registered as a secret at once)."""
        try:
            reply = self.client.request(
                "POST",
                self.token_uri,
                form={
                    "grant_type": "refresh_token",
                    "refresh_token": self.creds.password,
                    "client_id": str(self.creds.extra["client_id"]),
                    "client_secret": str(self.creds.extra["client_secret"]),
                },
            )
        except SourceHttpError as exc:
            if (failed := _fail_fast(exc)) is exc:
                raise
            raise failed from exc
        token = reply.get("access_token") if isinstance(reply, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceResponseError(
                SOURCE,
                self.client.endpoint("POST", self.token_uri),
                "expected a JSON object with a string 'access_token' (OAuth token reply)",
            )
        redact.register_secret(token)
        if isinstance(reply.get("refresh_token"), str):
            redact.register_secret(reply["refresh_token"])
        self.refreshes += 1
        self._token = token
        return token

    def _get(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        """GET with the bearer token; a 401 refreshes the token once and retries."""
        url = f"{path}?{restli_query(query)}" if query else path
        for attempt in (1, 2):
            token = self._token or self._refresh()
            try:
                return self.client.request("GET", url, headers={"Authorization": f"Bearer {token}"})
            except SourceHttpError as exc:
                if exc.status == 401 and attempt == 1:
                    log.warning(
                        "source=%s endpoint=%s: 401, refreshing the token", SOURCE, exc.endpoint
                    )
                    self._token = None
                    continue
                if (failed := _fail_fast(exc)) is exc:
                    raise
                raise failed from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ lookups
    def account_currency(self, account: str) -> str:
        path = f"/rest/adAccounts/{account}"
        reply = self._get(path)
        currency = reply.get("currency") if isinstance(reply, dict) else None
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
            raise SourceResponseError(
                SOURCE,
                self.client.endpoint("GET", path),
                f"account {account} has no ISO 4217 'currency' (got {currency!r:.40}): "
                "its spend cannot be valued",
            )
        return currency.upper()

    def campaign_names(self, account: str) -> dict[str, str | None]:
        """Campaign URN → name for every campaign of the account, whatever its status."""
        path = f"/rest/adAccounts/{account}/adCampaigns"
        guard = PageGuard(self.client, self.client.endpoint("GET", path))
        query = {
            "q": "search",
            "search": f"(status:(values:List({','.join(CAMPAIGN_STATUSES)})))",
            "pageSize": str(CAMPAIGN_PAGE_SIZE),
        }
        names: dict[str, str | None] = {}
        while True:
            page = self._get(path, query)
            for campaign in guard.items(page, "elements"):
                if isinstance(campaign, dict) and campaign.get("id") is not None:
                    name = campaign.get("name")
                    names[f"{CAMPAIGN_URN}{campaign['id']}"] = (
                        name if isinstance(name, str) else None
                    )
            token = (page.get("metadata") or {}).get("nextPageToken")
            if not token:
                return names
            guard.advance(token)
            query["pageToken"] = quote(str(token), safe="")

    # ------------------------------------------------------------------ analytics
    def _analytics(self, account: str, first: date, last: date) -> list:
        path = "/rest/adAnalytics"
        query = {
            "q": "analytics",
            "pivot": "CAMPAIGN",
            "timeGranularity": "DAILY",
            "dateRange": restli_date_range(first, last),
            "accounts": restli_list([f"{ACCOUNT_URN}{account}"]),
            "fields": ",".join(FIELDS),
        }
        self.analytics_requests += 1
        reply = self._get(path, query)
        return expect_list(reply, "elements", SOURCE, self.client.endpoint("GET", path))

    def _windows(self, first: date, last: date, campaigns: int) -> Iterator[tuple[date, date]]:
        """Inclusive day ranges in which campaigns × days stays below the element cap."""
        span = max(1, (self.max_elements - 1) // max(1, campaigns))
        while first <= last:
            stop = min(last, first + timedelta(days=span - 1))
            yield first, stop
            first = stop + timedelta(days=1)

    def _elements(self, account: str, first: date, last: date) -> Iterator[Any]:
        """All elements of the days first..last; a reply at the cap is split and re-asked."""
        elements = self._analytics(account, first, last)
        if len(elements) < self.max_elements:
            yield from elements
            return
        if first == last:
            raise SourceResponseError(
                SOURCE,
                "GET /rest/adAnalytics",
                f"account {account} on {first}: {len(elements)} elements reach the cap of "
                f"{self.max_elements} for a single day; the reply may be cut short",
            )
        middle = first + timedelta(days=(last - first).days // 2)
        log.info(
            "source=%s: %d elements (cap) for %s..%s, splitting", SOURCE, len(elements), first, last
        )
        yield from self._elements(account, first, middle)
        yield from self._elements(account, middle + timedelta(days=1), last)

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict | Malformed]:
        if spec.entity != AD_ANALYTICS.entity:
            raise KeyError(f"LinkedIn Ads reader has no entity {spec.entity!r}")
        first, last = start.date(), (end - timedelta(days=1)).date()
        if last < first:
            return
        self._refresh()  # a fresh token per read: the stored one may have lapsed
        for account in self.accounts:
            currency = self.account_currency(account)
            names = self.campaign_names(account)
            seen: dict[tuple[str, str], str] = {}  # (campaign, day) -> element as sent
            for lo, hi in self._windows(first, last, len(names)):
                for element in self._elements(account, lo, hi):
                    row = self._row(element, account, currency, names, first, last)
                    if isinstance(row, dict) and not self._first_time(row, element, seen):
                        continue
                    yield row

    def _first_time(self, row: dict, element: Any, seen: dict[tuple[str, str], str]) -> bool:
        """False for a campaign-day sent again unchanged; a changed twin fails the read.

        A campaign-day twice with two costs cannot be resolved by any rule: loading either
        would silently lose or double spend, so the read stops naming both.
        """
        key = (row["campaign"], row["day"])
        sent = json.dumps(element, sort_keys=True, default=str)
        if key not in seen:
            seen[key] = sent
            return True
        if seen[key] == sent:
            log.warning("source=%s: %s on %s sent twice, kept once", SOURCE, *key)
            return False
        raise SourceResponseError(
            SOURCE,
            "GET /rest/adAnalytics",
            f"{row['account']} {key[0]} on {key[1]} sent twice with different figures: "
            f"{seen[key][:200]} and {sent[:200]}",
        )

    def _row(
        self,
        element: Any,
        account: str,
        currency: str,
        names: dict[str, str | None],
        first: date,
        last: date,
    ) -> dict | Malformed:
        """The element plus account, currency, campaign, name and ISO day; else quarantined."""
        day = element_day(element) if isinstance(element, dict) else None
        pivots = element.get("pivotValues") if isinstance(element, dict) else None
        label = f"account {account}"
        problem = None
        if day is None:
            problem = "dateRange is not a single day"
        elif not first <= day <= last:
            problem = f"day {day} lies outside the requested {first}..{last}"
        elif (
            not isinstance(pivots, list)
            or len(pivots) != 1
            or not str(pivots[0]).startswith(CAMPAIGN_URN)
        ):
            problem = f"pivotValues is not one {CAMPAIGN_URN}… value"
        if problem is not None:
            return Malformed(f"{label} {day or '?'}", problem, json.dumps(element, default=str))
        campaign = str(pivots[0])
        return {
            **element,
            "account": f"{ACCOUNT_URN}{account}",
            "accountCurrency": currency,
            "campaign": campaign,
            "campaignName": names.get(campaign),
            "day": day.isoformat(),
        }


def build_reader(
    creds: Credentials, policy: RetryPolicy, settings: object = None
) -> LinkedInAdsReader:
    """The registry's connector factory: ``smarketing.sources.linkedin_ads:build_reader``."""
    return LinkedInAdsReader(creds, policy)
