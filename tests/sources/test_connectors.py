"""Each connector against the demo company's local server, speaking the vendor's wire format.

The oracle is the demo reader over the same files: what an incremental API must return.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import math
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from smarketing import pipeline
from smarketing.config import Settings
from smarketing.demo.server import DEMO_TOKENS, DemoServer, demo_connections
from smarketing.landing import QuarantineThresholdExceeded
from smarketing.sources.base import ExtractError
from smarketing.sources.catalog import ENTITIES, SOURCES
from smarketing.sources.demo_files import DemoFileReader
from smarketing.sources.http import SourceHttpError

SPECS = {s.raw_table: s for s in ENTITIES}
START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 15, tzinfo=UTC)
ENDPOINTS = {
    "hubspot__contacts": "/crm/v3/objects/contacts/search",
    "hubspot__companies": "/crm/v3/objects/companies/search",
    "hubspot__deals": "/crm/v3/objects/deals/search",
    "hubspot__calls": "/crm/v3/objects/calls/search",
    "hubspot__emails": "/crm/v3/objects/emails/search",
    "hubspot__meetings": "/crm/v3/objects/meetings/search",
    "mailchimp__campaigns": "/3.0/campaigns",
    "mailchimp__email_activity": "/3.0/reports/",
    "google_ads__campaign_stats": "/v18/customers/",
    "google_ads__clicks": "/v18/customers/",
    "meta_ads__insights": "/v19.0/",
}
SEARCH_STREAM = "POST /v18/customers/1234567890/googleAds:searchStream"


def _norm(rows) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


@pytest.fixture
def own_demo(
    tmp_path: Path, tiny_demo: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, DemoServer]]:
    """A private copy of the demo company (to corrupt) behind its own server, pages of 5."""
    demo = tmp_path / "demo"
    shutil.copytree(tiny_demo, demo)
    with DemoServer(demo, page_size=5) as server:
        for key, value in demo_connections(server.url, demo).items():
            monkeypatch.setenv(key, value)
        yield demo, server


@pytest.mark.parametrize("table", sorted(SPECS))
def test_connector_pages_through_and_equals_the_oracle(
    table: str, own_demo: tuple[Path, DemoServer], settings: Settings
) -> None:
    demo, server = own_demo
    spec = SPECS[table]
    got = list(pipeline.reader_for(spec.source, settings).read(spec, START, END))
    want = list(DemoFileReader(demo).read(spec, START, END))
    assert _norm(got) == _norm(want)
    assert len(got) > 5
    calls = [r for r in server.requests if table in ENDPOINTS and ENDPOINTS[table] in r]
    if table == "google_ads__campaign_stats":  # searchStream: one streamed reply for the window
        assert calls == [SEARCH_STREAM]
    elif table == "google_ads__clicks":  # click_view: one streamed reply per day
        assert calls == [SEARCH_STREAM] * (END - START).days
    elif table in ENDPOINTS:  # paged vendors: more than one page was needed
        assert len(calls) >= 2, server.requests


@pytest.mark.parametrize("table", sorted(ENDPOINTS))
def test_429_with_retry_after_then_success(
    table: str,
    own_demo: tuple[Path, DemoServer],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo, server = own_demo
    slept: list[float] = []
    monkeypatch.setattr("smarketing.sources.http.time.sleep", slept.append)
    server.faults.add(ENDPOINTS[table], [429], retry_after="2")
    server.faults.add(ENDPOINTS[table], [502])
    spec = SPECS[table]
    # one worker: the exact sleep sequence (concurrent slices: tests/sources/test_concurrent_*)
    serial = dataclasses.replace(settings, extract_workers=1)
    got = list(pipeline.reader_for(spec.source, serial).read(spec, START, END))
    assert _norm(got) == _norm(DemoFileReader(demo).read(spec, START, END))
    assert slept[:2] == [2.0, 0.0]  # Retry-After honoured, then the (zeroed) backoff


@pytest.mark.parametrize(
    "source,endpoint",
    [
        ("hubspot", "POST /crm/v3/objects/contacts/search"),
        ("mailchimp", "GET /3.0/campaigns"),
        ("google_ads", "POST /v18/customers/1234567890/googleAds:searchStream"),
    ],
)
def test_5xx_until_retries_run_out_fails_naming_the_endpoint_and_lands_nothing(
    source: str,
    endpoint: str,
    own_demo: tuple[Path, DemoServer],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, server = own_demo
    monkeypatch.setenv("SMARKETING_HTTP_MAX_ATTEMPTS", "3")
    server.faults.add(endpoint.split(" ")[1], [503] * 10)
    from smarketing.config import load_settings

    with pytest.raises(SourceHttpError) as err:
        pipeline.extract(source, "2026-01-14", "2026-01-15", settings=load_settings())
    assert str(err.value) == f"source={source} endpoint={endpoint}: HTTP 503 after 3 attempts"
    landed = list((settings.landing_dir / source).glob("*/interval=*"))
    entities = {p.parent.name for p in landed}
    failing_entity = {
        "hubspot": "contacts",
        "mailchimp": "campaigns",
        "google_ads": "campaign_stats",
    }[source]
    assert failing_entity not in entities


def test_google_ads_click_view_is_read_one_day_per_request(
    settings: Settings, tiny_demo: Path, demo_server: DemoServer
) -> None:
    spec = SPECS["google_ads__clicks"]
    first, end = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC)
    before = len(demo_server.requests)
    got = list(pipeline.reader_for("google_ads", settings).read(spec, first, end))
    requests = demo_server.requests[before:]
    assert requests == ["POST /token", *[SEARCH_STREAM] * 3]  # one token, one query per day
    days = {"2026-01-05", "2026-01-06", "2026-01-07"}
    rows = [json.loads(x) for x in (tiny_demo / "google_ads" / "clicks.jsonl").open()]
    want = [r for r in rows if r["segments"]["date"] in days]
    assert got == want  # day by day, in the file's order
    assert {r["segments"]["date"] for r in got} == days and len(got) > 30
    assert len({r["clickView"]["gclid"] for r in got}) == len(got)
    assert got[0]["clickView"]["adGroupAd"] == (
        f"customers/1234567890/adGroupAds/{got[0]['adGroup']['id']}~{got[0]['adGroup']['id']}1"
    )


@pytest.mark.parametrize(
    "where",
    ["", " WHERE segments.date BETWEEN '{day}' AND '2026-02-14'"],
    ids=["no-date-filter", "date-range"],
)
def test_click_view_without_a_single_day_filter_is_refused(
    where: str, settings: Settings, demo_server: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google answers a click_view query not limited to one day with 400; so does the demo,
    and the connector fails naming the source, the endpoint and the status (no retry)."""
    from smarketing.sources import google_ads

    query = google_ads.CLICK_VIEW_GAQL.split(" WHERE ")[0] + where
    monkeypatch.setattr(google_ads, "CLICK_VIEW_GAQL", query)
    # one worker: the exact request sequence (with more, the other days' queries already
    # sent when the first is refused are answered 400 too, each once)
    monkeypatch.setenv("SMARKETING_EXTRACT_WORKERS", "1")
    from smarketing.config import load_settings

    before = len(demo_server.requests)
    reader = pipeline.reader_for("google_ads", load_settings())
    with pytest.raises(SourceHttpError) as err:
        list(reader.read(SPECS["google_ads__clicks"], START, END))
    assert (err.value.source, err.value.endpoint) == ("google_ads", SEARCH_STREAM)
    message = str(err.value)
    assert message.startswith(f"source=google_ads endpoint={SEARCH_STREAM}: HTTP 400: ")
    assert "EXPECTED_FILTER_ON_A_SINGLE_DAY" in message and message.endswith("(not retried)")
    assert demo_server.requests[before:] == ["POST /token", SEARCH_STREAM]


