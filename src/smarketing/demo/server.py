"""The demo company's vendor APIs on 127.0.0.1, speaking each vendor's wire format.

The connectors in ``smarketing.sources`` run unchanged against this server and against the
real vendors. It serves the files ``smarketing demo generate`` wrote:

* HubSpot CRM v3: ``POST /crm/v3/objects/{contacts,companies,deals,calls,emails,meetings}/search``
  (filter on last-modified, cursor paging ``paging.next.after``) and
  ``POST /crm/v4/associations/{deals,calls,emails,meetings}/contacts/batch/read`` (answered
  with each object's current associations, as HubSpot does).
* Mailchimp Marketing v3: ``GET /3.0/campaigns`` and ``GET /3.0/reports/{id}/email-activity``
  (offset/count paging).
* Google Ads: ``POST /token`` (OAuth refresh) and
  ``POST /v18/customers/{id}/googleAds:searchStream``: GAQL ``FROM ad_group`` with
  ``segments.date BETWEEN``, or ``FROM click_view`` with a single-day ``segments.date =``
  filter (without one it is answered 400 ``EXPECTED_FILTER_ON_A_SINGLE_DAY``, as Google does).
* Meta Marketing: ``GET /v19.0/act_{id}/insights`` (``time_range``, cursor paging).

HubSpot's limits are enforced as HubSpot does: a search pages through at most 10,000
results (a request beyond is answered 400 with HubSpot's ``VALIDATION_ERROR`` body) and, when
the server is started with ``hubspot_search_per_second``, more search requests than that in
one second are answered 429 with HubSpot's ``RATE_LIMIT`` body.

Files are parsed once and kept while they are unchanged (size and mtime), and a search's
result list is kept for its following pages: a page costs a slice, not a re-read, so extract
time measures the connectors.

The demo world is a simulation: an object search answers as if it ran at the end of its
time filter (the state the object had then). Faults can be injected per path for tests:
``server.faults.add("/3.0/campaigns", [429, 500])`` makes the next two matching requests fail.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import OrderedDict, defaultdict, deque
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from smarketing.pseudonyms import demo_key
from smarketing.sources.catalog import ENTITIES, EntitySpec
from smarketing.sources.demo_files import DemoFileReader, parse_ts

DEMO_TOKENS = {
    "hubspot": "demo-hubspot-private-app-token",
    "mailchimp": "demo-mailchimp-key-us1",
    "google_ads_developer": "demo-developer-token",
    "google_ads_refresh": "demo-refresh-token",
    "meta": "demo-meta-access-token",
}
GOOGLE_ACCESS_TOKEN = "demo-google-access-token"
SPECS = {s.raw_table: s for s in ENTITIES}
# HubSpot-defined association type ids of <object> → contact
CONTACT_ASSOCIATION_TYPES = {"deals": 3, "calls": 194, "emails": 198, "meetings": 200}


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


HUBSPOT_SEARCH_CAP = 10_000


class HubSpotError(ValueError):
    """A request HubSpot refuses, answered with its JSON error body."""

    def __init__(self, status: int, category: str, message: str, **extra: str):
        super().__init__(message)
        self.status = status
        self.body = {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category,
            **extra,
        }


class RateLimiter:
    """At most ``per_second`` calls in any one-second window (HubSpot's search limit)."""

    def __init__(self, per_second: float | None):
        self.per_second = per_second
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()
        self.refused = 0

    def allow(self) -> bool:
        if not self.per_second:
            return True
        with self._lock:
            now = time.monotonic()
            while self._calls and now - self._calls[0] >= 1.0:
                self._calls.popleft()
            if len(self._calls) >= self.per_second:
                self.refused += 1
                return False
            self._calls.append(now)
            return True


class CachedFileReader(DemoFileReader):
    """The demo reader with each file parsed once while it is unchanged (size, mtime)."""

    def __init__(self, demo_dir: Path):
        super().__init__(demo_dir)
        self._parsed: dict[Path, tuple[tuple[int, int], list[dict]]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def signature(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return (st.st_size, st.st_mtime_ns)

    def _lines(self, path: Path, spec: EntitySpec) -> Iterator[dict]:
        sig = self.signature(path)
        if sig is None:
            return iter(())
        with self._lock:
            cached = self._parsed.get(path)
        if cached is None or cached[0] != sig:
            rows = list(super()._lines(path, spec))
            with self._lock:
                self._parsed[path] = (sig, rows)
            cached = (sig, rows)
        return iter(cached[1])


class Faults:
    """Queued failures per path prefix: each matching request pops one status code."""

    def __init__(self) -> None:
        self._queue: dict[str, deque[tuple[int, str | None]]] = defaultdict(deque)
        self._lock = threading.Lock()

    def add(self, path_prefix: str, statuses: Iterable[int], retry_after: str | None = None):
        with self._lock:
            self._queue[path_prefix].extend((s, retry_after) for s in statuses)

    def pop(self, path: str) -> tuple[int, str | None] | None:
        with self._lock:
            for prefix, queue in self._queue.items():
                if path.startswith(prefix) and queue:
                    return queue.popleft()
        return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _from_ms(value: str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, UTC)


class DemoApi:
    """Answers the vendor endpoints from the demo files (no HTTP here: easy to test)."""

    def __init__(self, demo_dir: Path, page_size: int = 100):
        self.demo_dir = demo_dir
        self.reader = CachedFileReader(demo_dir)
        self.page_size = page_size
        self.search_cap = HUBSPOT_SEARCH_CAP
        # a search's sorted results, kept for its next pages (small LRU)
        self._searches: OrderedDict[tuple, list[dict]] = OrderedDict()
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- HubSpot
    def hubspot_search(self, obj: str, body: dict) -> dict:
        spec = SPECS[f"hubspot__{obj}"]
        offset, limit = int(body.get("after") or 0), min(int(body.get("limit", 10)), 200)
        if offset + min(limit, self.page_size) > self.search_cap:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Search results are limited to {self.search_cap} total results; paging"
                f" beyond (after={offset}, limit={limit}) is not supported. Narrow the filters.",
            )
        start, end = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
        for group in body.get("filterGroups", []):
            for f in group.get("filters", []):
                if f.get("operator") == "GTE":
                    start = _from_ms(f["value"])
                elif f.get("operator") == "LT":
                    end = _from_ms(f["value"])
        path = self.demo_dir / "hubspot" / f"{obj}.jsonl"
        key = (obj, start, end, CachedFileReader.signature(path))
        with self._lock:
            results = self._searches.get(key)
            if results is not None:
                self._searches.move_to_end(key)
        if results is None:
            rows = sorted(
                self.reader.read(spec, start, end), key=lambda r: (r["updatedAt"], r["id"])
            )
            results = [{k: v for k, v in row.items() if k != "associations"} for row in rows]
            with self._lock:
                self._searches[key] = results
                while len(self._searches) > 16:
                    self._searches.popitem(last=False)
        return self._cursor_page(results, body.get("after"), limit)

    def _cursor_page(self, results: list[dict], after: str | None, limit: int) -> dict:
        offset = int(after or 0)
        limit = min(limit, self.page_size)
        page = results[offset : offset + limit]
        out: dict[str, Any] = {"total": len(results), "results": page}
        if offset + limit < len(results):
            out["paging"] = {"next": {"after": str(offset + limit)}}
        return out

    def hubspot_contact_associations(self, obj: str, body: dict) -> dict:
        """v4 batch read ``{obj}`` → contacts: the contacts of each object's latest version."""
        type_id = CONTACT_ASSOCIATION_TYPES[obj]
        wanted = {str(i["id"]) for i in body.get("inputs", [])}
        latest: dict[str, dict] = {}
        path = self.demo_dir / "hubspot" / f"{obj}.jsonl"
        for record in self.reader._lines(path, SPECS[f"hubspot__{obj}"]):
            if record["id"] in wanted:
                latest[record["id"]] = record
        results = []
        for object_id in sorted(wanted & latest.keys()):
            assoc = latest[object_id].get("associations", {}).get("contacts", {}).get("results", [])
            results.append(
                {
                    "from": {"id": object_id},
                    "to": [
                        {
                            "toObjectId": int(a["id"]),
                            "associationTypes": [
                                {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                            ],
                        }
                        for a in assoc
                    ],
                }
            )
        return {"status": "COMPLETE", "results": results}

    # ---------------------------------------------------------------- Mailchimp
    def mailchimp_campaigns(self, query: dict[str, str]) -> dict:
        since = parse_ts(query.get("since_send_time", "1970-01-01T00:00:00Z"))
        before = parse_ts(query.get("before_send_time", "9999-01-01T00:00:00Z"))
        path = self.demo_dir / "mailchimp" / "campaigns.jsonl"
        rows = [
            r
            for r in self.reader._lines(path, SPECS["mailchimp__campaigns"])
            if since <= parse_ts(r["send_time"]) < before
        ]
        rows.sort(key=lambda r: (r["send_time"], r.get("id", "")))
        return self._offset_page("campaigns", rows, query)

    def _offset_page(self, key: str, rows: list[dict], query: dict[str, str]) -> dict:
        offset = int(query.get("offset", 0))
        count = min(int(query.get("count", 10)), self.page_size, 1000)
        return {key: rows[offset : offset + count], "total_items": len(rows)}

    def mailchimp_email_activity(self, campaign_id: str, query: dict[str, str]) -> dict:
        since = parse_ts(query.get("since", "1970-01-01T00:00:00Z"))
        members: dict[str, dict] = {}
        path = self.demo_dir / "mailchimp" / "email_activity.jsonl"
        for act in self.reader._lines(path, SPECS["mailchimp__email_activity"]):
            if act.get("campaign_id") != campaign_id or parse_ts(act["timestamp"]) < since:
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
            member_keys = ("campaign_id", "list_id", "email_id", "email_address")
            entry = {k: v for k, v in act.items() if k not in member_keys}
            member["activity"].append(entry)
        rows = sorted(members.values(), key=lambda m: m["email_address"])
        out = self._offset_page("emails", rows, query)
        out["campaign_id"] = campaign_id
        return out

    # ---------------------------------------------------------------- Google Ads
    def google_search_stream(self, customer_id: str, body: dict) -> list[dict]:
        query = body.get("query", "")
        if re.search(r"\bFROM\s+click_view\b", query, re.IGNORECASE):
            return self._google_click_view(customer_id, query)
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
            for r in self._google_rows("google_ads__campaign_stats", first, last)
            if r["customer"]["id"] == customer_id
        ]
        mask = "campaign.id,campaign.name,adGroup.id,segments.date,metrics.impressions,"
        mask += "metrics.clicks,metrics.costMicros,customer.currencyCode"
        return self._google_batches(rows, mask)

    def _google_click_view(self, customer_id: str, query: str) -> list[dict]:
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
            for r in self._google_rows("google_ads__clicks", day, day)
            if r["clickView"]["resourceName"].startswith(prefix)
        ]
        mask = "clickView.gclid,segments.date,campaign.id,campaign.name,adGroup.id,"
        mask += "clickView.adGroupAd"
        return self._google_batches(rows, mask)

    def _google_rows(self, table: str, first: date, last: date) -> list[dict]:
        start = datetime.combine(first, datetime.min.time(), UTC)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
        return list(self.reader.read(SPECS[table], start, end))

    def _google_batches(self, rows: list[dict], mask: str) -> list[dict]:
        """searchStream's reply: the rows in batches, each with its field mask."""
        batches = [rows[i : i + self.page_size] for i in range(0, len(rows), self.page_size)]
        return [
            {"results": b, "fieldMask": mask, "requestId": f"demo-{i}"}
            for i, b in enumerate(batches or [[]])
        ]

    # ---------------------------------------------------------------- Meta
    def meta_insights(self, account: str, query: dict[str, str]) -> dict:
        time_range = json.loads(query.get("time_range", "{}"))
        first = date.fromisoformat(time_range["since"])
        last = date.fromisoformat(time_range["until"])
        start = datetime.combine(first, datetime.min.time(), UTC)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
        rows = [
            r
            for r in self.reader.read(SPECS["meta_ads__insights"], start, end)
            if r["account_id"] == account.removeprefix("act_")
        ]
        offset = int(base64.b64decode(query["after"]).decode()) if query.get("after") else 0
        limit = min(int(query.get("limit", 25)), self.page_size)
        page = rows[offset : offset + limit]
        out: dict[str, Any] = {"data": page, "paging": {"cursors": {}}}
        cursor = lambda n: base64.b64encode(str(n).encode()).decode()  # noqa: E731
        out["paging"]["cursors"] = {"before": cursor(offset), "after": cursor(offset + len(page))}
        if offset + limit < len(rows):
            out["paging"]["next"] = f"/v19.0/{account}/insights?after={cursor(offset + limit)}"
        return out


class _Handler(BaseHTTPRequestHandler):
    server: DemoServer

    def log_message(self, fmt: str, *args: Any) -> None:  # keep test output quiet
        return

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    def _authorised(self, path: str) -> bool:
        auth = self.headers.get("Authorization", "")
        if path.startswith("/crm/"):
            return auth == f"Bearer {DEMO_TOKENS['hubspot']}"
        if path.startswith("/3.0/"):
            if not auth.startswith("Basic "):
                return False
            _, _, key = base64.b64decode(auth[6:]).decode().partition(":")
            return key == DEMO_TOKENS["mailchimp"]
        if path.startswith("/v18/customers/"):
            return (
                auth == f"Bearer {GOOGLE_ACCESS_TOKEN}"
                and self.headers.get("developer-token") == DEMO_TOKENS["google_ads_developer"]
            )
        if path.startswith("/v19.0/"):
            return auth == f"Bearer {DEMO_TOKENS['meta']}"
        return True

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.server.requests.append(f"{method} {path}")
        fault = self.server.faults.pop(path)
        if fault is not None:
            status, retry_after = fault
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            self._send(status, {"message": f"injected {status}"}, headers)
            return
        if not self._authorised(path):
            self._send(HTTPStatus.UNAUTHORIZED, {"message": "bad credentials"})
            return
        api = self.server.api
        try:
            if method == "POST" and (m := re.fullmatch(r"/crm/v3/objects/(\w+)/search", path)):
                if not self.server.hubspot_search_limit.allow():
                    raise HubSpotError(
                        429,
                        "RATE_LIMITS",
                        "You have reached your secondly limit.",
                        errorType="RATE_LIMIT",
                        policyName="SECONDLY",
                    )
                self._send(200, api.hubspot_search(m.group(1), self._body()))
            elif method == "POST" and (
                m := re.fullmatch(r"/crm/v4/associations/(\w+)/contacts/batch/read", path)
            ):
                self._send(200, api.hubspot_contact_associations(m.group(1), self._body()))
            elif method == "GET" and path == "/3.0/campaigns":
                self._send(200, api.mailchimp_campaigns(query))
            elif method == "GET" and (
                m := re.fullmatch(r"/3.0/reports/(\w+)/email-activity", path)
            ):
                self._send(200, api.mailchimp_email_activity(m.group(1), query))
            elif method == "POST" and path == "/token":
                form = parse_qs(
                    self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                )
                if form.get("refresh_token", [""])[0] != DEMO_TOKENS["google_ads_refresh"]:
                    self._send(400, {"error": "invalid_grant"})
                else:
                    self._send(
                        200,
                        {
                            "access_token": GOOGLE_ACCESS_TOKEN,
                            "expires_in": 3599,
                            "token_type": "Bearer",
                        },
                    )
            elif method == "POST" and (
                m := re.fullmatch(r"/v18/customers/(\d+)/googleAds:searchStream", path)
            ):
                self._send(200, api.google_search_stream(m.group(1), self._body()))
            elif method == "GET" and (m := re.fullmatch(r"/v19.0/(act_\d+)/insights", path)):
                self._send(200, api.meta_insights(m.group(1), query))
            else:
                self._send(404, {"message": f"no such endpoint: {method} {path}"})
        except GoogleAdsRequestError as exc:
            self._send(400, exc.body)
        except HubSpotError as exc:
            self._send(exc.status, exc.body)
        except (KeyError, ValueError) as exc:
            self._send(400, {"message": f"bad request: {exc}"})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


class DemoServer(ThreadingHTTPServer):
    """``with DemoServer(demo_dir) as srv:`` serves on ``srv.url`` from a background thread."""

    daemon_threads = True

    def __init__(
        self,
        demo_dir: Path,
        port: int = 0,
        page_size: int = 100,
        hubspot_search_per_second: float | None = None,
    ):
        super().__init__(("127.0.0.1", port), _Handler)
        self.api = DemoApi(demo_dir, page_size)
        self.hubspot_search_limit = RateLimiter(hubspot_search_per_second)
        self.faults = Faults()
        self.requests: list[str] = []
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> DemoServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def demo_connections(server_url: str, demo_dir: Path) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables (Airflow's JSON form) pointing every source at the demo.

    These are the demo's well-known fake credentials and a pseudonym key generated for the
    demo folder; real ones belong in Airflow Connections or a secrets backend, never in code.
    """
    conns = {
        "smarketing_hubspot": {
            "conn_type": "http",
            "host": server_url,
            "password": DEMO_TOKENS["hubspot"],
        },
        "smarketing_mailchimp": {
            "conn_type": "http",
            "host": server_url,
            "password": DEMO_TOKENS["mailchimp"],
        },
        "smarketing_google_ads": {
            "conn_type": "http",
            "host": server_url,
            "login": "123-456-7890",
            "password": DEMO_TOKENS["google_ads_refresh"],
            "extra": {
                "developer_token": DEMO_TOKENS["google_ads_developer"],
                "client_id": "demo",
                "client_secret": "demo",
                "token_uri": f"{server_url}/token",
            },
        },
        "smarketing_meta_ads": {
            "conn_type": "http",
            "host": server_url,
            "password": DEMO_TOKENS["meta"],
            "extra": {"ad_account_id": "act_987654"},
        },
        "smarketing_ga4": {"conn_type": "fs", "host": str(demo_dir / "ga4")},
        # generated once per demo folder and kept there (0600): demo data only
        "smarketing_pseudonym": {
            "conn_type": "generic",
            "password": demo_key(demo_dir),
            "extra": {"demo": True},
        },
    }
    return {f"AIRFLOW_CONN_{k.upper()}": json.dumps(v) for k, v in conns.items()}
