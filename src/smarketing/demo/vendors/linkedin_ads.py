"""LinkedIn Marketing API as the demo company's vendor: wire format, endpoints, limits, errors.

The demo company's LinkedIn campaigns are simulated here (:func:`simulate`, called by the demo
world for every registered vendor that has it: leads the company knows click its ads, from an
RNG of its own) and written in the form the connector lands them (:func:`landed_row`): the
``adAnalytics`` element plus ``account``, ``accountCurrency``, ``campaign``, ``campaignName``
and ``day``. From such rows :class:`LinkedInAdsApi` answers, as LinkedIn does (see
:mod:`smarketing.sources.linkedin_ads` for the documentation behind each):

* ``POST /oauth/v2/accessToken`` (``grant_type=refresh_token``): a new access token per
  exchange; a wrong refresh token or client is answered 400 ``invalid_grant``.
* ``GET /rest/adAccounts/{id}``: the account with its ``currency``.
* ``GET /rest/adAccounts/{id}/adCampaigns?q=search``: cursor paging, ``pageSize`` (default
  100, at most 1,000) and ``metadata.nextPageToken``; ``search=(status:(values:List(…)))``.
* ``GET /rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY&dateRange=…&
  accounts=List(…)&fields=…``: Rest.li 2.0 syntax only (an encoded ``%28`` is a 400, as a
  2.0 parser sees it), no paging, at most ``max_elements`` elements (the rest is cut off),
  at most 20 fields, only the requested fields, no element for a campaign-day without
  activity.

Every ``/rest`` call needs ``LinkedIn-Version`` (missing: 400 ``VERSION_MISSING``; not
active: 426 ``NONEXISTENT_VERSION``), ``X-Restli-Protocol-Version: 2.0.0`` and a live bearer
token (401 ``INVALID_ACCESS_TOKEN``, serviceErrorCode 65600 as LinkedIn answers; a lapsed
token ``EXPIRED_ACCESS_TOKEN`` 65602, a code assumed here); a query string over 4 KB or
a URL over 8 KB is 414; more calls than ``daily_quota`` are 429 with LinkedIn's throttle body
(serviceErrorCode 101), no ``Retry-After``. Errors use LinkedIn's body
``{"status", "serviceErrorCode", "code", "message"}``.

Test hooks: :meth:`LinkedInAdsApi.expire_tokens`
(every token lapses), ``token_lifetime_calls`` (each token lapses after that many calls),
``faults`` (queued statuses per path prefix, with an optional ``Retry-After``) and
``echo_credentials`` (a hostile vendor quoting the request's ``Authorization`` header in
its error bodies).

:class:`LinkedInAdsServer` serves one API on 127.0.0.1 on its own (the connector's tests);
:class:`Api` mounts it on the demo server (``smarketing.demo.server``) over the demo file,
for every path under :data:`PATH_PREFIXES`.
"""

from __future__ import annotations

import base64
import json
import random
import re
import secrets
import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from smarketing.demo.vendors.files import IndexCache, write_jsonl
from smarketing.demo.world import AdDay, Session, World
from smarketing.sources.linkedin_ads import ACCOUNT_URN, API_VERSION, CAMPAIGN_URN, SOURCE

PATH_PREFIXES = ("/rest/", "/oauth/v2/")  # what the demo server routes here
TOKEN_PATH = "/oauth/v2/accessToken"
DEMO_ACCOUNT_ID = "508877001"
DEMO_CLIENT_ID = "demo-linkedin-client"
DEMO_CLIENT_SECRET = "demo-linkedin-client-secret"
DEMO_REFRESH_TOKEN = "AQXdemoLinkedInRefreshToken0000000000000001"
MAX_ELEMENTS = 15_000
MAX_FIELDS = 20
MAX_PAGE_SIZE = 1_000
MAX_QUERY_BYTES = 4 * 1024
MAX_URL_BYTES = 8 * 1024
ACCESS_TOKEN_SECONDS = 60 * 24 * 3600
REFRESH_TOKEN_SECONDS = 365 * 24 * 3600
Reply = tuple[int, Any, dict[str, str]]