def _latest_in_file(path: Path) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        latest[record["id"]] = record
    return latest


@pytest.mark.parametrize("obj", ["companies", "calls", "emails", "meetings"])
def test_hubspot_reads_companies_and_engagements_with_paging_and_contacts(
    obj: str, own_demo: tuple[Path, DemoServer], settings: Settings
) -> None:
    """Over the whole demo range the connector returns exactly the files' objects."""
    demo, server = own_demo
    spec = SPECS[f"hubspot__{obj}"]
    reader = pipeline.reader_for("hubspot", settings)
    got = {r["id"]: r for r in reader.read(spec, START, END)}
    want = _latest_in_file(demo / "hubspot" / f"{obj}.jsonl")
    assert got == want  # properties, timestamps and (engagements) associations
    searches = [r for r in server.requests if r == f"POST /crm/v3/objects/{obj}/search"]
    assert len(searches) == math.ceil(len(want) / 5) >= 2  # pages of 5, cursor to the end
    associations = [r for r in server.requests if f"/crm/v4/associations/{obj}/" in r]
    if obj == "companies":
        assert len(want) == 8 and not associations
        assert {r["properties"]["domain"] for r in got.values()} == {
            f"{c['properties']['name'].lower()}.example" for c in got.values()
        }
        return
    batches = math.ceil(len(want) / 100)  # the connector asks for 100 objects per call
    assert associations == [f"POST /crm/v4/associations/{obj}/contacts/batch/read"] * batches
    kind = obj.removesuffix("s")
    contacts = set(_latest_in_file(demo / "hubspot" / "contacts.jsonl"))
    for record_id, record in got.items():
        (assoc,) = record["associations"]["contacts"]["results"]
        assert assoc == {"id": record_id[:-1], "type": f"{kind}_to_contact"}
        assert assoc["id"] in contacts
        assert record["updatedAt"] == record["properties"]["hs_timestamp"]
        assert record["properties"]["hs_lastmodifieddate"] == record["updatedAt"]
        assert "hs_email_text" not in record["properties"]  # never an e-mail body


