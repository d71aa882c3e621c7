"""The demo company's vendor APIs on 127.0.0.1: routes each request to its vendor's module.

The connectors in ``smarketing.sources`` run unchanged against this server and against the
real vendors. Each vendor's endpoints, limits and error shapes live in
``smarketing.demo.vendors.<vendor>`` (HubSpot, Mailchimp, Google Ads, Meta; GA4 is an export
folder, not an API); this module only records requests, injects faults and routes.

Every vendor module loads and indexes its files once per file version (size, mtime): a page
is a slice from memory, never a re-read or re-filter of a file, so extract time measures the
connectors. Faults can be injected per path for tests:
``server.faults.add("/3.0/campaigns", [429, 500])`` makes the next two matching requests fail.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from smarketing.demo.vendors import ga4, google_ads, hubspot, mailchimp, meta_ads
from smarketing.pseudonyms import demo_key

DEMO_TOKENS = {
    "hubspot": hubspot.TOKEN,
    "mailchimp": mailchimp.TOKEN,
    "google_ads_developer": google_ads.DEVELOPER_TOKEN,
    "google_ads_refresh": google_ads.REFRESH_TOKEN,
    "meta": meta_ads.TOKEN,
}
HUBSPOT_SEARCH_CAP = hubspot.SEARCH_CAP


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

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

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
        api = next((a for a in self.server.apis if path.startswith(a.prefixes)), None)
        if api is None:
            self._send(404, {"message": f"no such endpoint: {method} {path}"})
            return
        try:
            self._send(*api.handle(method, path, query, self.headers, self._body))
        except (KeyError, ValueError) as exc:
            answer = api.error(exc)
            self._send(*(answer or (HTTPStatus.BAD_REQUEST, {"message": f"bad request: {exc}"})))

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
        self.hubspot = hubspot.Api(demo_dir, page_size, hubspot_search_per_second)
        self.mailchimp = mailchimp.Api(demo_dir, page_size)
        self.google_ads = google_ads.Api(demo_dir, page_size)
        self.meta_ads = meta_ads.Api(demo_dir, page_size)
        self.apis = (self.hubspot, self.mailchimp, self.google_ads, self.meta_ads)
        self.faults = Faults()
        self.requests: list[str] = []
        self._thread: threading.Thread | None = None

    @property
    def hubspot_search_limit(self) -> hubspot.RateLimiter:
        """HubSpot's search-rate limiter; tests swap it for a counting one."""
        return self.hubspot.search_limit

    @hubspot_search_limit.setter
    def hubspot_search_limit(self, limit: hubspot.RateLimiter) -> None:
        self.hubspot.search_limit = limit

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
        "smarketing_ga4": {"conn_type": "fs", "host": str(demo_dir / ga4.FOLDER)},
        # generated once per demo folder and kept there (0600): demo data only
        "smarketing_pseudonym": {
            "conn_type": "generic",
            "password": demo_key(demo_dir),
            "extra": {"demo": True},
        },
    }
    return {f"AIRFLOW_CONN_{k.upper()}": json.dumps(v) for k, v in conns.items()}
