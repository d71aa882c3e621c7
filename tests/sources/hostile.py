"""Misbehaving vendors on 127.0.0.1, for the error paths the demo server does not take.

* ``EchoServer``: answers with a chosen status and a body that echoes the request line,
  every header, the query string and the body (as HubSpot, Mailchimp and Google's token
  endpoint do in some error cases), so a test can prove no credential survives to an output.
* ``ScriptedServer``: answers each request with what a Python function returns, optionally
  trickling the body a byte at a time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    payload: Any = None
    raw: bytes | None = None  # sent as is instead of json.dumps(payload)
    trickle_seconds: float = 0.0  # pause between single bytes of the body
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        return self.raw if self.raw is not None else json.dumps(self.payload).encode()


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def log_message(self, fmt: str, *args: Any) -> None:
        return

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method,
            parts.path,
            {k: v[-1] for k, v in parse_qs(parts.query).items()},
            dict(self.headers.items()),
            self.rfile.read(length) if length else b"",
        )
        request.raw_line = self.requestline  # type: ignore[attr-defined]
        self.server.requests.append(request)
        reply = self.server.respond(request)
        body = reply.body()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not reply.trickle_seconds:
            self.wfile.write(body)
            return
        sent = 0
        try:
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                sent += 1
                time.sleep(reply.trickle_seconds)
        except OSError:  # the client hung up
            pass
        finally:
            self.server.trickled.append((sent, len(body)))

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


class ScriptedServer(ThreadingHTTPServer):
    """``with ScriptedServer(fn) as srv``: every request is answered by ``fn(request)``."""

    daemon_threads = True

    def __init__(self, respond: Callable[[Request], Reply]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.respond = respond
        self.requests: list[Request] = []
        self.trickled: list[tuple[int, int]] = []  # (bytes sent, body length) per trickle

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ScriptedServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def echo(request: Request, status: int) -> Reply:
    """An error body quoting the whole request, the way careless vendors do."""
    raw_line = getattr(request, "raw_line", f"{request.method} {request.path}")
    text = request.body.decode("utf-8", "replace")
    payload = {
        "auth": request.headers.get("Authorization", ""),
        "developer-token": request.headers.get("developer-token", ""),
        "message": f"request rejected: {raw_line}",
        "query": request.query,
        "body": text,
        "headers": request.headers,
    }
    # plain text too, as some proxies answer: header lines and the body verbatim
    lines = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
    return Reply(status, raw=(json.dumps(payload) + "\n" + lines + "\n" + text).encode())


class EchoServer(ScriptedServer):
    """Every request answered with ``status_for(path)`` and the request echoed in the body.

    ``token`` (when set) is the access token the OAuth token endpoint ``/token`` grants, so
    that the Google Ads connector reaches its report endpoint and gets echoed there too;
    ``token_status`` makes the token endpoint itself answer with an echo instead.
    """

    def __init__(
        self,
        status_for: Callable[[str], int],
        token: str | None = None,
        token_status: int | None = None,
    ):
        def respond(request: Request) -> Reply:
            if request.path == "/token" and token_status is None and token:
                return Reply(200, {"access_token": token, "expires_in": 3599})
            if request.path == "/token" and token_status is not None:
                return echo(request, token_status)
            return echo(request, status_for(request.path))

        super().__init__(respond)
