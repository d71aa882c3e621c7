"""Benchmark: HubSpot contacts paged from the demo server, 12,200 contacts in pages of 200.

Prints the seconds per page and in all, with the server's file cache (a page is a slice of a
kept search result) and, for comparison, with the cache defeated (every page re-reads and
re-parses the JSONL file, as the server did before). Run:
``.venv/bin/python benchmarks/demo_server_paging.py``.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smarketing.demo.server import DEMO_TOKENS, DemoServer
from smarketing.sources.catalog import ENTITIES
from smarketing.sources.credentials import Credentials
from smarketing.sources.hubspot import HubSpotReader

CONTACTS = next(s for s in ENTITIES if s.raw_table == "hubspot__contacts")
N = 12_200


def write_company(folder: Path) -> None:
    (folder / "hubspot").mkdir(parents=True)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    with (folder / "hubspot" / "contacts.jsonl").open("w") as fh:
        for i in range(N):
            at = (start + timedelta(seconds=97 * i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            props = {"email": f"p{i}@example.com", "createdate": at, "lastmodifieddate": at}
            fh.write(json.dumps({"id": str(i), "properties": props, "updatedAt": at}) + "\n")


def run(folder: Path, cached: bool) -> tuple[float, int]:
    with DemoServer(folder, page_size=200) as server:
        if not cached:  # defeat both caches: every page parses the file and sorts again
            server.hubspot.indexes._built = _Forget()  # re-read and re-index per page
        creds = Credentials("bench", host=server.url, password=DEMO_TOKENS["hubspot"])
        reader = HubSpotReader(creds, search_per_second=10_000)
        began = time.perf_counter()
        n = sum(
            1
            for _ in reader.read(
                CONTACTS, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
            )
        )
        pages = sum(1 for r in server.requests if r.endswith("/search"))
        return time.perf_counter() - began, pages if n == N else -1


class _Forget(dict):
    """A dict that keeps nothing (an OrderedDict-like API for the search cache)."""

    def __setitem__(self, key, value) -> None:
        return

    def move_to_end(self, key) -> None:
        return


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_company(folder)
        for cached in (True, False):
            seconds, pages = run(folder, cached)
            label = "cached" if cached else "re-read per page"
            print(
                f"{label:>17}: {N} contacts, {pages} requests, {seconds:.2f} s,"
                f" {1000 * seconds / pages:.1f} ms/request"
            )


if __name__ == "__main__":
    main()
