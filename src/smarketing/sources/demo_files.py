"""Reader for the demo company's vendor-shaped files (the skeleton's source of data).

It gives the same answers an incremental vendor API would: mutable objects (contacts, deals,
campaigns) in the state they had at the window's end, if they changed inside the window;
day-partitioned facts (events, ad stats, e-mail activity) for the window's days.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smarketing.sources.base import ExtractError, Malformed, read_ndjson
from smarketing.sources.catalog import EntitySpec, get_path
from smarketing.vendors import get_vendor


def parse_ts(value: str) -> datetime:
    """ISO-8601 with a trailing Z, as the vendor APIs write it."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def record_day(spec: EntitySpec, value: object) -> str:
    """ISO day of a window entity's partition field."""
    text = str(value)
    if spec.date_format == "yyyymmdd":
        return f"{text[:4]}-{text[4:6]}-{text[6:8]}"
    return text[:10]


class DemoFileReader:
    """Serves the files written by ``smarketing demo generate``."""

    def __init__(self, demo_dir: Path):
        self.demo_dir = demo_dir

    def _lines(self, path: Path, spec: EntitySpec) -> Iterator[dict]:
        if not path.exists():
            return
        with path.open(encoding="utf-8") as fh:
            for rec in read_ndjson(fh, path.name):
                if isinstance(rec, Malformed):  # the demo's own files must be sound
                    raise ExtractError(spec.source, spec.entity, rec.label, "<record>", rec.reason)
                yield rec

    def _files(self, spec: EntitySpec, start: datetime, end: datetime) -> list[Path]:
        folder = self.demo_dir / get_vendor(spec.source).demo_folder
        if spec.source == "ga4":  # the GA4 export: one file per day
            days, day = [], start.date()
            while day < end.date():
                days.append(folder / f"{spec.entity}_{day:%Y%m%d}.jsonl")
                day += timedelta(days=1)
            return days
        return [folder / f"{spec.entity}.jsonl"]

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        if spec.strategy != "upsert":  # facts (window or append) are read by day
            first, last = start.date().isoformat(), end.date().isoformat()
            for path in self._files(spec, start, end):
                for rec in self._lines(path, spec):
                    day = get_path(rec, spec.date_path or "")
                    if day is not None and first <= record_day(spec, day) < last:
                        yield rec
            return
        # upsert: latest version of each object as of `end`, if it changed inside the window
        latest: dict[str, tuple[datetime, dict]] = {}
        for path in self._files(spec, start, end):
            for rec in self._lines(path, spec):
                rid, updated = (
                    get_path(rec, spec.id_path or "id"),
                    get_path(rec, spec.updated_path or ""),
                )
                if rid is None or updated is None:
                    yield rec  # let validation name the missing field
                    continue
                ts = parse_ts(str(updated))
                if ts < end and (str(rid) not in latest or ts >= latest[str(rid)][0]):
                    latest[str(rid)] = (ts, rec)
        for ts, rec in latest.values():
            if ts >= start:
                yield rec
