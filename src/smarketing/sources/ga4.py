"""GA4 BigQuery export as newline-delimited JSON files, one or more per day.

Files are named ``events_YYYYMMDD*.json[l][.gz]`` in a local folder or a bucket (``s3://``,
``gs://``: any fsspec URL; credentials through the connection's ``storage_options``). A
window reads every file of its days, so a late file is picked up by the lookback. A line that
is not valid JSON is handed on as ``Malformed`` (quarantined, counted), not dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import fsspec

from smarketing.sources.base import Malformed, read_ndjson
from smarketing.sources.catalog import EntitySpec
from smarketing.sources.credentials import Credentials

PATTERNS = (
    "events_{day}.json",
    "events_{day}.jsonl",
    "events_{day}_*.json*",
    "events_{day}.json.gz",
    "events_{day}.jsonl.gz",
    "events_{day}/*.json*",
)


class Ga4ExportReader:
    def __init__(self, creds: Credentials):
        creds.require("host")
        options = creds.extra.get("storage_options") or {}
        self.fs, self.root = fsspec.core.url_to_fs(creds.host, **options)
        self.root = self.root.rstrip("/")

    def files_for(self, day: datetime) -> list[str]:
        stamp = day.strftime("%Y%m%d")
        found: set[str] = set()
        for pattern in PATTERNS:
            found.update(self.fs.glob(f"{self.root}/{pattern.format(day=stamp)}"))
        return sorted(found)

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict | Malformed]:
        if spec.entity != "events":
            raise KeyError(f"GA4 reader has no entity {spec.entity!r}")
        day = start
        while day < end:
            for path in self.files_for(day):
                name = path.rsplit("/", 1)[-1]
                with self.fs.open(path, "rt", compression="infer", encoding="utf-8") as fh:
                    yield from read_ndjson(fh, name)
            day += timedelta(days=1)