class LinkedInError(Exception):
    """A request LinkedIn refuses, answered with its JSON error body."""

    def __init__(self, status: int, code: str, message: str, service_error_code: int | None = None):
        super().__init__(message)
        self.status = status
        self.body = {
            "status": status,
            "serviceErrorCode": service_error_code if service_error_code is not None else status,
            "code": code,
            "message": message,
        }


def landed_row(
    account_id: str,
    currency: str,
    campaign_id: str,
    campaign_name: str | None,
    day: date,
    cost: Decimal | str,
    clicks: int,
    impressions: int,
) -> dict:
    """One campaign-day as the connector lands it: the element plus the five added fields."""
    return {
        "pivotValues": [f"{CAMPAIGN_URN}{campaign_id}"],
        "dateRange": {
            "start": {"year": day.year, "month": day.month, "day": day.day},
            "end": {"year": day.year, "month": day.month, "day": day.day},
        },
        "costInLocalCurrency": str(cost),
        "impressions": int(impressions),
        "clicks": int(clicks),
        "account": f"{ACCOUNT_URN}{account_id}",
        "accountCurrency": currency,
        "campaign": f"{CAMPAIGN_URN}{campaign_id}",
        "campaignName": campaign_name,
        "day": day.isoformat(),
    }


# ---------------------------------------------------------------- the demo world's side
# LinkedIn campaigns of the demo company (B2B: account-based marketing and webinar demand
# generation, shown to the people it already knows); its ad account bills in pounds, a third
# currency beside Google's dollars and Meta's euros
FOLDER = "linkedin_ads"
LINKEDIN_CAMPAIGNS = (("7001", "abm_enterprise"), ("7002", "webinar_demand_gen"))
DEMO_ACCOUNT_CURRENCY = "GBP"
UTM_SOURCE, UTM_MEDIUM = "linkedin", "paid_social"
CLICKS_PER_DAY = 6.0  # at scale 1.0: known leads clicking a LinkedIn ad (±50 % a day)


def channel() -> str:
    """The channel LinkedIn's clicks arrive as: the registry entry's (one home)."""
    from smarketing.vendors import get_vendor

    ads = get_vendor(SOURCE).ads
    assert ads is not None
    return ads.channel


