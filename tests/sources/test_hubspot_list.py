"""HubSpot's object list for windows too big to search, through the real connector and the
demo server on 127.0.0.1: paging by cursor, contacts inline and behind their own cursor,
HubSpot's 400 above a page of 100 and 429 beyond the burst limit, the limit kept (and
followed as HubSpot states it), the window filtered here; and the same landing as search.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from smarketing import pipeline
from smarketing.config import Settings, load_settings
from smarketing.demo.server import DEMO_TOKENS, DemoServer, demo_connections
from smarketing.demo.vendors.hubspot import RateLimiter
from smarketing.landing import RECORDS_FILE
from smarketing.sources.catalog import ENTITIES
from smarketing.sources.credentials import Credentials
from smarketing.sources.http import RetryPolicy
from smarketing.sources.hubspot import HubSpotReader

SPECS = {s.entity: s for s in ENTITIES if s.source == "hubspot"}
JAN, FEB, APR = (datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 4))
N_CONTACTS, N_DEALS = 250, 30
BIG_DEAL, LONELY_DEAL = "900000", "900001"  # 650 contacts; none
BIG_DEAL_CONTACTS = [str(200_000 + i) for i in range(650)]
AUTH = {"Authorization": f"Bearer {DEMO_TOKENS['hubspot']}"}


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _version(kind: str, object_id: str, modified: datetime, props: dict, contacts=None) -> dict:
    prop = "lastmodifieddate" if kind == "contact" else "hs_lastmodifieddate"
    row = {
        "id": object_id,
        "properties": {**props, prop: _iso(modified)},
        "createdAt": _iso(JAN),
        "updatedAt": _iso(modified),
        "archived": False,
    }
    if contacts is not None:
        row["associations"] = {
            "contacts": {"results": [{"id": c, "type": f"{kind}_to_contact"} for c in contacts]}
        }
    return row


def _deal_modified(i: int) -> datetime:
    """Deals 0..29 changed every 2 days from 2 Jan; every third one again on 20 Feb."""
    return JAN + timedelta(days=1 + 2 * i, hours=i % 5)


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """250 contacts (every fifth changed again in February) and 30 deals, one with 650
    contacts, one with none."""
    demo = tmp_path_factory.mktemp("crm_list")
    folder = demo / "hubspot"
    folder.mkdir()
    contacts = []
    for i in range(N_CONTACTS):
        cid = str(100_000 + i)
        first = JAN + timedelta(hours=3 * i)
        contacts.append(_version("contact", cid, first, {"email": f"p{i}@example.com"}))
        if i % 5 == 0:
            again = FEB + timedelta(days=3, hours=i % 7)
            contacts.append(_version("contact", cid, again, {"email": f"p{i}@example.org"}))
    deals = []
    for i in range(N_DEALS):
        did = str(900_000 + i)
        linked = (
            BIG_DEAL_CONTACTS
            if did == BIG_DEAL
            else []
            if did == LONELY_DEAL
            else [str(100_000 + i), str(100_100 + i)]
        )
        props = {"dealname": f"Deal {i}", "dealstage": "appointmentscheduled", "amount": "10.00"}
        deals.append(_version("deal", did, _deal_modified(i), props, linked))
        if i % 3 == 0:
            won = {**props, "dealstage": "closedwon"}
            deals.append(_version("deal", did, FEB + timedelta(days=19), won, linked))
    for name, rows in (("contacts", contacts), ("deals", deals)):
        # written out of time order: the server sorts, as HubSpot's index would
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[::-1]))
    return demo


def _reader(server: DemoServer, **kw) -> HubSpotReader:
    creds = Credentials(
        conn_id="smarketing_hubspot", host=server.url, password=DEMO_TOKENS["hubspot"]
    )
    policy = RetryPolicy(max_attempts=8, backoff_seconds=0.3, max_backoff_seconds=1.0)
    kw.setdefault("requests_per_10s", 10_000)
    return HubSpotReader(creds, policy, 1000.0, **kw)


def _gets(server: DemoServer, path: str) -> int:
    return sum(1 for r in server.requests if r == f"GET {path}")


def test_the_list_pages_by_cursor_and_completes_every_deals_contacts(crm: Path) -> None:
    with DemoServer(crm) as server:
        reader = _reader(server)
        contacts = list(reader.list_window("contacts", JAN, APR))
        deals = {d["id"]: d for d in reader.list_window("deals", JAN, APR)}
        assert _gets(server, "/crm/v3/objects/contacts") == 3  # 250 a 100 a page
        assert _gets(server, "/crm/v3/objects/deals") == 1
        # 650 contacts: 100 inline, then pages of 500 and 50 behind the association's cursor
        assert _gets(server, f"/crm/v3/objects/deals/{BIG_DEAL}/associations/contacts") == 2
        assert sum("/associations/" in r for r in server.requests) == 2
    ids = [c["id"] for c in contacts]
    assert ids == [str(100_000 + i) for i in range(N_CONTACTS)]  # each once, by id
    changed_again = contacts[5]
    assert changed_again["properties"]["email"] == "p5@example.org"  # its current state
    assert len(deals) == N_DEALS
    big = deals[BIG_DEAL]["associations"]["contacts"]["results"]
    assert [c["id"] for c in big] == BIG_DEAL_CONTACTS
    assert {c["type"] for c in big} == {"deal_to_contact"}
    assert deals[LONELY_DEAL]["associations"] == {"contacts": {"results": []}}
    assert deals["900007"]["associations"]["contacts"]["results"] == [
        {"id": "100007", "type": "deal_to_contact"},
        {"id": "100107", "type": "deal_to_contact"},
    ]


def test_the_window_is_filtered_on_the_modified_property(crm: Path) -> None:
    """January: the contacts and deals whose current state changed in January only."""
    with DemoServer(crm) as server:
        reader = _reader(server)
        contacts = list(reader.list_window("contacts", JAN, FEB))
        deals = list(reader.list_window("deals", JAN, FEB))
    # contacts changed every 3 h from 1 Jan 00:00: 248 of them in January, of which every
    # fifth changed again in February
    january = [i for i in range(N_CONTACTS) if JAN + timedelta(hours=3 * i) < FEB]
    assert [c["id"] for c in contacts] == [str(100_000 + i) for i in january if i % 5]
    assert len(contacts) == 248 - 50
    expected = [str(900_000 + i) for i in range(N_DEALS) if i % 3 and _deal_modified(i) < FEB]
    assert [d["id"] for d in deals] == expected
    assert len(expected) == 10  # deals 0..14 changed in January; 0, 3, .., 12 again in February


def test_a_page_above_100_is_hubspots_400(crm: Path) -> None:
    with DemoServer(crm) as server:
        url = f"{server.url}/crm/v3/objects/contacts"
        ok = requests.get(url, params={"limit": 100}, headers=AUTH, timeout=10)
        refused = requests.get(url, params={"limit": 101}, headers=AUTH, timeout=10)
    assert ok.status_code == 200 and len(ok.json()["results"]) == 100
    assert ok.json()["paging"]["next"]["after"] == "100"
    assert refused.status_code == 400
    body = refused.json()
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    assert "100" in body["message"] and body["correlationId"]


def test_beyond_the_burst_limit_hubspot_answers_429_and_the_reader_retries(crm: Path) -> None:
    with DemoServer(crm) as server:
        server.hubspot.burst_limit = RateLimiter(2, window=1.0)
        url = f"{server.url}/crm/v3/objects/contacts"
        answers = [requests.get(url, headers=AUTH, timeout=10) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        body = answers[2].json()
        assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT"
        assert body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert "ten_secondly_rolling" in body["message"]
        assert answers[0].headers["X-HubSpot-RateLimit-Max"] == "2"
        assert answers[0].headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "1000"
        assert answers[0].headers["X-HubSpot-RateLimit-Remaining"] == "1"
        assert answers[2].headers["X-HubSpot-RateLimit-Remaining"] == "0"
        # a reader told it may send 1,000 a second is refused, retries, and lands everything
        greedy = _reader(server, requests_per_10s=10_000)
        refused_before = server.hubspot.burst_limit.refused
        contacts = list(greedy.list_window("contacts", JAN, APR))
        assert server.hubspot.burst_limit.refused > refused_before
    assert len({c["id"] for c in contacts}) == N_CONTACTS


def test_the_burst_limit_is_kept_as_configured_and_as_hubspot_states_it(crm: Path) -> None:
    with DemoServer(crm) as server:
        server.hubspot.burst_limit = RateLimiter(6, window=1.0)
        polite = _reader(server, requests_per_10s=30)  # 3 a second, as configured
        list(polite.list_window("contacts", JAN, APR))
        list(polite.list_window("deals", JAN, APR))
        assert server.hubspot.burst_limit.refused == 0
        assert polite.burst.waited > 0.5  # 6 requests 1/3 s apart
        assert polite.burst.per_second == pytest.approx(3.0)  # the headers do not move it
        # not configured: 90 % of the lowest tier's 100 / 10 s until HubSpot states its own
        server.hubspot.burst_limit = RateLimiter(190, window=10.0)
        following = _reader(server, requests_per_10s=None)
        assert following.burst.per_second == pytest.approx(9.0)
        list(following.list_window("deals", JAN, APR))
        assert following.burst.per_second == pytest.approx(0.9 * 19)
        assert server.hubspot.burst_limit.refused == 0


def test_a_big_window_is_listed_only_when_that_is_faster(crm: Path) -> None:
    """One count search prices both ways: 250 contacts are 3 list pages against 2 search
    pages; listing wins at 100 list requests a second and 4 searches, loses at 1 a second."""
    with DemoServer(crm, page_size=200) as server:
        fast = _reader(server, requests_per_10s=1_000, list_above=100, page_size=200)
        fast.throttle.set_rate(4)
        listed = list(fast.read(SPECS["contacts"], JAN, APR))
        assert fast.listed == 1 and _gets(server, "/crm/v3/objects/contacts") == 3
        slow = _reader(server, requests_per_10s=10, list_above=100, page_size=200)
        searched = list(slow.read(SPECS["contacts"], JAN, APR))
        assert slow.listed == 0 and _gets(server, "/crm/v3/objects/contacts") == 3
        small = _reader(server, list_above=250)  # 250 changed: not above; no count search
        before = sum(r.endswith("/contacts/search") for r in server.requests)
        list(small.read(SPECS["contacts"], JAN, APR))
        assert sum(r.endswith("/contacts/search") for r in server.requests) == before + 2
        assert small.listed == 0
    assert sorted(json.dumps(r, sort_keys=True) for r in listed) == sorted(
        json.dumps(r, sort_keys=True) for r in searched
    )


@pytest.fixture
def own_demo(
    tmp_path: Path, tiny_demo: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DemoServer]:
    """The tiny demo company on its own server."""
    demo = tmp_path / "demo"
    shutil.copytree(tiny_demo, demo)
    with DemoServer(demo, page_size=100) as server:
        for key, value in demo_connections(server.url, demo).items():
            monkeypatch.setenv(key, value)
        yield server


def _landed(data: Path, list_above: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(data))
    monkeypatch.setenv("SMARKETING_HUBSPOT_LIST_ABOVE", list_above)
    monkeypatch.setenv("SMARKETING_HUBSPOT_REQUESTS_PER_10S", "100000")
    settings = load_settings()
    settings.ensure_dirs()
    # the tiny demo's full load: its last day, 2026-02-14, extracted from 2026-01-01
    pipeline.extract("hubspot", "2026-02-14", "2026-02-15", "2026-01-01", settings=settings)
    out = {}
    for path in sorted((settings.landing_dir / "hubspot").glob(f"*/interval=*/{RECORDS_FILE}")):
        out[path.parts[-3]] = path.read_text().splitlines()
    return out


def test_listing_lands_record_for_record_what_search_lands(
    own_demo: DemoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo company's full load, searched and listed: the same records, line for line
    (listing lands them in id order, search in modified-time order). The window ends after
    the company's last change: the demo's search answers as of its window's end, where
    HubSpot's, like the list, sees each object as it is now."""
    searched = _landed(tmp_path / "searched", "1000000000", monkeypatch)
    assert not any(r.startswith("GET ") for r in own_demo.requests)
    listed = _landed(tmp_path / "listed", "1", monkeypatch)
    lists = {r for r in own_demo.requests if r.startswith("GET ")}
    assert lists == {f"GET /crm/v3/objects/{entity}" for entity in SPECS}
    assert set(searched) == set(listed) == set(SPECS)
    for entity in SPECS:
        assert sorted(listed[entity]) == sorted(searched[entity]), entity
    assert len(listed["contacts"]) > 100 and len(listed["deals"]) > 10
    deals = [json.loads(line) for line in listed["deals"]]
    assert all(d["associations"]["contacts"]["results"] for d in deals)
