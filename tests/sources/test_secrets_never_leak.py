"""No credential reaches any output, whatever a vendor echoes back.

Every connector is pointed at a server that answers 400/401/403/500 with the whole request
(request line, headers, query string, form body) in its error body. The extract must fail
naming source, endpoint and status, quoting a truncated body with every credential masked,
and no form of any credential (raw, URL-encoded, base64 basic-auth) may appear in the
exception, the log, the landing zone, the run summary or the failure webhook's JSON.
"""

from __future__ import annotations

import base64
import email
import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar
from urllib.parse import quote, quote_plus

import pytest

from smarketing import pipeline, redact
from smarketing.config import Settings, load_settings
from smarketing.notify import failure_message, notify_failure
from smarketing.sources.credentials import Credentials
from smarketing.sources.http import SourceHttpError
from tests.sources.hostile import EchoServer
from tests.test_notify import Hook

# credentials shaped like the real ones (caught by shape even if never registered) …
SHAPED = {
    "hubspot": "pat-na1-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "mailchimp": "5f2a9c81d7e64b3a9c0d1e2f3a4b5c6d-us21",
    "google_refresh": "1//0gHkL3mNqP8sRtUvWxYz-L9IrAbCdEfGhIjKlMnOpQrStUv",
    "google_client_secret": "GOCSPX-Zq8Wx7Vc6Bn5Mm4Ll3Kk2Jj1Hh0",
    "google_developer": "aB3dE5fG7hI9jK1lM2nO4p",
    "google_access": "ya29.a0AfB_byC5dE6fG7hI8jK9lM0nO1pQ2rS3tU4vW5xY6z",
    "meta": "EAAGm0PX4ZCpsBAKZBZCxyz1234567890abcdefGHIJKLmnop",
}
# … and plain words no pattern would recognise: only registration can mask these
PLAIN = {k: f"plain/{k.replace('_', '-')}+secret value" for k in SHAPED}
SOURCE = {
    "hubspot": "hubspot",
    "mailchimp": "mailchimp",
    "google_token": "google_ads",
    "google_ads": "google_ads",
    "meta": "meta_ads",
}
ENDPOINT = {
    "hubspot": "POST /crm/v3/objects/contacts/search",
    "mailchimp": "GET /3.0/campaigns",
    "google_token": "POST /token",
    "google_ads": "POST /v18/customers/1234567890/googleAds:searchStream",
    "meta": "GET /v19.0/act_987654/insights",
}


def forms(secrets: dict[str, str]) -> list[str]:
    """Every form in which a credential could leak: raw, URL-encoded, base64 basic-auth."""
    out = []
    for value in secrets.values():
        out += [value, quote(value, safe=""), quote_plus(value)]
    out.append(base64.b64encode(f"smarketing:{secrets['mailchimp']}".encode()).decode())
    return sorted(set(out))


