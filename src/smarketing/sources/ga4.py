"""GA4 BigQuery export as newline-delimited JSON files, one or more per day.

Files are named ``events_YYYYMMDD*.json[l][.gz]`` in a local folder or a bucket (``s3://``,
``gs://``: any fsspec URL; credentials through the connection's ``storage_options``). A
window reads every file of its days, so a late file is picked up by the lookback. A line that
is not valid JSON is handed on as ``Malformed`` (quarantined, counted), not dropped. A file
that cannot be read to its end (a truncated or corrupt ``.gz``, bytes that are not UTF-8) is
quarantined whole: every line of its readable part, plus one entry naming the file, its size,
SHA-256, the reason and (up to a size) its bytes; no event of a half-read file is loaded.
"""

from __future__ import annotations

import base64
import codecs
import gzip
import hashlib
import json
import zlib
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


# a file that cannot be read to its end; OSError in general (no access) is raised, not kept
CORRUPT = (EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError)
KEEP_BYTES_UP_TO = 8 * 1024 * 1024  # a corrupt file's bytes are kept in quarantine up to this


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
                problem = self.unreadable(path)
                if problem is not None:
                    yield from self.quarantine_file(path, name, problem)
                    continue
                with self.fs.open(path, "rt", compression="infer", encoding="utf-8") as fh:
                    yield from read_ndjson(fh, name)
            day += timedelta(days=1)

    def unreadable(self, path: str) -> str | None:
        """Why the file cannot be read to its end (decompressed and decoded), else None."""
        try:
            with self.fs.open(path, "rb", compression="infer") as fh:
                decoder = codecs.getincrementaldecoder("utf-8")()
                while chunk := fh.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except CORRUPT as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def quarantine_file(self, path: str, name: str, problem: str) -> Iterator[Malformed]:
        """Every readable line of a corrupt file, then the file itself, as ``Malformed``."""
        lines: list[bytes] = []
        try:
            with self.fs.open(path, "rb", compression="infer") as fh:
                for line in fh:
                    lines.append(line)
        except CORRUPT:
            pass  # the readable part is what we have
        reason = f"file is corrupt ({problem}); nothing loaded from it"
        for lineno, line in enumerate(lines, start=1):
            if line.strip():
                text = line.decode("utf-8", "replace")
                yield Malformed(f"{name}:{lineno}", f"{reason}; line of its readable part", text)
        digest, size, head = hashlib.sha256(), 0, bytearray()
        with self.fs.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                if size <= KEEP_BYTES_UP_TO:
                    head += chunk
        kept = {
            "path": path,
            "bytes": size,
            "sha256": digest.hexdigest(),
            "readable_lines": sum(1 for line in lines if line.strip()),
            "base64": base64.b64encode(head).decode() if size <= KEEP_BYTES_UP_TO else None,
        }
        yield Malformed(name, reason, json.dumps(kept))


def build_reader(creds: Credentials, policy, settings) -> Ga4ExportReader:
    """The registry's factory (smarketing.vendors); files, so no HTTP retry policy."""
    return Ga4ExportReader(creds)


# the catalog entries of this vendor's raw tables raw.ga4__<entity> (the registry,
# smarketing.vendors, points here; smarketing.sources.catalog collects them)
ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        "ga4",
        "events",
        "append",
        None,
        "event_date",
        "yyyymmdd",
        None,
        required=("event_date", "event_timestamp", "event_name", "user_pseudo_id"),
        types=(("event_date", "yyyymmdd"), ("event_timestamp", "int")),
        label_paths=("user_pseudo_id", "event_timestamp", "event_name"),
        # GA4 has no event id: an event is its visitor, moment, name and place in the bundle;
        # it belongs to its own event_date, whichever day's file delivered it
        key_paths=(
            "user_pseudo_id",
            "event_timestamp",
            "event_name",
            "event_bundle_sequence_id",
            "batch_event_index",
        ),
    ),
)
