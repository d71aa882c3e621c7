"""HubSpot as it really behaves, through the real connector and the demo server on 127.0.0.1.

A real-format company with more contacts than one search may page through (10,000), most of
them changed on one day (a first import), loads completely; paging past the cap is answered
with HubSpot's 400; the search rate limit is kept; every timestamp form HubSpot sends passes
the extract's type checks.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smarketing import pipeline
from smarketing.config import Settings
from smarketing.demo.server import DEMO_TOKENS, HUBSPOT_SEARCH_CAP, DemoServer, demo_connections
from smarketing.sources.catalog import ENTITIES, type_problem
from smarketing.sources.credentials import Credentials
from smarketing.sources.http import RetryPolicy, SourceHttpError
from smarketing.sources.hubspot import HubSpotReader, Throttle
from smarketing.sources.timestamps import parse_vendor_timestamp

CONTACTS = next(s for s in ENTITIES if s.raw_table == "hubspot__contacts")
IMPORT_DAY = datetime(2026, 1, 5, tzinfo=UTC)
N_IMPORTED, N_LATER = 10_500, 1_700  # 12,200 contacts: 10,500 of them changed on one day


def _ts_forms(ts: datetime, i: int) -> str:
    """The forms HubSpot sends: ISO with ms, ISO without, epoch ms, plain date."""
    return [
        ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        str(int(ts.timestamp() * 1000)),
        ts.date().isoformat(),
    ][i % 4]


def _contact(i: int, updated: datetime) -> dict:
    created = updated - timedelta(days=3)
    props = {
        "email": None if i % 9 == 0 else f"person{i}@example.com",
        "firstname": f"P{i}",
        "createdate": _ts_forms(created, i),
        "lastmodifieddate": updated.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "lifecyclestage": "lead",
        "hs_lifecyclestage_lead_date": _ts_forms(created, i + 1),
        "hs_analytics_source": "OFFLINE" if i % 2 else "PAID_SEARCH",
    }
    return {
        "id": str(50_000 + i),
        "properties": props,
        "createdAt": created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "updatedAt": props["lastmodifieddate"],
        "archived": False,
    }


@pytest.fixture(scope="module")
def big_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12,200 HubSpot v3 contacts: an import of 10,500 on one day, then 1,700 over 20 days."""
    demo = tmp_path_factory.mktemp("big_crm")
    (demo / "hubspot").mkdir()
    rows = [
        _contact(i, IMPORT_DAY + timedelta(seconds=7 * i + 0.25 * (i % 4)))
        for i in range(N_IMPORTED)
    ]
    rows += [
        _contact(N_IMPORTED + i, IMPORT_DAY + timedelta(days=1, minutes=17 * i))
        for i in range(N_LATER)
    ]
    with (demo / "hubspot" / "contacts.jsonl").open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return demo


def _reader(server: DemoServer, per_second: float = 1000.0, **kw) -> HubSpotReader:
    creds = Credentials(
        conn_id="smarketing_hubspot", host=server.url, password=DEMO_TOKENS["hubspot"]
    )
    policy = RetryPolicy(max_attempts=8, backoff_seconds=0.3, max_backoff_seconds=1.0)
    return HubSpotReader(creds, policy, per_second, **kw)


WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))


def test_more_than_ten_thousand_contacts_load_completely_through_the_capped_search(
    big_company: Path,
) -> None:
    with DemoServer(big_company, page_size=200) as server:
        reader = _reader(server)
        got = list(reader.read(CONTACTS, *WINDOW))
        searches = [r for r in server.requests if r.endswith("/contacts/search")]
    ids = [r["id"] for r in got]
    assert len(ids) == len(set(ids)) == N_IMPORTED + N_LATER == 12_200
    assert set(ids) == {str(50_000 + i) for i in range(12_200)}
    # the whole month held 12,200 > 10,000, and so did its first half: split twice at least
    assert reader.splits >= 2
    # about ceil(12,200 / 200) pages plus one first page per split window
    assert len(searches) <= 12_200 // 200 + 1 + 2 * reader.splits + 2


def test_paging_past_the_cap_is_answered_with_hubspots_400(big_company: Path) -> None:
    """A reader that does not split (cap set beyond HubSpot's) meets HubSpot's error."""
    with DemoServer(big_company, page_size=200) as server:
        reader = _reader(server, search_cap=10**9)
        with pytest.raises(SourceHttpError) as err:
            list(reader.read(CONTACTS, *WINDOW))
    text = str(err.value)
    assert "HTTP 400" in text and "VALIDATION_ERROR" in text and "(not retried)" in text
    assert "POST /crm/v3/objects/contacts/search" in text
    assert f"limited to {HUBSPOT_SEARCH_CAP}" in text


