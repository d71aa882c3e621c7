"""Vendors that misbehave: cursors that never advance, trickled bodies, empty 200s, corrupt
GA4 files. Each must end in a clear error naming source, endpoint and what went wrong (or, for
a file, a quarantine entry naming it), never a hang or a bare traceback."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smarketing import pipeline
from smarketing.config import Settings, load_settings
from smarketing.sources.http import SourceHttpError, SourceResponseError
from tests.sources.hostile import Reply, Request, ScriptedServer

WINDOW = ("2026-01-14", "2026-01-15", "2026-01-13")
CONTACT = {
    "properties": {"createdate": "2026-01-14T00:00:00Z", "amount": "1", "dealstage": "x"},
    "updatedAt": "2026-01-14T00:00:00Z",
}
META_ROW = {"campaign_id": "1", "date_start": "2026-01-14", "spend": "1", "account_currency": "EUR"}


def point_at(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, *vendors: str) -> None:
    """Re-point the named vendors' connections (from the demo settings) at ``server``."""
    import os

    env_names = {
        "hubspot": "AIRFLOW_CONN_SMARKETING_HUBSPOT",
        "mailchimp": "AIRFLOW_CONN_SMARKETING_MAILCHIMP",
        "google_ads": "AIRFLOW_CONN_SMARKETING_GOOGLE_ADS",
        "meta": "AIRFLOW_CONN_SMARKETING_META_ADS",
    }
    for vendor in vendors:
        conn = json.loads(os.environ[env_names[vendor]])
        conn["host"] = server.url
        if vendor == "google_ads":
            conn["extra"]["token_uri"] = f"{server.url}/token"
        monkeypatch.setenv(env_names[vendor], json.dumps(conn))


@pytest.fixture
def scripted(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Callable[[Request], Reply]], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(respond: Callable[[Request], Reply]) -> ScriptedServer:
        server = ScriptedServer(respond).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _landed(settings: Settings, source: str, entity: str) -> bool:
    return (settings.landing_dir / source / entity / "interval=2026-01-14").exists()


# --- a paging cursor that never advances -------------------------------------------------


def _hubspot_stuck(request: Request) -> Reply:
    n = len(request.json.get("after", "")) if isinstance(request.json, dict) else 0
    return Reply(
        200,
        {
            "total": 1_000,  # one window (above 5,000 the reader reads time slices)
            "results": [{"id": f"9{n}", **CONTACT}],
            "paging": {"next": {"after": "MTAw", "link": "?after=MTAw"}},
        },
    )


def _meta_stuck(request: Request) -> Reply:
    after = request.query.get("after", "start")
    return Reply(
        200,
        {
            "data": [{**META_ROW, "n": after}],
            "paging": {"cursors": {"before": "QVFI", "after": "QVFIUmR4"}, "next": "https://x"},
        },
    )


def _mailchimp_same_page(request: Request) -> Reply:  # ignores offset, claims a million
    return Reply(
        200,
        {"campaigns": [{"id": "c1", "send_time": "2026-01-14T00:00:00Z"}], "total_items": 10**6},
    )


def _mailchimp_growing_total(request: Request) -> Reply:  # new rows, total always one more
    offset = int(request.query["offset"])
    rows = [{"id": f"c{offset + i}", "send_time": "2026-01-14T00:00:00Z"} for i in range(1000)]
    return Reply(200, {"campaigns": rows, "total_items": offset + 1001})


