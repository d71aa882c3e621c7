"""The demo company's vendor APIs on 127.0.0.1: routes each request to its vendor's module.

The connectors in ``smarketing.sources`` run unchanged against this server and against the
real vendors. Each vendor's endpoints, limits and error shapes live in its demo module
(``smarketing.demo.vendors.<vendor>``, named by the vendor registry): every registered vendor
whose module has an ``Api`` is mounted on the paths it claims (GA4 is an export folder, not
an API); this module only records requests, injects faults and routes.

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

from smarketing.demo.vendors import hubspot, modules
from smarketing.pseudonyms import demo_key
from smarketing.vendors import VENDORS

# the demo's well-known fake credentials, every vendor's (tests check none ever leaks)
DEMO_TOKENS: dict[str, str] = {k: v for m in modules() for k, v in m.SECRETS.items()}
HUBSPOT_SEARCH_CAP = hubspot.SEARCH_CAP
# the demo HubSpot account's burst limit under `smarketing demo serve`: a Professional
# account's 190 requests per 10 s (Free and Starter: 100); in-process servers set none
DEMO_HUBSPOT_BURST = 190


class Query(dict[str, str]):
    """A request's query parameters (last value of each, decoded), and ``raw``: the query
    string as sent, for a vendor whose syntax lives in it (LinkedIn's Rest.li 2.0)."""

    def __init__(self, raw: str):
        super().__init__({k: v[-1] for k, v in parse_qs(raw).items()})
        self.raw = raw


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
        query = Query(parts.query)
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
        hubspot_requests_per_10s: int | None = None,
    ):
        super().__init__(("127.0.0.1", port), _Handler)
        options = {
            "hubspot": {
                "search_per_second": hubspot_search_per_second,
                "requests_per_10s": hubspot_requests_per_10s or None,
            }
        }
        # every registered vendor with an API, as ``server.<vendor>`` and in routing order
        self.vendor_apis: dict[str, Any] = {
            vendor.name: module.Api(demo_dir, page_size, **options.get(vendor.name, {}))
            for vendor in VENDORS
            if hasattr(module := vendor.demo_module(), "Api")
        }
        self.apis = tuple(self.vendor_apis.values())
        self.faults = Faults()
        self.requests: list[str] = []
        self._thread: threading.Thread | None = None

    @property
    def hubspot_search_limit(self) -> hubspot.RateLimiter:
        """HubSpot's search-rate limiter; tests swap it for a counting one."""
        return self.vendor_apis["hubspot"].search_limit

    @hubspot_search_limit.setter
    def hubspot_search_limit(self, limit: hubspot.RateLimiter) -> None:
        self.vendor_apis["hubspot"].search_limit = limit

    def __getattr__(self, name: str) -> Any:
        """``server.<vendor>`` (e.g. ``server.hubspot``): a vendor's API (its indexes, limits)."""
        apis = self.__dict__.get("vendor_apis", {})
        if name in apis:
            return apis[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

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
        vendor.conn_id: vendor.demo_module().demo_connection(server_url, demo_dir)
        for vendor in VENDORS
    }
    conns |= {
        # generated once per demo folder and kept there (0600): demo data only
        "smarketing_pseudonym": {
            "conn_type": "generic",
            "password": demo_key(demo_dir),
            "extra": {"demo": True},
        },
    }
    return {f"AIRFLOW_CONN_{k.upper()}": json.dumps(v) for k, v in conns.items()}