def test_hubspot_deal_with_two_contacts_lists_both_primary_first(
    own_demo: tuple[Path, DemoServer], settings: Settings
) -> None:
    demo, server = own_demo
    server.faults.add("/crm/v4/associations/deals/", [429], retry_after="0")
    got = {
        r["id"]: r
        for r in pipeline.reader_for("hubspot", settings).read(SPECS["hubspot__deals"], START, END)
    }
    want = _latest_in_file(demo / "hubspot" / "deals.jsonl")
    assert got == want
    pairs = [
        [a["id"] for a in d["associations"]["contacts"]["results"]]
        for d in got.values()
        if len(d["associations"]["contacts"]["results"]) == 2
    ]
    assert pairs and all(p[0].startswith("1") and p[1] == f"2{p[0][1:]}" for p in pairs)
    assert all(
        a["type"] == "deal_to_contact"
        for d in got.values()
        for a in d["associations"]["contacts"]["results"]
    )


def test_backoff_is_exponential_and_capped() -> None:
    from smarketing.sources.http import RetryPolicy, retry_after_seconds

    policy = RetryPolicy(backoff_seconds=1, max_backoff_seconds=5)
    assert [policy.backoff(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("soon") is None


def _rewrite(path: Path, change) -> None:
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(change(i, r)) + "\n" for i, r in enumerate(rows)))


DEMO_FILES = {
    "hubspot__contacts": "hubspot/contacts.jsonl",
    "hubspot__companies": "hubspot/companies.jsonl",
    "hubspot__deals": "hubspot/deals.jsonl",
    "hubspot__calls": "hubspot/calls.jsonl",
    "hubspot__emails": "hubspot/emails.jsonl",
    "hubspot__meetings": "hubspot/meetings.jsonl",
    "mailchimp__campaigns": "mailchimp/campaigns.jsonl",
    "mailchimp__email_activity": "mailchimp/email_activity.jsonl",
    "google_ads__campaign_stats": "google_ads/campaign_stats.jsonl",
    "google_ads__clicks": "google_ads/clicks.jsonl",
    "meta_ads__insights": "meta_ads/insights.jsonl",
    "ga4__events": "ga4/events_20260105.jsonl",
}
# a required field that is not the one the vendor filters the window on
REQUIRED_TO_DROP = {
    "hubspot__contacts": "properties.createdate",
    "hubspot__companies": "properties.name",
    "hubspot__deals": "properties.dealstage",
    "hubspot__calls": "properties.hs_timestamp",
    "hubspot__emails": "properties.hs_timestamp",
    "hubspot__meetings": "properties.hs_timestamp",
    "mailchimp__campaigns": "id",
    "mailchimp__email_activity": "action",
    "google_ads__campaign_stats": "metrics.costMicros",
    "google_ads__clicks": "campaign.id",
    "meta_ads__insights": "spend",
    "ga4__events": "user_pseudo_id",
}


