"""Landing zone: raw payloads kept per source / entity / data interval, exactly as received.

A landed interval is written to a temporary folder and renamed into place, so a reader sees
either the previous complete landing of that interval or the new one. Re-running an interval
replaces its folder; other intervals are never touched.

Records are written as the reader yields them (nothing is held: memory does not grow with
the interval), checksummed on the way; a failure anywhere in the read, in any of its worker
threads, closes the read and removes the temporary folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from smarketing import redact
from smarketing.intervals import DataWindow
from smarketing.sources.base import ExtractError, Malformed, SourceReader
from smarketing.sources.catalog import EntitySpec, entities_of, get_path, type_problem

RECORDS_FILE = "records.jsonl"
QUARANTINE_FILE = "quarantine.jsonl"
MANIFEST_FILE = "_manifest.json"


class QuarantineThresholdExceeded(RuntimeError):
    """Too large a share of an entity's records was malformed: the run stops, nothing lost."""


@dataclass(frozen=True)
class Landed:
    """Where one entity's interval landed and how many records it holds."""

    spec: EntitySpec
    path: Path
    records: int
    sha256: str
    quarantined: int = 0

    @property
    def extracted(self) -> int:
        return self.records + self.quarantined


class _Closable:
    """``close()`` for whatever a reader returned: a generator's, else nothing."""

    def __init__(self, records: object):
        self._close = getattr(records, "close", None)

    def close(self) -> None:
        if self._close is not None:
            self._close()


def interval_dir(landing_dir: Path, spec: EntitySpec, window: DataWindow) -> Path:
    return landing_dir / spec.source / spec.entity / f"interval={window.key}"


def _record_label(spec: EntitySpec, record: dict, index: int) -> str:
    """How errors name a record: its id, else its key fields, else its position."""
    rid = get_path(record, spec.id_path) if spec.id_path else None
    if rid is not None:
        return f"id={rid}"
    keys = [f"{p}={v}" for p in spec.label_paths if (v := get_path(record, p)) is not None]
    return " ".join(keys) if keys else f"#{index}"


def validate(spec: EntitySpec, record: object, index: int) -> None:
    """Raise ExtractError naming source, entity, record and field for a missing required field."""
    if not isinstance(record, dict):
        raise ExtractError(spec.source, spec.entity, f"#{index}", "<record>", "not a JSON object")
    for field in spec.required:
        value = get_path(record, field)
        if value is None or value == "":
            raise ExtractError(
                spec.source,
                spec.entity,
                _record_label(spec, record, index),
                field,
                "required field is missing",
            )


DEFAULT_DATE_FLOOR = date(2000, 1, 1)


def type_problems(
    spec: EntitySpec,
    record: dict,
    floor: date | None = DEFAULT_DATE_FLOOR,
    run_time: datetime | None = None,
) -> tuple[str, str] | None:
    """(field, reason) of the first typed field that does not parse or lies out of range."""
    for field, kind in spec.types:
        value = get_path(record, field)
        latest = None if field in spec.future_ok else run_time
        if (
            value is not None
            and value != ""
            and (problem := type_problem(kind, value, floor, latest))
        ):
            return field, problem
    return None


