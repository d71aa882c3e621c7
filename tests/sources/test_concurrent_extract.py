"""Concurrent extraction: the same landing with 1 and N workers, the vendor's rate kept
across workers, one slice's failure retried alone or failing the whole extract, and landing
that streams (no record kept once written).

Servers are the demo company's vendor APIs on 127.0.0.1 (``DemoServer``) and scripted ones.
"""

from __future__ import annotations

import gc
import itertools
import json
import shutil
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smarketing import pipeline
from smarketing.config import Settings, load_settings
from smarketing.demo.server import DEMO_TOKENS, DemoServer, demo_connections
from smarketing.intervals import resolve_window
from smarketing.landing import MANIFEST_FILE, RECORDS_FILE, land_entity
from smarketing.sources.catalog import ENTITIES, EntitySpec
from smarketing.sources.credentials import Credentials
from smarketing.sources.demo_files import DemoFileReader
from smarketing.sources.fanout import Slice, ordered
from smarketing.sources.http import RetryPolicy, SourceHttpError
from smarketing.sources.hubspot import HubSpotReader, Throttle

SPECS = {s.raw_table: s for s in ENTITIES}
START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 15, tzinfo=UTC)
# a full load of the tiny demo: the interval 2026-02-13, extracted from 2026-01-01
FULL = ("2026-02-13", "2026-02-14", "2026-01-01")


@pytest.fixture
def own_demo(
    tmp_path: Path, tiny_demo: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, DemoServer]]:
    """A private demo server (pages of 5) with HubSpot windows sliced every 40 records."""
    demo = tmp_path / "demo"
    shutil.copytree(tiny_demo, demo)
    monkeypatch.setattr("smarketing.sources.hubspot.SLICE_RECORDS", 40)
    with DemoServer(demo, page_size=5) as server:
        for key, value in demo_connections(server.url, demo).items():
            monkeypatch.setenv(key, value)
        yield demo, server


def _extract(source: str, workers: int, data: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """pipeline.extract of the full load into ``data``; {entity: (records, sha256, lines)}."""
    monkeypatch.setenv("SMARKETING_EXTRACT_WORKERS", str(workers))
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(data))
    settings = load_settings()
    settings.ensure_dirs()
    pipeline.extract(source, *FULL, settings=settings)
    out = {}
    for folder in sorted((settings.landing_dir / source).glob("*/interval=*")):
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        lines = (folder / RECORDS_FILE).read_text().splitlines()
        out[folder.parent.name] = (manifest["records"], manifest["sha256"], lines)
    return out


# ---------------------------------------------------------------- same landing, any workers