def _drop(record: dict, dotted: str) -> dict:
    *parents, leaf = dotted.split(".")
    node = record
    for part in parents:
        node = node[part]
    del node[leaf]
    return record


@pytest.mark.parametrize("table", sorted(DEMO_FILES))
def test_new_vendor_field_is_kept_through_to_raw(
    table: str, own_demo: tuple[Path, DemoServer], settings: Settings
) -> None:
    demo, _ = own_demo
    _rewrite(demo / DEMO_FILES[table], lambda i, r: {**r, "zz_new_field": f"kept-{i}"})
    for source in SOURCES:  # every registered vendor
        pipeline.extract(source, "2026-01-14", "2026-01-15", "2026-01-01", settings=settings)
    pipeline.load_raw("2026-01-14", "2026-01-15", "2026-01-01", settings=settings)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    kept = con.execute(
        f"select count(*) filter (where payload ->> '$.zz_new_field' like 'kept-%')"
        f" from raw.{table}"
    ).fetchone()[0]
    con.close()
    assert kept > 0


@pytest.mark.parametrize("table", sorted(DEMO_FILES))
def test_missing_required_field_fails_naming_source_entity_record_field(
    table: str, own_demo: tuple[Path, DemoServer], settings: Settings
) -> None:
    demo, _ = own_demo
    spec, field = SPECS[table], REQUIRED_TO_DROP[table]
    _rewrite(demo / DEMO_FILES[table], lambda i, r: _drop(r, field))
    with pytest.raises(ExtractError) as err:
        pipeline.extract(spec.source, "2026-01-14", "2026-01-15", "2026-01-01", settings=settings)
    message = str(err.value)
    assert message.startswith(f"source={spec.source} entity={spec.entity} record=")
    assert message.endswith(f"field={field}: required field is missing")
    assert (err.value.source, err.value.entity, err.value.field) == (
        spec.source,
        spec.entity,
        field,
    )
    # names the record by id or key fields; only a record without an id gets its position
    assert err.value.record != "" and (err.value.record != "#0" or field == "id")
    assert not (settings.landing_dir / spec.source / spec.entity / "interval=2026-01-14").exists()