def test_the_search_rate_limit_is_kept_and_a_429_is_retried(big_company: Path) -> None:
    window = (IMPORT_DAY + timedelta(days=1), IMPORT_DAY + timedelta(days=2))  # ~85 contacts
    with DemoServer(big_company, page_size=10, hubspot_search_per_second=5) as server:
        polite = _reader(server, per_second=4)
        got = list(polite.read(CONTACTS, *window))
        assert server.hubspot_search_limit.refused == 0
        assert polite.throttle.waited > 0
        n = len(got)
        assert 50 < n < 200
        # a reader ignoring the limit is answered 429 (HubSpot's body) and retries until done
        greedy = _reader(server, per_second=1000)
        again = list(greedy.read(CONTACTS, *window))
        assert server.hubspot_search_limit.refused > 0
    assert sorted(r["id"] for r in again) == sorted(r["id"] for r in got)


def test_throttle_spaces_calls() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(round(s, 6))
        clock[0] += s

    t = Throttle(4, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        t.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2026-01-05T10:20:30.123Z", datetime(2026, 1, 5, 10, 20, 30, 123000, tzinfo=UTC)),
        ("2026-01-05T10:20:30Z", datetime(2026, 1, 5, 10, 20, 30, tzinfo=UTC)),
        ("2026-01-05T12:20:30+02:00", datetime(2026, 1, 5, 10, 20, 30, tzinfo=UTC)),
        ("2026-01-05", datetime(2026, 1, 5, tzinfo=UTC)),
        ("1767608430123", datetime(2026, 1, 5, 10, 20, 30, 123000, tzinfo=UTC)),
        (1767608430000, datetime(2026, 1, 5, 10, 20, 30, tzinfo=UTC)),
    ],
)
def test_every_hubspot_timestamp_form_is_read(value: object, expected: datetime) -> None:
    assert parse_vendor_timestamp(value) == expected
    assert type_problem("crm_timestamp", value) is None


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026-01-05T10:20:30", "12.5"])
def test_a_timestamp_in_no_form_is_a_type_problem(value: str) -> None:
    assert type_problem("crm_timestamp", value) is not None


def test_extract_lands_the_big_company_without_quarantine(
    big_company: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through pipeline.extract: every contact lands, date-only and epoch values included."""
    with DemoServer(big_company, page_size=200) as server:
        for key, value in demo_connections(server.url, big_company).items():
            monkeypatch.setenv(key, value)
        out = pipeline.extract(
            "hubspot", "2026-01-31", "2026-02-01", "2026-01-01", settings=settings
        )
    counts = out["records"]["contacts"]
    assert counts == {"extracted": 12_200, "landed": 12_200, "quarantined": 0}
    landed = settings.landing_dir / "hubspot" / "contacts" / "interval=2026-01-31" / "records.jsonl"
    rows = [json.loads(x) for x in landed.read_text().splitlines()]
    forms = {len(r["properties"]["createdate"]) for r in rows}
    assert {10, 13, 20, 24} <= forms  # date, epoch ms, ISO without ms, ISO with ms
    assert sum(r["properties"]["email"] is None for r in rows) == len(range(0, 12_200, 9))


def test_contacts_are_searched_with_lead_status_and_the_configured_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """hs_lead_status, the latest MQL entry and the account's own reason property (a
    setting) are requested with every contact search; other objects are not affected."""
    monkeypatch.setenv("SMARKETING_DISQUALIFICATION_REASON_PROPERTY", "why_rejected")
    from smarketing.config import load_settings

    settings = load_settings()
    assert settings.disqualification_reason_property == "why_rejected"
    creds = Credentials(conn_id="smarketing_hubspot", host="http://127.0.0.1:9", password="t")
    reader = HubSpotReader(creds, contact_properties=(settings.disqualification_reason_property,))
    body = reader._search_body("contacts", "lastmodifieddate", *WINDOW)
    wanted = {"hs_lead_status", "hs_v2_date_entered_marketingqualifiedlead", "why_rejected"}
    assert wanted <= set(body["properties"])
    assert len(body["properties"]) == len(set(body["properties"]))
    assert (
        "why_rejected"
        not in reader._search_body("deals", "hs_lastmodifieddate", *WINDOW)["properties"]
    )
    monkeypatch.setenv("SMARKETING_DISQUALIFICATION_REASON_PROPERTY", "x'); drop")
    with pytest.raises(ValueError, match="SMARKETING_DISQUALIFICATION_REASON_PROPERTY"):
        load_settings()
