"""Failure notifications reach a webhook (a real HTTP server on 127.0.0.1) and the log."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from typing import ClassVar

import pytest

from smarketing.config import load_settings
from smarketing.notify import notify_failure


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(Hook.status)
        self.end_headers()

    def log_message(self, *args) -> None:
        return


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch):
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Hook.received, Hook.status = [], 200
    monkeypatch.setenv("SMARKETING_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/x")
    yield Hook
    server.shutdown()


CONTEXT = {
    "task_instance": SimpleNamespace(
        dag_id="smarketing_nightly", task_id="quality_gate", try_number=1
    ),
    "dag_run": SimpleNamespace(run_id="scheduled__2026-04-01T02:00:00+00:00"),
    "exception": RuntimeError("quality gate failed: 1 of 44 checks blocked publication"),
}


def test_failure_is_posted_to_the_webhook_and_logged(webhook, caplog) -> None:
    caplog.set_level(logging.ERROR)
    assert notify_failure(CONTEXT, load_settings()) == ["log", "webhook"]
    assert webhook.received == [
        {
            "text": "[smarketing] smarketing_nightly failed at quality_gate "
            "(scheduled__2026-04-01T02:00:00+00:00)",
            "dag_id": "smarketing_nightly",
            "run_id": "scheduled__2026-04-01T02:00:00+00:00",
            "task_id": "quality_gate",
            "try_number": "1",
            "error": "quality gate failed: 1 of 44 checks blocked publication",
        }
    ]
    assert "1 of 44 checks blocked publication" in caplog.text


def test_an_unreachable_webhook_is_logged_not_raised(webhook, caplog) -> None:
    webhook.status = 500
    caplog.set_level(logging.ERROR)
    assert notify_failure(CONTEXT, load_settings()) == ["log"]
    assert "failure webhook could not be delivered: HTTPError" in caplog.text