def test_malformed_records_are_quarantined_counted_and_loaded_nowhere_else(
    own_demo: tuple[Path, DemoServer], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo, _ = own_demo
    monkeypatch.setenv("SMARKETING_QUARANTINE_MAX_SHARE", "0.2")
    from smarketing.config import load_settings

    settings = load_settings()
    # Meta: a spend that is no number
    meta = demo / "meta_ads" / "insights.jsonl"
    rows = [json.loads(x) for x in meta.read_text().splitlines()]
    rows[0]["spend"] = "12,50"
    meta.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # GA4: a late gzipped file with an impossible date and a truncated line
    good = json.loads((demo / "ga4" / "events_20260110.jsonl").read_text().splitlines()[0])
    with gzip.open(demo / "ga4" / "events_20260110_late.json.gz", "wt") as fh:
        fh.write(json.dumps({**good, "event_date": "20260230"}) + "\n")
        fh.write('{"event_date": "20260110", "event_name": "page_v\n')
    result = {
        s: pipeline.extract(s, "2026-01-14", "2026-01-15", "2026-01-01", settings=settings)
        for s in SOURCES  # every registered vendor: load_raw loads them all
    }
    assert result["meta_ads"]["records"]["insights"] == {
        "extracted": 28,
        "landed": 27,
        "quarantined": 1,
    }
    web = result["ga4"]["records"]["events"]
    assert web["quarantined"] == 2 and web["extracted"] == web["landed"] + 2
    loaded = pipeline.load_raw("2026-01-14", "2026-01-15", "2026-01-01", settings=settings)
    assert loaded["loaded"]["raw.meta_ads__insights"] == {
        "extracted": 28,
        "loaded": 27,
        "quarantined": 1,
        "duplicates": 0,
        "quarantined_value": "0.000000",  # '12,50' cannot be read as money...
        "quarantined_unvalued": 1,  # ...so it is counted as spend of unknown value
    }
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    reasons = con.execute(
        "select source, entity, record, field, reason from raw._quarantine order by all"
    ).fetchall()
    con.close()
    assert reasons == [
        (
            "ga4",
            "events",
            "events_20260110_late.json.gz:2",
            "<record>",
            "invalid JSON at column 49: Invalid control character at",
        ),
        (
            "ga4",
            "events",
            f"user_pseudo_id={good['user_pseudo_id']} event_timestamp="
            f"{good['event_timestamp']} event_name={good['event_name']}",
            "event_date",
            "not a valid yyyymmdd: '20260230'",
        ),
        (
            "meta_ads",
            "insights",
            "campaign_id=2001 date_start=2026-01-01",
            "spend",
            "not a valid decimal: '12,50'",
        ),
    ]


def test_quarantine_above_threshold_fails_the_extract(
    own_demo: tuple[Path, DemoServer], settings: Settings
) -> None:
    demo, _ = own_demo  # default threshold in tests: 1 %
    meta = demo / "meta_ads" / "insights.jsonl"
    rows = [json.loads(x) for x in meta.read_text().splitlines()]
    for row in rows[:5]:
        row["clicks"] = "many"
    meta.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(
        QuarantineThresholdExceeded,
        match=(
            r"source=meta_ads entity=insights interval=2026-01-14: 5 of 28 records quarantined "
            r"\(17.9% > 1.0% allowed\).*first: campaign_id=2001 date_start=2026-01-01 "
            r"field=clicks: not an integer: 'many'"
        ),
    ):
        pipeline.extract("meta_ads", "2026-01-14", "2026-01-15", "2026-01-01", settings=settings)
    # the evidence is kept
    q = settings.landing_dir / "meta_ads" / "insights" / "interval=2026-01-14" / "quarantine.jsonl"
    assert len(q.read_text().splitlines()) == 5


def test_incremental_window_takes_the_interval_plus_lookback(
    settings: Settings, tiny_demo: Path
) -> None:
    out = pipeline.extract(
        "hubspot", "2026-01-10T02:00:00+00:00", "2026-01-11T02:00:00+00:00", settings=settings
    )  # lookback 2 days: Jan 8..10
    landed = settings.landing_dir / "hubspot" / "contacts" / "interval=2026-01-10" / "records.jsonl"
    rows = [json.loads(x) for x in landed.read_text().splitlines()]
    days = Counter(r["updatedAt"][:10] for r in rows)
    assert set(days) <= {"2026-01-08", "2026-01-09", "2026-01-10"}
    spec = SPECS["hubspot__contacts"]
    want = list(
        DemoFileReader(tiny_demo).read(
            spec, datetime(2026, 1, 8, tzinfo=UTC), datetime(2026, 1, 11, tzinfo=UTC)
        )
    )
    assert _norm(rows) == _norm(want)
    assert out["records"]["contacts"]["landed"] == len(want) > 0


def test_credentials_never_reach_logs_landing_or_errors(
    own_demo: tuple[Path, DemoServer],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, server = own_demo
    caplog.set_level(logging.DEBUG)
    server.faults.add("/3.0/campaigns", [429], retry_after="0")
    for source in SOURCES:  # every registered vendor
        pipeline.extract(source, "2026-01-14", "2026-01-15", "2026-01-01", settings=settings)
    # a wrong token: the 401 error must not echo it
    conn = json.loads(demo_connections(server.url, Path("x"))["AIRFLOW_CONN_SMARKETING_HUBSPOT"])
    conn["password"] = "wrong-secret-token"
    monkeypatch.setenv("AIRFLOW_CONN_SMARKETING_HUBSPOT", json.dumps(conn))
    with pytest.raises(SourceHttpError, match="HTTP 401") as err:
        pipeline.extract("hubspot", "2026-01-14", "2026-01-15", settings=settings)
    secrets = [*DEMO_TOKENS.values(), "wrong-secret-token"]
    landed_text = "".join(p.read_text() for p in settings.landing_dir.rglob("*.json*"))
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in landed_text
        assert secret not in str(err.value)
    assert "retrying" in caplog.text  # the 429 was logged, without credentials
