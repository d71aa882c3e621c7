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
from smarketing.notify import notify_failure, notify_success


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
def webhook(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "data"))
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
            "last_report": "",
        }
    ]
    assert "1 of 44 checks blocked publication" in caplog.text


def test_an_unreachable_webhook_is_logged_not_raised(webhook, caplog) -> None:
    webhook.status = 500
    caplog.set_level(logging.ERROR)
    assert notify_failure(CONTEXT, load_settings()) == ["log"]
    assert "notification webhook could not be delivered: HTTPError" in caplog.text


def test_failure_links_the_last_report_and_success_links_its_own(webhook) -> None:
    import os
    import time

    settings = load_settings()
    older = settings.reports_dir / "run-1" / "revenue_report.html"
    newer = settings.reports_dir / "run-2" / "revenue_report.html"
    for path in (older, newer):
        path.parent.mkdir(parents=True)
        path.write_text("<html></html>")
    os.utime(older, (time.time() - 3600, time.time() - 3600))
    (settings.reports_dir / "run-3").mkdir()  # a failed run: validation files, no report
    assert notify_failure(CONTEXT, settings) == ["log", "webhook"]
    assert webhook.received[0]["last_report"] == str(newer)
    assert notify_success("smarketing_nightly", "run-2", str(newer), "11 marts", settings) == [
        "log",
        "webhook",
    ]
    assert webhook.received[1] == {
        "text": f"[smarketing] smarketing_nightly published (run-2): revenue report {newer}",
        "dag_id": "smarketing_nightly",
        "run_id": "run-2",
        "report": str(newer),
        "summary": "11 marts",
    }