@pytest.mark.parametrize(
    "vendor,respond,source,entity,endpoint,problem,requests",
    [
        (
            "hubspot",
            _hubspot_stuck,
            "hubspot",
            "contacts",
            "POST /crm/v3/objects/contacts/search",
            "cursor 'MTAw' repeats after 2 pages",
            2,
        ),
        (
            "meta",
            _meta_stuck,
            "meta_ads",
            "insights",
            "GET /v19.0/act_987654/insights",
            "cursor 'QVFIUmR4' repeats after 2 pages",
            2,
        ),
        (
            "mailchimp",
            _mailchimp_same_page,
            "mailchimp",
            "campaigns",
            "GET /3.0/campaigns",
            "page 2 repeats page 1 record for record",
            2,
        ),
        (
            "mailchimp",
            _mailchimp_growing_total,
            "mailchimp",
            "campaigns",
            "GET /3.0/campaigns",
            "page 4, but the vendor's total of 1001 records fits in 2 pages of 1000",
            4,
        ),
    ],
    ids=["hubspot-after", "meta-next", "mailchimp-same-page", "mailchimp-total-items"],
)
def test_a_cursor_that_never_advances_fails_naming_source_endpoint_and_cursor(
    vendor: str,
    respond: Callable[[Request], Reply],
    source: str,
    entity: str,
    endpoint: str,
    problem: str,
    requests: int,
    settings: Settings,
    scripted,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = scripted(respond)
    point_at(server, monkeypatch, vendor)
    if vendor == "meta":
        monkeypatch.setenv("SMARKETING_HTTP_MAX_PAGES", "1000")
    with pytest.raises(SourceResponseError) as err:
        pipeline.extract(source, *WINDOW, settings=load_settings())
    assert (
        str(err.value) == f"source={source} endpoint={endpoint}: paging does not advance: {problem}"
    )
    assert len(server.requests) == requests  # stopped at once, not at the task timeout
    assert not _landed(settings, source, entity)  # nothing half-landed


def test_a_read_asking_for_more_pages_than_the_setting_fails(
    settings: Settings, scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cursors that always change (so never repeat) still stop at SMARKETING_HTTP_MAX_PAGES."""

    def respond(request: Request) -> Reply:
        after = str(int(request.json.get("after", "0")) + 1)
        rec = {"id": after, **CONTACT}
        return Reply(200, {"results": [rec], "paging": {"next": {"after": after}}})

    server = scripted(respond)
    point_at(server, monkeypatch, "hubspot")
    monkeypatch.setenv("SMARKETING_HTTP_MAX_PAGES", "7")
    with pytest.raises(SourceResponseError, match="paging does not advance: more than 7 pages"):
        pipeline.extract("hubspot", *WINDOW, settings=load_settings())
    assert len(server.requests) == 8


# --- a response trickled byte by byte ----------------------------------------------------


def test_a_trickled_response_hits_the_per_request_deadline(
    settings: Settings, scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.dumps({"results": [], "padding": "x" * 400}).encode()
    server = scripted(lambda request: Reply(200, raw=body, trickle_seconds=0.02))
    point_at(server, monkeypatch, "hubspot")
    monkeypatch.setenv("SMARKETING_HTTP_DEADLINE_SECONDS", "0.5")
    monkeypatch.setenv("SMARKETING_HTTP_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("SMARKETING_HTTP_TIMEOUT_SECONDS", "5")  # each byte is well inside it
    with pytest.raises(SourceHttpError) as err:
        pipeline.extract("hubspot", *WINDOW, settings=load_settings())
    assert str(err.value) == (
        "source=hubspot endpoint=POST /crm/v3/objects/contacts/search: "
        "no complete response within the deadline of 0.5 s after 2 attempts"
    )
    assert len(server.requests) == 2
    # the client hung up long before the body was complete (each attempt ~25 of 427 bytes)
    assert all(sent < total / 2 for sent, total in server.trickled), server.trickled


# --- a 200 whose body is not what the endpoint promises ----------------------------------

EMPTY_200 = [
    (
        "hubspot",
        "hubspot",
        [],
        "POST /crm/v3/objects/contacts/search",
        "expected a JSON object with a list 'results', got an empty JSON array",
    ),
    (
        "hubspot",
        "hubspot",
        {"results": None},
        "POST /crm/v3/objects/contacts/search",
        "expected 'results' to be a list, got null",
    ),
    (
        "mailchimp",
        "mailchimp",
        {"campaigns": None, "total_items": 0},
        "GET /3.0/campaigns",
        "expected 'campaigns' to be a list, got null",
    ),
    (
        "mailchimp",
        "mailchimp",
        [],
        "GET /3.0/campaigns",
        "expected a JSON object with a list 'campaigns', got an empty JSON array",
    ),
    (
        "meta",
        "meta_ads",
        {"data": None},
        "GET /v19.0/act_987654/insights",
        "expected 'data' to be a list, got null",
    ),
    (
        "google_ads",
        "google_ads",
        {"results": None},
        "POST /v18/customers/1234567890/googleAds:searchStream",
        "expected a JSON array of result batches, got {'results': None}",
    ),
    (
        "google_ads",
        "google_ads",
        [{"results": None}],
        "POST /v18/customers/1234567890/googleAds:searchStream",
        "expected 'results' to be a list, got null",
    ),
    (
        "google_token",
        "google_ads",
        [],
        "POST /token",
        "expected a JSON object with a string 'access_token' (OAuth token reply)",
    ),
]


@pytest.mark.parametrize(
    "vendor,source,payload,endpoint,problem",
    EMPTY_200,
    ids=[f"{v}-{json.dumps(p)}" for v, _, p, _, _ in EMPTY_200],
)
def test_an_empty_or_null_200_names_source_endpoint_and_expectation(
    vendor: str,
    source: str,
    payload: object,
    endpoint: str,
    problem: str,
    settings: Settings,
    scripted,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def respond(request: Request) -> Reply:
        if request.path == "/token" and vendor != "google_token":
            return Reply(200, {"access_token": "scripted-access-token", "expires_in": 3599})
        return Reply(200, payload)

    server = scripted(respond)
    point_at(server, monkeypatch, "google_ads" if vendor.startswith("google") else vendor)
    with pytest.raises(SourceResponseError) as err:
        pipeline.extract(source, *WINDOW, settings=settings)
    assert str(err.value) == f"source={source} endpoint={endpoint}: {problem}"
    assert (err.value.source, err.value.endpoint) == (source, endpoint)
    assert len(server.requests) <= 2  # not retried: the same request gets the same answer


def test_hubspot_associations_null_results_names_the_endpoint(
    settings: Settings, scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    def respond(request: Request) -> Reply:
        if "/search" in request.path:
            rec = {"id": "5", **CONTACT}
            return Reply(200, {"results": [rec]})
        return Reply(200, {"status": "COMPLETE", "results": None})

    point_at(scripted(respond), monkeypatch, "hubspot")
    reader = pipeline.reader_for("hubspot", settings)
    from smarketing.sources.catalog import ENTITIES

    spec = next(s for s in ENTITIES if s.raw_table == "hubspot__deals")
    from datetime import UTC, datetime

    with pytest.raises(SourceResponseError) as err:
        list(reader.read(spec, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)))
    assert str(err.value) == (
        "source=hubspot endpoint=POST /crm/v4/associations/deals/contacts/batch/read: "
        "expected 'results' to be a list, got null"
    )


# --- a truncated or corrupt GA4 export file ----------------------------------------------


def test_a_truncated_or_corrupt_ga4_gz_is_quarantined_whole_and_named(
    tmp_path: Path, tiny_demo: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = tmp_path / "ga4"
    shutil.copytree(tiny_demo / "ga4", web)
    conn = {"conn_type": "fs", "host": str(web)}
    monkeypatch.setenv("AIRFLOW_CONN_SMARKETING_GA4", json.dumps(conn))
    monkeypatch.setenv("SMARKETING_QUARANTINE_MAX_SHARE", "0.5")
    day = (web / "events_20260114.jsonl").read_text().splitlines()
    late = [json.loads(x) for x in (web / "events_20260113.jsonl").read_text().splitlines()[:40]]
    whole = gzip.compress("".join(json.dumps(r) + "\n" for r in late).encode())
    truncated = whole[: len(whole) // 2]
    (web / "events_20260114_late.json.gz").write_bytes(truncated)
    (web / "events_20260114_other.json.gz").write_bytes(b"this is not gzip at all\n")

    result = pipeline.extract(
        "ga4", "2026-01-14", "2026-01-15", "2026-01-14", settings=load_settings()
    )

    folder = settings.landing_dir / "ga4" / "events" / "interval=2026-01-14"
    landed = [json.loads(x) for x in (folder / "records.jsonl").read_text().splitlines()]
    quarantine = [json.loads(x) for x in (folder / "quarantine.jsonl").read_text().splitlines()]
    assert len(landed) == len(day)  # the sound file in full, nothing of the corrupt ones
    files = [q for q in quarantine if ":" not in q["record"]]
    lines = [q for q in quarantine if ":" in q["record"]]
    assert [f["record"] for f in files] == [
        "events_20260114_late.json.gz",
        "events_20260114_other.json.gz",
    ]
    late_file, other_file = files
    assert late_file["reason"].startswith(
        "file is corrupt (EOFError: Compressed file ended before the end-of-stream marker"
    )
    assert other_file["reason"].startswith("file is corrupt (BadGzipFile: Not a gzipped file")
    kept = json.loads(late_file["raw"])
    assert base64.b64decode(kept["base64"]) == truncated  # the evidence, byte for byte
    assert kept["bytes"] == len(truncated) and kept["readable_lines"] == len(lines) > 0
    # the readable part of the truncated file: whole lines of the original, in order
    assert [json.loads(q["raw"]) for q in lines][:-1] == late[: len(lines) - 1]
    assert all(q["record"].startswith("events_20260114_late.json.gz:") for q in lines)
    counts = result["records"]["events"]
    assert counts == {
        "extracted": len(day) + len(lines) + 2,
        "landed": len(day),
        "quarantined": len(lines) + 2,
    }


def test_a_gzip_encoded_reply_read_in_pieces_is_decoded(settings: Settings, scripted) -> None:
    """The deadline reads the body piece by piece; vendors compress (Content-Encoding)."""
    from smarketing.sources.http import JsonHttpClient, RetryPolicy

    payload = {"results": [{"id": str(i), "pad": "y" * 50} for i in range(5000)]}
    raw = gzip.compress(json.dumps(payload).encode())
    server = scripted(lambda request: Reply(200, raw=raw, headers={"Content-Encoding": "gzip"}))
    client = JsonHttpClient("hubspot", server.url, policy=RetryPolicy(deadline_seconds=30))
    assert client.request("GET", "/anything") == payload
    assert len(raw) < len(json.dumps(payload)) / 10  # it really travelled compressed