def connections(vendor: str, url: str, demo_url: str, secrets: dict[str, str]) -> dict[str, str]:
    """Connections: the vendor under test on the echo server, the others on the demo."""
    conns = {
        "smarketing_hubspot": {
            "host": url if vendor == "hubspot" else demo_url,
            "password": secrets["hubspot"],
        },
        "smarketing_mailchimp": {
            "host": url if vendor == "mailchimp" else demo_url,
            "password": secrets["mailchimp"],
        },
        "smarketing_google_ads": {
            "host": url if vendor.startswith("google") else demo_url,
            "login": "123-456-7890",
            "password": secrets["google_refresh"],
            "extra": {
                "developer_token": secrets["google_developer"],
                "client_id": "1234.apps.googleusercontent.com",
                "client_secret": secrets["google_client_secret"],
                "token_uri": f"{url if vendor.startswith('google') else demo_url}/token",
            },
        },
        "smarketing_meta_ads": {
            "host": url if vendor == "meta" else demo_url,
            "password": secrets["meta"],
            "extra": {"ad_account_id": "act_987654"},
        },
    }
    return {f"AIRFLOW_CONN_{k.upper()}": json.dumps(v) for k, v in conns.items()}


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget secrets registered by earlier tests: each test must register its own."""
    monkeypatch.setattr(redact, "_known", set())
    monkeypatch.setattr(redact, "_pattern", None)


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Hook]]:
    import threading
    from http.server import HTTPServer

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Hook.received, Hook.status = [], 200
    monkeypatch.setenv("SMARKETING_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/x")
    yield Hook
    server.shutdown()


@pytest.mark.parametrize("secrets", [SHAPED, PLAIN], ids=["vendor-shaped", "plain"])
@pytest.mark.parametrize("status", [400, 401, 403, 500])
@pytest.mark.parametrize("vendor", sorted(ENDPOINT))
def test_an_echoed_request_leaks_no_credential_anywhere(
    vendor: str,
    status: int,
    secrets: dict[str, str],
    settings: Settings,
    demo_server,
    fresh_registry: None,
    webhook: type[Hook],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    with EchoServer(
        lambda path: status,
        token=secrets["google_access"],
        token_status=status if vendor == "google_token" else None,
    ) as server:
        for key, value in connections(vendor, server.url, demo_server.url, secrets).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SMARKETING_HTTP_MAX_ATTEMPTS", "2")
        source = SOURCE[vendor]
        if vendor == "meta":  # Google Ads runs on the demo with its own token
            monkeypatch.setenv(
                "AIRFLOW_CONN_SMARKETING_GOOGLE_ADS",
                __import__("smarketing.demo.server", fromlist=["x"]).demo_connections(
                    demo_server.url, Path("x")
                )["AIRFLOW_CONN_SMARKETING_GOOGLE_ADS"],
            )
        with pytest.raises(SourceHttpError) as err:
            pipeline.extract(source, "2026-01-14", "2026-01-15", settings=load_settings())
        echoed = [r for r in server.requests if r.path != "/token" or vendor == "google_token"]
    # the vendor really was sent the credentials it echoed back
    sent = json.dumps([r.headers for r in echoed]) + "".join(r.body.decode() for r in echoed)
    assert any(f in sent for f in forms(secrets)), "the echo server saw no credential"

    message = str(err.value)
    assert message.startswith(f"source={source} endpoint={ENDPOINT[vendor]}: HTTP {status}")
    if status == 500:  # retried, then named without the body
        assert message.endswith("HTTP 500 after 2 attempts")
    else:  # the body is quoted: scrubbed, then truncated
        assert "request rejected" in message and "***" in message
        assert message.endswith("(not retried)")
        quoted = message.split(f"HTTP {status}: ", 1)[1]
        assert len(quoted) < 300 + 60

    notify_failure(
        {
            "task_instance": SimpleNamespace(
                dag_id="smarketing_nightly", task_id="extract", try_number=1
            ),
            "dag_run": SimpleNamespace(run_id="manual__x"),
            "exception": err.value,
        },
        load_settings(),
    )
    (alert,) = webhook.received
    assert alert["error"].startswith(f"source={source} endpoint={ENDPOINT[vendor]}: HTTP {status}")
    assert alert["error"] == redact.scrub(message)  # scrubbed once more on the way out
    outputs = {
        "exception": message + repr(err.value.args),
        "log": caplog.text,
        "webhook": json.dumps(webhook.received),
        "landing": "".join(
            p.read_text(errors="replace") for p in settings.landing_dir.rglob("*") if p.is_file()
        ),
    }
    for where, text in outputs.items():
        for form in forms(secrets):
            assert form not in text, f"{form!r} leaked into the {where}"


def test_quoted_bodies_lose_token_shapes_they_were_never_told_about() -> None:
    body = (
        '{"error": "invalid_grant", "refresh_token": "r-1a2b3c", "client_secret": "cs_live_9",'
        ' "Authorization": "Bearer abc.def-123", "header": "Basic c21hcmtldGluZzprZXk0Mg==",'
        ' "seen": "ya29.A0ARrdaM-xyz123abc", "jwt": "eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl",'
        ' "key": "Zx9Kq2Lm8Np4Rs6Tv1Wy3Ab5", "url": "/v1?api_key=k9k9k9k9&x=1",'
        ' "run": "scheduled__2026-04-01T02:00:00+00:00", "sha": "' + "ab" * 32 + '"}'
    )
    got = redact.quote_body(body, limit=10_000)
    for secret in (
        "r-1a2b3c",
        "cs_live_9",
        "abc.def-123",
        "c21hcmtldGluZzprZXk0Mg==",
        "ya29.A0ARrdaM-xyz123abc",
        "eyJhbGciOi",
        "Zx9Kq2Lm8Np4Rs6Tv1Wy3Ab5",
        "k9k9k9k9",
    ):
        assert secret not in got, secret
    # what is not a credential survives, so the error stays useful
    for kept in (
        '"error": "invalid_grant"',
        "scheduled__2026-04-01T02:00:00+00:00",
        "ab" * 32,
        "/v1?api_key=***&x=1",
    ):
        assert kept in got, kept
    long = redact.quote_body("x" * 1000)
    assert long == repr("x" * 300 + "… (700 more characters)")


def test_every_credential_of_a_connection_is_registered_with_airflows_masker(
    fresh_registry: None,
) -> None:
    from airflow.sdk._shared.secrets_masker import redact as airflow_redact

    creds = Credentials(
        "smarketing_ga4",
        "https://reader:host-password-9@bucket.example",
        "reader",
        "ga4-connection-password",
        {
            "storage_options": {"key": "AKIAEXAMPLEKEY", "secret": "ga4/bucket+secret key"},
            "token_uri": "https://oauth2.example/token",  # an address, not a secret
            "client_id": "public-client-id",
        },
    )
    assert creds.login == "reader"
    line = (
        "connecting with ga4-connection-password, AKIAEXAMPLEKEY, ga4%2Fbucket%2Bsecret%20key,"
        " host-password-9 via https://oauth2.example/token as public-client-id"
    )
    expected = (
        "connecting with ***, ***, ***, *** via https://oauth2.example/token as public-client-id"
    )
    assert redact.scrub_known(line) == expected
    assert airflow_redact(line) == expected  # Airflow's own masker prints *** for them too


def test_failure_message_scrubs_credentials_of_connections_it_never_loaded(
    fresh_registry: None, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """The failure callback may run in a process where no connector ran: it loads them."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMARKETING_HUBSPOT",
        json.dumps({"host": "http://127.0.0.1:1", "password": "lowercase hubspot words"}),
    )
    error = RuntimeError("vendor said: token lowercase hubspot words is not valid")
    msg = failure_message({"exception": error})
    assert msg["error"] == "vendor said: token *** is not valid"


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib.send_message: every message's text is kept."""

    received: ClassVar[list[str]] = []

    def handle(self) -> None:
        self.wfile.write(b"220 localhost ready\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
                data = []
                while (part := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(part.decode())
                _Smtp.received.append("".join(data))
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # EHLO, MAIL FROM, RCPT TO, RSET, NOOP
                self.wfile.write(b"250 ok\r\n")


def test_the_failure_email_carries_no_credential(
    fresh_registry: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 whose body echoes the Authorization header, e-mailed to the on-call address."""
    secret = "plain hubspot token words"
    with EchoServer(lambda path: 401) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_SMARKETING_HUBSPOT", json.dumps({"host": server.url, "password": secret})
        )
        with pytest.raises(SourceHttpError) as err:
            pipeline.extract("hubspot", "2026-01-14", "2026-01-15", settings=load_settings())
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    _Smtp.received = []
    monkeypatch.setenv("SMARKETING_ALERT_EMAIL", "oncall@example.com")
    monkeypatch.setenv("SMARKETING_SMTP_HOST", f"127.0.0.1:{smtp.server_address[1]}")
    context = {"task_instance": SimpleNamespace(task_id="extract_hubspot"), "exception": err.value}
    try:
        assert notify_failure(context, load_settings()) == ["log", "email"]
    finally:
        smtp.shutdown()
        smtp.server_close()
    (mail,) = _Smtp.received
    text = email.message_from_string(mail).get_payload(decode=True).decode()
    body = json.loads(text)
    assert body["task_id"] == "extract_hubspot"
    assert body["error"].startswith(
        "source=hubspot endpoint=POST /crm/v3/objects/contacts/search: HTTP 401: "
    )
    assert '"auth": "***"' in body["error"]  # the echo was there, masked
    for form in (secret, quote(secret, safe=""), quote_plus(secret)):
        assert form not in mail and form not in text


def test_the_run_summary_masks_credentials_its_task_never_loaded(
    fresh_registry: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary task holds no connector; a credential in a step's result is still masked."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMARKETING_META_ADS",
        json.dumps({"host": "http://127.0.0.1:1", "password": "meta system user words"}),
    )
    path = pipeline.write_run_summary(
        "manual__2026-01-15", {"extracted": [{"note": "vendor said meta system user words"}]}
    )
    assert json.loads(path.read_text()) == {"extracted": [{"note": "vendor said ***"}]}