def land_entity(
    reader: SourceReader,
    spec: EntitySpec,
    window: DataWindow,
    landing_dir: Path,
    max_quarantine_share: float = 0.0,
    date_floor: date | None = DEFAULT_DATE_FLOOR,
    run_time: datetime | None = None,
) -> Landed:
    """Extract one entity for the window and land it atomically.

    Records missing a required field stop the extract (ExtractError). Records that cannot be
    parsed or whose typed fields do not parse are kept in quarantine.jsonl with the reason;
    if their share exceeds ``max_quarantine_share`` the extract fails after landing them.
    Dates before ``date_floor`` or after ``run_time`` (default: now) are quarantined too.
    """
    run_time = run_time or datetime.now(UTC)
    final = interval_dir(landing_dir, spec, window)
    final.parent.mkdir(parents=True, exist_ok=True)
    # a killed earlier attempt at this interval may have left its temporary folders
    for stale in (
        *final.parent.glob(f".tmp-{window.key}-*"),
        *final.parent.glob(f".old-{window.key}-*"),
    ):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = final.parent / f".tmp-{window.key}-{os.getpid()}"
    tmp.mkdir()
    digest, count, quarantined, reasons = hashlib.sha256(), 0, 0, []
    records = reader.read(spec, window.extract_start, window.end)
    try:
        with (
            (tmp / RECORDS_FILE).open("w", encoding="utf-8") as fh,
            (tmp / QUARANTINE_FILE).open("w", encoding="utf-8") as qh,
            # a record failing validation stops the read now: its workers stop fetching
            contextlib.closing(_Closable(records)),
        ):
            # streamed: each record is written as it arrives, none is kept
            for index, record in enumerate(records):
                if isinstance(record, Malformed):
                    bad = {
                        "record": record.label,
                        "field": "<record>",
                        "reason": record.reason,
                        "raw": record.raw,
                    }
                else:
                    validate(spec, record, index)
                    problem = type_problems(spec, record, date_floor, run_time)
                    bad = None
                    if problem is not None:
                        bad = {
                            "record": _record_label(spec, record, index),
                            "field": problem[0],
                            "reason": problem[1],
                            "raw": json.dumps(record, sort_keys=True),
                        }
                if bad is not None:
                    qh.write(redact.scrub_known(json.dumps(bad, sort_keys=True)) + "\n")
                    quarantined += 1
                    if len(reasons) < 5:
                        reasons.append(f"{bad['record']} field={bad['field']}: {bad['reason']}")
                    continue
                line = json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n"
                fh.write(line)
                digest.update(line.encode())
                count += 1
            for handle in (fh, qh):
                handle.flush()
                os.fsync(handle.fileno())
        manifest = {
            "source": spec.source,
            "entity": spec.entity,
            "interval": window.key,
            "interval_start": window.start.isoformat(),
            "interval_end": window.end.isoformat(),
            "extract_start": window.extract_start.isoformat(),
            "extracted": count + quarantined,
            "records": count,
            "quarantined": quarantined,
            "sha256": digest.hexdigest(),
            "landed_at": datetime.now(UTC).isoformat(),
        }
        (tmp / MANIFEST_FILE).write_text(redact.scrub_known(json.dumps(manifest, indent=1)))
        old = final.parent / f".old-{window.key}-{os.getpid()}"
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    landed = Landed(spec, final, count, digest.hexdigest(), quarantined)
    if quarantined and quarantined / landed.extracted > max_quarantine_share:
        raise QuarantineThresholdExceeded(
            f"source={spec.source} entity={spec.entity} interval={window.key}: "
            f"{quarantined} of {landed.extracted} records quarantined "
            f"({quarantined / landed.extracted:.1%} > {max_quarantine_share:.1%} allowed); "
            f"kept in {final / QUARANTINE_FILE}; first: " + "; ".join(reasons)
        )
    return landed


def land_source(
    reader: SourceReader,
    source: str,
    window: DataWindow,
    landing_dir: Path,
    max_quarantine_share: float = 0.0,
    date_floor: date | None = DEFAULT_DATE_FLOOR,
    run_time: datetime | None = None,
) -> list[Landed]:
    """Extract and land every entity of one source for the window."""
    return [
        land_entity(reader, spec, window, landing_dir, max_quarantine_share, date_floor, run_time)
        for spec in entities_of(source)
    ]


def read_manifest(path: Path) -> dict:
    manifest = path / MANIFEST_FILE
    if not manifest.exists():
        raise FileNotFoundError(
            f"nothing landed at {path} (no {MANIFEST_FILE}); run the extract first"
        )
    return json.loads(manifest.read_text())