def li_fat_id(rng: random.Random) -> str:
    """LinkedIn's click id (``li_fat_id``), appended to the landing URL of an ad click."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def simulate(world: World, seed: int, scale: float) -> None:
    """The company's LinkedIn campaigns, drawn from an RNG of their own per day.

    Each day some leads already known with a web visitor id (retargeted through LinkedIn's
    matched audiences) click an ad: a web session tagged with LinkedIn's UTM values and its
    click id ``li_fat_id``, the visitor's own, after the lead's first visit (so the leads'
    first touches, the funnel and every other vendor's file stay as they were). Every day
    each campaign serves impressions, so it costs something even without a click.
    """
    known_leads = sorted(
        (c for c in world.contacts if c.ga_client_id is not None), key=lambda c: c.lead_at
    )
    paid_channel, known, day = channel(), 0, world.start
    while day <= world.end:
        rng = random.Random(f"{seed}:{SOURCE}:{day.isoformat()}")
        day_start = datetime.combine(day, datetime.min.time(), UTC)
        while known < len(known_leads) and known_leads[known].lead_at < day_start:
            known += 1
        n = round(CLICKS_PER_DAY * max(scale, 0.0) * rng.uniform(0.5, 1.5)) if known else 0
        clicks: dict[str, int] = defaultdict(int)
        for _ in range(n):
            lead = known_leads[rng.randrange(known)]
            _, campaign = rng.choice(LINKEDIN_CAMPAIGNS)
            started = day_start + timedelta(seconds=rng.randrange(0, 86_400 - 3_600))
            pages = rng.randint(1, 4)
            world.sessions.append(
                Session(
                    str(lead.ga_client_id),
                    int(started.timestamp()),
                    started,
                    paid_channel,
                    UTM_SOURCE,
                    UTM_MEDIUM,
                    campaign,
                    None,
                    pages,
                    click_params=(("li_fat_id", li_fat_id(rng)),),
                )
            )
            clicks[campaign] += 1
        world.ad_days.extend(ad_days_for_day(rng, day, clicks, paid_channel))
        day += timedelta(days=1)


def ad_days_for_day(
    rng: random.Random, day: date, clicks: Mapping[str, int], paid_channel: str
) -> list[AdDay]:
    """Each campaign's day: its clicks (the sessions its ads brought) and what it cost.

    ``clicks`` maps campaign name → clicks that day. Every campaign serves impressions each
    day; cost is its clicks at a CPC of £6.00–£14.00 plus a CPM of £8.00–£12.00 on the
    impressions, in whole pence, so the ground truth sums it exactly.
    """
    days = []
    for campaign_id, name in LINKEDIN_CAMPAIGNS:
        n = clicks.get(name, 0)
        cpc_pence, cpm_pence = rng.randint(600, 1400), rng.randint(800, 1200)
        impressions = n * rng.randint(60, 140) + rng.randint(200, 800)
        pence = n * cpc_pence + impressions * cpm_pence // 1000
        days.append(
            AdDay(
                SOURCE,
                campaign_id,
                name,
                day,
                impressions,
                n,
                pence,
                DEMO_ACCOUNT_CURRENCY,
                paid_channel,
            )
        )
    return days


def write(world: World, out_dir: Path) -> None:
    """``linkedin_ads/ad_analytics.jsonl``: the world's LinkedIn days as the connector lands
    them (what the demo server's adAnalytics answers from)."""
    rows = [
        landed_row(
            DEMO_ACCOUNT_ID,
            ad.currency,
            ad.campaign_id,
            ad.campaign_name,
            ad.day,
            f"{ad.spend_cents // 100}.{ad.spend_cents % 100:02d}",
            ad.clicks,
            ad.impressions,
        )
        for ad in world.ad_days_of(SOURCE)
    ]
    write_jsonl(out_dir / FOLDER / "ad_analytics.jsonl", rows)


ELEMENT_FIELDS = ("pivotValues", "dateRange", "costInLocalCurrency", "impressions", "clicks")


def element(row: Mapping[str, Any]) -> dict:
    """The ``adAnalytics`` element of a landed row (what LinkedIn sends)."""
    return {k: row[k] for k in ELEMENT_FIELDS if k in row}


@dataclass
class _Campaign:
    id: str
    account_id: str
    name: str | None
    status: str = "ACTIVE"


@dataclass
class _Faults:
    """Queued failures per path prefix: each matching request pops one (status, Retry-After)."""

    queue: dict[str, deque[tuple[int, str | None]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, prefix: str, statuses: Iterable[int], retry_after: str | None = None) -> None:
        with self.lock:
            self.queue[prefix].extend((s, retry_after) for s in statuses)

    def pop(self, path: str) -> tuple[int, str | None] | None:
        with self.lock:
            for prefix, queue in self.queue.items():
                if path.startswith(prefix) and queue:
                    return queue.popleft()
        return None


class LinkedInAdsApi:
    """The endpoints, answered from landed rows; :meth:`handle` is the whole HTTP surface."""

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        *,
        campaigns: Iterable[Mapping[str, Any]] = (),
        unlisted_campaigns: Iterable[str] = (),
        refresh_token: str = DEMO_REFRESH_TOKEN,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        active_versions: Iterable[str] = (API_VERSION,),
        max_elements: int = MAX_ELEMENTS,
        daily_quota: int | None = None,
        token_lifetime_calls: int | None = None,
        echo_credentials: bool = False,
    ):
        self._extra_campaigns = [dict(c) for c in campaigns]
        self.replace_rows(rows)
        self.unlisted = set(unlisted_campaigns)  # spent, but missing from the listing
        self.refresh_token, self.client_id, self.client_secret = (
            refresh_token,
            client_id,
            client_secret,
        )
        self.active_versions = set(active_versions)
        self.max_elements = max_elements
        self.daily_quota = daily_quota
        self.echo_credentials = echo_credentials
        self.token_lifetime_calls = token_lifetime_calls  # a token lapses after N calls
        self._token_calls: dict[str, int] = defaultdict(int)
        self.faults = _Faults()
        self.requests: list[str] = []  # "METHOD /path?query" of every request, in order
        self.tokens_issued: list[str] = []
        self._live: set[str] = set()
        self._expired: set[str] = set()
        self._calls = 0
        self._lock = threading.Lock()

    def replace_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Answer from these landed rows from now on (tokens issued stay valid)."""
        self.rows = [dict(r) for r in rows]
        self.accounts: dict[str, str] = {}  # account id -> currency
        self.campaigns: dict[str, _Campaign] = {}
        for row in self.rows:
            account_id = str(row["account"]).removeprefix(ACCOUNT_URN)
            self.accounts.setdefault(account_id, str(row["accountCurrency"]))
            campaign_id = str(row["campaign"]).removeprefix(CAMPAIGN_URN)
            self.campaigns.setdefault(
                campaign_id, _Campaign(campaign_id, account_id, row.get("campaignName"))
            )
        for extra in self._extra_campaigns:  # campaigns without spend (paused, archived…)
            self.accounts.setdefault(str(extra["account_id"]), str(extra.get("currency", "USD")))
            self.campaigns[str(extra["id"])] = _Campaign(
                str(extra["id"]),
                str(extra["account_id"]),
                extra.get("name"),
                str(extra.get("status", "ACTIVE")),
            )

    @classmethod
    def from_jsonl(cls, path: Path, **options: Any) -> LinkedInAdsApi:
        """The API over a demo file of landed rows (``<demo>/linkedin_ads/ad_analytics.jsonl``)."""
        with path.open(encoding="utf-8") as lines:
            return cls((json.loads(line) for line in lines if line.strip()), **options)

    # ------------------------------------------------------------------ tokens
    def expire_tokens(self) -> None:
        """Every access token issued so far lapses (as at 60 days, or revoked)."""
        with self._lock:
            self._expired |= self._live
            self._live.clear()

    def _issue(self, form: Mapping[str, str]) -> Reply:
        if (
            form.get("grant_type") != "refresh_token"
            or form.get("refresh_token") != self.refresh_token
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return (
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant or refresh token "
                    "is invalid, expired or revoked",
                },
                {},
            )
        token = "AQV" + secrets.token_urlsafe(48)
        with self._lock:
            self._live.add(token)
            self.tokens_issued.append(token)
        return (
            200,
            {
                "access_token": token,
                "expires_in": ACCESS_TOKEN_SECONDS,
                "refresh_token": self.refresh_token,
                "refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
            },
            {},
        )

    def _authorise(self, headers: Mapping[str, str]) -> None:
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not token:
            raise LinkedInError(401, "EMPTY_ACCESS_TOKEN", "Empty oauth2_access_token", 401)
        if token in self._expired:
            raise LinkedInError(
                401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65602
            )
        if token not in self._live:
            raise LinkedInError(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
        with self._lock:
            self._token_calls[token] += 1
            lapsed = (
                self.token_lifetime_calls is not None
                and self._token_calls[token] > self.token_lifetime_calls
            )
            if lapsed:
                self._live.discard(token)
                self._expired.add(token)
        if lapsed:
            raise LinkedInError(
                401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65602
            )

    # ------------------------------------------------------------------ HTTP surface
    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes = b""
    ) -> Reply:
        """Answer one request: ``target`` is path and raw query; headers any case."""
        headers = {k.lower(): v for k, v in headers.items()}
        parts = urlsplit(target)
        path, raw_query = parts.path, parts.query
        with self._lock:
            self.requests.append(f"{method} {target}")
        fault = self.faults.pop(path)
        if fault is not None:
            status, retry_after = fault
            extra = {"Retry-After": retry_after} if retry_after is not None else {}
            return status, {"status": status, "message": f"injected {status}"}, extra
        try:
            if method == "POST" and path == TOKEN_PATH:
                form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
                return self._issue(form)
            if not path.startswith("/rest/"):
                raise LinkedInError(404, "NOT_FOUND", f"No resource found for {path}", 404)
            return 200, self._rest(method, path, raw_query, headers), {}
        except LinkedInError as exc:
            payload = dict(exc.body)
            if self.echo_credentials:  # a hostile vendor quoting what it was sent
                payload["message"] += (
                    f" (request had Authorization: {headers.get('authorization')})"
                )
            return exc.status, payload, {}

    def _rest(self, method: str, path: str, raw_query: str, headers: Mapping[str, str]) -> Any:
        if len(raw_query.encode()) > MAX_QUERY_BYTES or len(path) + len(raw_query) > MAX_URL_BYTES:
            raise LinkedInError(414, "URI_TOO_LONG", "Request-URI Too Long", 414)
        version = headers.get("linkedin-version")
        if not version:
            raise LinkedInError(
                400,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the "
                "LinkedIn-Version header.",
            )
        if version not in self.active_versions:
            raise LinkedInError(
                426, "NONEXISTENT_VERSION", f"Requested version {version} is not active"
            )
        self._authorise(headers)
        with self._lock:
            self._calls += 1
            over = self.daily_quota is not None and self._calls > self.daily_quota
        if over:
            raise LinkedInError(
                429,
                "TOO_MANY_REQUESTS",
                "Resource level throttle limit for calls to this resource is reached.",
                101,
            )
        if headers.get("x-restli-protocol-version") != "2.0.0":
            raise LinkedInError(
                400, "ILLEGAL_ARGUMENT", "Rest.li protocol 2.0.0 is required for this resource"
            )
        if method != "GET":
            raise LinkedInError(405, "METHOD_NOT_ALLOWED", f"{method} not allowed on {path}", 405)
        query = _raw_params(raw_query)
        if m := re.fullmatch(r"/rest/adAccounts/(\d+)", path):
            return self._account(m.group(1))
        if m := re.fullmatch(r"/rest/adAccounts/(\d+)/adCampaigns", path):
            return self._campaigns(m.group(1), query)
        if path == "/rest/adAnalytics":
            return self._analytics(query)
        raise LinkedInError(404, "NOT_FOUND", f"No resource found for {path}", 404)

    # ------------------------------------------------------------------ resources
    def _account(self, account_id: str) -> dict:
        if account_id not in self.accounts:
            raise LinkedInError(404, "NOT_FOUND", f"Ad account {account_id} not found", 404)
        return {
            "id": int(account_id),
            "name": f"Demo account {account_id}",
            "currency": self.accounts[account_id],
            "status": "ACTIVE",
            "type": "BUSINESS",
            "test": False,
            "reference": "urn:li:organization:2414183",
        }

    def _campaigns(self, account_id: str, query: Mapping[str, str]) -> dict:
        if query.get("q") != "search":
            raise LinkedInError(400, "ILLEGAL_ARGUMENT", "Query parameter q must be 'search'")
        if account_id not in self.accounts:
            raise LinkedInError(404, "NOT_FOUND", f"Ad account {account_id} not found", 404)
        statuses: set[str] | None = None
        if "search" in query:
            m = re.fullmatch(r"\(status:\(values:List\(([A-Z_,]*)\)\)\)", query["search"])
            if not m:
                raise LinkedInError(400, "ILLEGAL_ARGUMENT", f"Invalid search: {query['search']}")
            statuses = set(m.group(1).split(","))
        size = _int(query.get("pageSize", "100"), "pageSize")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise LinkedInError(400, "ILLEGAL_ARGUMENT", f"pageSize must be 1..{MAX_PAGE_SIZE}")
        offset = 0
        if "pageToken" in query:
            try:
                offset = int(base64.urlsafe_b64decode(unquote(query["pageToken"])).decode())
            except ValueError as exc:
                raise LinkedInError(400, "ILLEGAL_ARGUMENT", "Invalid pageToken") from exc
        listed = sorted(
            (
                c
                for c in self.campaigns.values()
                if c.account_id == account_id
                and c.id not in self.unlisted
                and (statuses is None or c.status in statuses)
            ),
            key=lambda c: int(c.id),
        )
        page = listed[offset : offset + size]
        out: dict[str, Any] = {
            "paging": {"start": offset, "count": size, "links": []},
            "elements": [
                {
                    "id": int(c.id),
                    "account": f"{ACCOUNT_URN}{c.account_id}",
                    "name": c.name,
                    "status": c.status,
                    "type": "SPONSORED_UPDATES",
                    "costType": "CPC",
                }
                for c in page
            ],
            "metadata": {},
        }
        if offset + size < len(listed):
            token = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
            out["metadata"]["nextPageToken"] = token
        return out

    def _analytics(self, query: Mapping[str, str]) -> dict:
        if query.get("q") != "analytics":
            raise LinkedInError(400, "ILLEGAL_ARGUMENT", "Query parameter q must be 'analytics'")
        if query.get("pivot") != "CAMPAIGN":
            raise LinkedInError(400, "ILLEGAL_ARGUMENT", "the demo answers pivot=CAMPAIGN only")
        if query.get("timeGranularity") != "DAILY":
            raise LinkedInError(
                400, "ILLEGAL_ARGUMENT", "the demo answers timeGranularity=DAILY only"
            )
        first, last = _date_range(query.get("dateRange", ""))
        accounts = _urn_list(query.get("accounts", ""), ACCOUNT_URN, "accounts")
        fields = [f for f in query.get("fields", "").split(",") if f]
        if not fields:
            fields = ["impressions", "clicks"]  # without a projection: the two default metrics
        if len(fields) > MAX_FIELDS:
            raise LinkedInError(
                400, "ILLEGAL_ARGUMENT", f"At most {MAX_FIELDS} fields may be requested"
            )
        wanted = {f"{ACCOUNT_URN}{a}" for a in accounts}
        matched = sorted(
            (
                r
                for r in self.rows
                if r["account"] in wanted and first.isoformat() <= r["day"] <= last.isoformat()
            ),
            key=lambda r: (r["day"], int(str(r["campaign"]).removeprefix(CAMPAIGN_URN))),
        )
        shown = matched[: self.max_elements]  # no paging: what is beyond the cap never comes
        elements = [{k: v for k, v in element(r).items() if k in fields} for r in shown]
        return {"paging": {"start": 0, "count": 10, "links": []}, "elements": elements}


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise LinkedInError(400, "ILLEGAL_ARGUMENT", f"{name} is not a number: {value!r}") from exc


def _raw_params(raw_query: str) -> dict[str, str]:
    """Query parameters as sent: Rest.li structure intact (values decoded later, per part)."""
    params: dict[str, str] = {}
    for pair in raw_query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            params[unquote(name)] = value
    return params


_DATE = r"\(year:(\d{4}),month:(\d{1,2}),day:(\d{1,2})\)"


def _date_range(value: str) -> tuple[date, date]:
    m = re.fullmatch(rf"\(start:{_DATE}(?:,end:{_DATE})?\)", value)
    if not m:
        raise LinkedInError(
            400,
            "ILLEGAL_ARGUMENT",
            f"Invalid dateRange {unquote(value)[:80]!r}: expected "
            "(start:(year:Y,month:M,day:D),end:(year:Y,month:M,day:D)) in Rest.li 2.0 syntax",
        )
    g = m.groups()
    try:
        first = date(int(g[0]), int(g[1]), int(g[2]))
        last = date(int(g[3]), int(g[4]), int(g[5])) if g[3] else date.max
    except ValueError as exc:
        raise LinkedInError(400, "ILLEGAL_ARGUMENT", f"Invalid date in dateRange: {exc}") from exc
    if last < first:
        raise LinkedInError(400, "ILLEGAL_ARGUMENT", "dateRange end lies before its start")
    return first, last


def _urn_list(value: str, prefix: str, name: str) -> list[str]:
    m = re.fullmatch(r"List\(([^()]*)\)", value)
    if not m:
        raise LinkedInError(
            400, "ILLEGAL_ARGUMENT", f"Invalid {name} {unquote(value)[:80]!r}: expected List(…)"
        )
    ids = []
    for item in m.group(1).split(","):
        urn = unquote(item)
        if not urn.startswith(prefix) or not urn.removeprefix(prefix).isdigit():
            raise LinkedInError(400, "ILLEGAL_ARGUMENT", f"Invalid {name} value {urn[:80]!r}")
        ids.append(urn.removeprefix(prefix))
    return ids


class _Handler(BaseHTTPRequestHandler):
    server: LinkedInAdsServer

    def log_message(self, fmt: str, *args: Any) -> None:  # keep test output quiet
        return

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload, headers = self.server.api.handle(
            method, self.path, dict(self.headers.items()), body
        )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")


class LinkedInAdsServer(ThreadingHTTPServer):
    """``with LinkedInAdsServer(api) as srv:`` serves the API on ``srv.url`` (127.0.0.1)."""

    daemon_threads = True

    def __init__(self, api: LinkedInAdsApi, port: int = 0):
        super().__init__(("127.0.0.1", port), _Handler)
        self.api = api
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LinkedInAdsServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def connection(server_url: str, account_ids: Iterable[str] = (DEMO_ACCOUNT_ID,)) -> dict:
    """The ``smarketing_linkedin_ads`` connection (Airflow's JSON form) for a demo server."""
    return {
        "conn_type": "http",
        "host": server_url,
        "login": ",".join(account_ids),
        "password": DEMO_REFRESH_TOKEN,
        "extra": {
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "token_uri": f"{server_url}{TOKEN_PATH}",
        },
    }


# ---------------------------------------------------------------- on the demo server
SECRETS = {  # the demo's well-known fake credentials
    "linkedin_refresh": DEMO_REFRESH_TOKEN,
    "linkedin_client_secret": DEMO_CLIENT_SECRET,
}


class Api:
    """LinkedIn's endpoints mounted on the demo server (``smarketing.demo.server``), answered
    from ``<demo>/linkedin_ads/ad_analytics.jsonl``, re-read when the file changes; the
    tokens issued outlive a new version of the file."""

    prefixes = PATH_PREFIXES

    def __init__(self, demo_dir: Path, page_size: int = 100):
        self.path = demo_dir / FOLDER / "ad_analytics.jsonl"
        self.indexes = IndexCache()
        self.api = LinkedInAdsApi(())
        self._rows: list[dict] | None = None
        self._lock = threading.Lock()

    def handle(
        self, method: str, path: str, query: Any, headers: Any, body: Callable[[], bytes]
    ) -> Reply:
        rows = self.indexes.get(self.path, "rows", list)
        with self._lock:
            if rows is not self._rows:
                self.api.replace_rows(rows)
                self._rows = rows
        raw = getattr(query, "raw", "")  # Rest.li 2.0 needs the query string as sent
        return self.api.handle(method, f"{path}?{raw}" if raw else path, dict(headers), body())

    @staticmethod
    def error(exc: Exception) -> tuple[int, Any] | None:
        return None


def demo_connection(server_url: str, demo_dir: Path) -> dict:
    """The ``smarketing_linkedin_ads`` connection (Airflow's JSON form) for the demo server."""
    return connection(server_url)
