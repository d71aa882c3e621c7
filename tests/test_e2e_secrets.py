"""Through Airflow: vendors that echo credentials leak none of them into `airflow dags test`
output, the task logs, the data folder or the failure callback's webhook JSON.

The credentials are plain words that no token pattern recognises, so only their registration
(with our scrubber and with Airflow's secrets masker) can keep them out.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
from http.server import HTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.airflow_env import AIRFLOW, airflow_home
from tests.conftest import PROJECT_DIR
from tests.sources.hostile import EchoServer
from tests.test_notify import Hook

pytestmark = pytest.mark.slow
SECRETS = {
    "hubspot": "hubspot private app words",
    "mailchimp": "mailchimp api key words",
    "google_refresh": "google/refresh+token words",
    "google_client_secret": "google client secret words",
    "google_developer": "google developer token words",
    "meta": "meta system user words",
    "ga4": "bucket secret access words",
    "linkedin_refresh": "linkedin refresh/token words",
    "linkedin_client_secret": "linkedin client+secret words",
}
STATUS = {"/crm/": 401, "/3.0/": 500, "/token": 400}


def _forms() -> list[str]:
    out = []
    for value in SECRETS.values():
        out += [value, quote(value, safe=""), quote_plus(value)]
    out.append(base64.b64encode(f"smarketing:{SECRETS['mailchimp']}".encode()).decode())
    return sorted(set(out))


def _connections(url: str, web: Path) -> dict[str, str]:
    conns = {
        "smarketing_hubspot": {"host": url, "password": SECRETS["hubspot"]},
        "smarketing_mailchimp": {"host": url, "password": SECRETS["mailchimp"]},
        "smarketing_google_ads": {
            "host": url,
            "login": "123-456-7890",
            "password": SECRETS["google_refresh"],
            "extra": {
                "developer_token": SECRETS["google_developer"],
                "client_id": "1234.apps.googleusercontent.com",
                "client_secret": SECRETS["google_client_secret"],
                "token_uri": f"{url}/token",
            },
        },
        "smarketing_meta_ads": {
            "host": url,
            "password": SECRETS["meta"],
            "extra": {"ad_account_id": "act_987654"},
        },
        "smarketing_linkedin_ads": {
            "host": url,
            "login": "5551234",
            "password": SECRETS["linkedin_refresh"],
            "extra": {
                "client_id": "linkedin-client",
                "client_secret": SECRETS["linkedin_client_secret"],
                "token_uri": f"{url}/oauth/v2/accessToken",
            },
        },
        "smarketing_ga4": {
            "conn_type": "fs",
            "host": str(web),
            "extra": {"storage_options": {"secret": SECRETS["ga4"]}},
        },
    }
    return {f"AIRFLOW_CONN_{k.upper()}": json.dumps(v) for k, v in conns.items()}


def test_echoed_credentials_reach_no_output_of_a_dag_run(
    tmp_path: Path, tiny_demo: Path, airflow_db: Path
) -> None:
    web = tmp_path / "ga4"
    shutil.copytree(tiny_demo / "ga4", web)
    hook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    Hook.received, Hook.status = [], 200

    def status_for(path: str) -> int:
        return next((s for prefix, s in STATUS.items() if path.startswith(prefix)), 403)

    with EchoServer(status_for, token_status=400) as vendor:
        env = {
            **os.environ,
            **_connections(vendor.url, web),
            **airflow_home(tmp_path / "airflow", airflow_db),
            "SMARKETING_PROJECT_DIR": str(PROJECT_DIR),
            "SMARKETING_DATA_DIR": str(tmp_path / "data"),
            "SMARKETING_DEMO_DIR": str(tiny_demo),
            "SMARKETING_LOOKBACK_DAYS": "2",
            "SMARKETING_RETRIES": "0",
            "SMARKETING_HTTP_MAX_ATTEMPTS": "2",
            "SMARKETING_HTTP_BACKOFF_SECONDS": "0",
            "SMARKETING_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{hook.server_port}/alert",
        }
        run = subprocess.run(
            [AIRFLOW, "dags", "test", "smarketing_nightly", "2026-01-15T02:00:00+00:00"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        sent = json.dumps([r.headers for r in vendor.requests]) + "".join(
            r.body.decode() for r in vendor.requests
        )
    hook.shutdown()
    output = run.stdout + run.stderr
    assert run.returncode != 0
    # the vendors were really sent credentials, and echoed them back
    assert SECRETS["hubspot"] in sent and quote_plus(SECRETS["google_refresh"]) in sent
    # the failure callback alerted once per failed extract, naming source, endpoint, status
    alerts = {a["task_id"]: a["error"] for a in Hook.received}
    assert set(alerts) == {
        "extract_hubspot",
        "extract_mailchimp",
        "extract_google_ads",
        "extract_meta_ads",
        "extract_linkedin_ads",
    }, output[-3000:]
    assert alerts["extract_meta_ads"].startswith(
        "source=meta_ads endpoint=GET /v19.0/act_987654/insights: HTTP 403"
    )
    assert alerts["extract_hubspot"].startswith(
        "source=hubspot endpoint=POST /crm/v3/objects/contacts/search: HTTP 401: "
    )
    assert alerts["extract_mailchimp"] == (
        "source=mailchimp endpoint=GET /3.0/campaigns: HTTP 500 after 2 attempts"
    )
    assert alerts["extract_google_ads"].startswith(
        "source=google_ads endpoint=POST /token: HTTP 400: "
    )
    # LinkedIn's token exchange refused, the refresh token and client secret echoed back
    # (a refused token exchange is deterministic: failed at once, named by its class)
    assert alerts["extract_linkedin_ads"].startswith(
        "LinkedInRequestError: source=linkedin_ads endpoint=POST /oauth/v2/accessToken: HTTP 403"
    )
    assert quote_plus(SECRETS["linkedin_client_secret"]) in sent
    assert "***" in alerts["extract_hubspot"] and "***" in alerts["extract_google_ads"]
    assert "***" in alerts["extract_linkedin_ads"]
    assert "HTTP 401" in output and "request rejected" in output
    files = {
        str(p): p.read_bytes().decode("utf-8", "replace")
        for root in (tmp_path / "airflow", tmp_path / "data")
        for p in root.rglob("*")
        if p.is_file()
    }
    assert files  # the data folder and Airflow's home, task logs where written, are scanned
    outputs = {"dags test output": output, "webhook": json.dumps(Hook.received), **files}
    for where, text in outputs.items():
        for form in _forms():
            assert form not in text, f"{form!r} leaked into {where}"