@pytest.mark.parametrize("source", ["hubspot", "mailchimp", "google_ads"])
def test_one_and_eight_workers_land_identical_files(
    source: str,
    own_demo: tuple[Path, DemoServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serial = _extract(source, 1, tmp_path / "one", monkeypatch)
    pooled = _extract(source, 8, tmp_path / "eight", monkeypatch)
    again = _extract(source, 8, tmp_path / "eight-again", monkeypatch)
    assert serial == pooled == again  # records, checksum and line order
    # the largest entity spans several slices (HubSpot: 40 records; a campaign; a day)
    assert max(n for n, _, _ in serial.values()) > 80


def test_hubspot_slices_hold_exactly_each_slices_search(
    own_demo: tuple[Path, DemoServer], settings: Settings
) -> None:
    """Known answer: a sliced window returns, slice by slice in time order, what the demo
    files hold for each slice (the state at the slice's end), sorted as the search sorts."""
    demo, server = own_demo
    creds = Credentials("smarketing_hubspot", host=server.url, password=DEMO_TOKENS["hubspot"])
    reader = HubSpotReader(creds, search_per_second=10_000, workers=4, slice_records=15)
    spec = SPECS["hubspot__deals"]
    got = list(reader.read(spec, START, END))
    total = sum(1 for _ in DemoFileReader(demo).read(spec, START, END))
    windows = reader.time_slices(START, END, total)
    assert len(windows) == -(-total // 15) >= 5 and reader.slices == len(windows)
    assert windows[0][0] == START and windows[-1][1] == END
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))
    want = []
    for s, e in windows:
        part = sorted(
            DemoFileReader(demo).read(spec, s, e), key=lambda r: (r["updatedAt"], r["id"])
        )
        want += [{k: v for k, v in r.items() if k != "associations"} for r in part]
    assert [{k: v for k, v in r.items() if k != "associations"} for r in got] == want
    # each deal carries its contacts, read in batches per slice
    assert all(r["associations"]["contacts"]["results"] for r in got)


# ---------------------------------------------------------------- the rate limit holds


class CountingLimit:
    """The server's rate limiter, recording when each search arrived (server side)."""

    def __init__(self, limit) -> None:
        self.limit, self.arrivals = limit, []
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            self.arrivals.append(time.monotonic())
        return self.limit.allow()

    @property
    def refused(self) -> int:
        return self.limit.refused

    def most_in_one_second(self) -> int:
        times = sorted(self.arrivals)
        return max(sum(1 for u in times[i:] if u - t < 1.0) for i, t in enumerate(times))


def _hubspot(server: DemoServer, per_second: float, workers: int) -> HubSpotReader:
    creds = Credentials("smarketing_hubspot", host=server.url, password=DEMO_TOKENS["hubspot"])
    policy = RetryPolicy(max_attempts=60, backoff_seconds=0.05, max_backoff_seconds=0.3)
    return HubSpotReader(creds, policy, per_second, workers=workers, slice_records=15)


def test_the_search_rate_holds_across_eight_workers(tiny_demo: Path) -> None:
    spec = SPECS["hubspot__deals"]
    window = (START, END)  # 75 deals: 5 slices of about 15
    with DemoServer(tiny_demo, page_size=5, hubspot_search_per_second=5) as server:
        counting = server.hubspot_search_limit = CountingLimit(server.hubspot_search_limit)
        polite = _hubspot(server, per_second=4, workers=8)
        got = list(polite.read(spec, *window))
        assert polite.slices >= 5 and len(counting.arrivals) >= 16
        assert counting.refused == 0
        assert counting.most_in_one_second() <= 5
        # the same workers without the shared throttle overrun the limit: the test can fail
        greedy = _hubspot(server, per_second=1000, workers=8)
        counting.arrivals.clear()
        again = list(greedy.read(spec, *window))
        assert counting.refused > 0 and counting.most_in_one_second() > 5
    assert again == got  # the 429s were retried; same records, same order


def test_throttle_shared_by_threads_gives_every_call_its_own_slot() -> None:
    """Eight threads, five calls each, the clock standing still: each call is given the next
    free slot, 20 ms after the previous one, whichever thread asks (a shared token bucket
    of one token)."""
    slept: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            slept.append(round(seconds, 6))

    throttle = Throttle(50, clock=lambda: 100.0, sleep=sleep)
    threads = [
        threading.Thread(target=lambda: [throttle.wait() for _ in range(5)]) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(slept) == [round(0.02 * i, 6) for i in range(1, 40)]  # the first: no wait
    assert throttle.waited == pytest.approx(sum(0.02 * i for i in range(40)))


# ---------------------------------------------------------------- failures


def _campaign_ids(demo: Path) -> list[str]:
    rows = [
        json.loads(x) for x in (demo / "mailchimp" / "campaigns.jsonl").read_text().splitlines()
    ]
    rows.sort(key=lambda r: (r["send_time"], r["id"]))
    return [r["id"] for r in rows]


def test_a_429_or_500_in_one_slice_retries_only_that_slice(
    own_demo: tuple[Path, DemoServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo, server = own_demo
    clean = _extract("mailchimp", 4, tmp_path / "clean", monkeypatch)
    calls_clean = Counter(server.requests)
    server.requests.clear()
    victim = _campaign_ids(demo)[2]
    path = f"/3.0/reports/{victim}/email-activity"
    server.faults.add(path, [429, 500], retry_after="0")
    faulted = _extract("mailchimp", 4, tmp_path / "faulted", monkeypatch)
    calls = Counter(server.requests)
    assert faulted == clean
    assert calls[f"GET {path}"] == calls_clean[f"GET {path}"] + 2
    others = {k: v for k, v in calls.items() if k != f"GET {path}"}
    assert others == {k: v for k, v in calls_clean.items() if k != f"GET {path}"}


def test_a_deterministic_error_in_one_worker_fails_the_extract_and_lands_nothing(
    own_demo: tuple[Path, DemoServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo, server = own_demo
    before = _extract("mailchimp", 8, tmp_path / "data", monkeypatch)  # an earlier good landing
    victim = _campaign_ids(demo)[-1]
    server.faults.add(f"/3.0/reports/{victim}/email-activity", [400])
    monkeypatch.setenv("SMARKETING_EXTRACT_WORKERS", "8")
    with pytest.raises(SourceHttpError) as err:
        pipeline.extract("mailchimp", *FULL, settings=load_settings())
    assert str(err.value).startswith(
        f"source=mailchimp endpoint=GET /3.0/reports/{victim}/email-activity: HTTP 400"
    )
    assert f"while reading slice campaign {victim}" in err.value.__notes__
    folder = tmp_path / "data" / "landing" / "mailchimp" / "email_activity"
    assert [p.name for p in folder.iterdir()] == ["interval=2026-02-13"]  # no temp left
    kept = json.loads((folder / "interval=2026-02-13" / MANIFEST_FILE).read_text())
    assert (kept["records"], kept["sha256"]) == before["email_activity"][:2]


def test_the_first_failing_slice_fails_the_read_without_waiting_for_slow_ones() -> None:
    release = threading.Event()

    def slow() -> Iterator[int]:
        release.wait(10)
        yield 1

    def bad() -> Iterator[int]:
        raise ValueError("slice 2 is broken")
        yield 0

    began = time.monotonic()
    with pytest.raises(ValueError, match="slice 2 is broken") as err:
        list(ordered([Slice("0", slow), Slice("1", lambda: [2]), Slice("2", bad)], workers=3))
    try:
        assert time.monotonic() - began < 5  # not after the slow slice's 10 s
        assert err.value.__notes__ == ["while reading slice 2"]
    finally:
        release.set()


def test_slices_come_back_in_order_whatever_finishes_first() -> None:
    def part(i: int):
        def read() -> Iterator[int]:
            time.sleep(0.002 * ((i * 7) % 5))  # later slices often finish first
            yield from range(i * 10, i * 10 + 10)

        return Slice(str(i), read)

    assert list(ordered([part(i) for i in range(30)], workers=6)) == list(range(300))
    assert list(ordered([part(i) for i in range(30)], workers=1)) == list(range(300))


def test_the_pool_reads_ahead_a_bounded_number_of_slices() -> None:
    started: list[int] = []

    def part(i: int) -> Slice[int]:
        def read() -> Iterator[int]:
            started.append(i)
            yield i

        return Slice(str(i), read)

    reading = ordered((part(i) for i in range(100)), workers=2, ahead=3)
    assert next(reading) == 0
    time.sleep(0.2)
    assert len(started) <= 2 + 3 + 1  # in flight, read ahead, and the one refilled
    reading.close()  # the consumer stops: the pool shuts down
    assert len(started) <= 6


# ---------------------------------------------------------------- streaming landing


class Tracked(dict):
    """A record that can be weakly referenced: alive only while someone holds it."""


def test_landing_keeps_no_record_once_written(tmp_path: Path) -> None:
    spec = SPECS["hubspot__companies"]
    window = resolve_window("2026-01-14", "2026-01-15", 0, extract_start="2026-01-01")
    alive: list[weakref.ref] = []
    most_alive = 0

    class Stream:
        def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
            nonlocal most_alive
            for i in range(20_000):
                if i % 1000 == 0:
                    gc.collect()
                    most_alive = max(most_alive, sum(r() is not None for r in alive))
                    alive[:] = [r for r in alive if r() is not None]
                record = Tracked(
                    id=str(i),
                    updatedAt="2026-01-03T00:00:00Z",
                    properties={"name": f"c{i}", "createdate": "2026-01-02T00:00:00Z"},
                )
                alive.append(weakref.ref(record))
                yield record
                del record

    landed = land_entity(Stream(), spec, window, tmp_path)
    assert landed.records == 20_000
    assert most_alive <= 2  # the record being written, at most; never the stream
    lines = (landed.path / RECORDS_FILE).read_text().splitlines()
    assert len(lines) == 20_000 and json.loads(lines[-1])["id"] == "19999"


def test_hubspot_engagements_stream_one_association_batch_at_a_time(
    own_demo: tuple[Path, DemoServer],
) -> None:
    """Serially read, a slice holds one batch of 100 records, not the whole window: the
    association reads interleave with the search pages."""
    _, server = own_demo
    creds = Credentials("smarketing_hubspot", host=server.url, password=DEMO_TOKENS["hubspot"])
    reader = HubSpotReader(creds, search_per_second=10_000, workers=1, slice_records=10**6)
    records = list(reader.read(SPECS["hubspot__calls"], START, END))
    assert len(records) > 100
    calls = [r for r in server.requests if "/calls/" in r]
    first_assoc = calls.index("POST /crm/v4/associations/calls/contacts/batch/read")
    assert first_assoc == 100 // 5  # after the 20 search pages of 5 that fill one batch
    assert calls.count("POST /crm/v4/associations/calls/contacts/batch/read") == -(
        -len(records) // 100
    )
