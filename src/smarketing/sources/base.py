"""The one interface every source reader implements, and the error extraction raises."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from smarketing.sources.catalog import EntitySpec


class ExtractError(RuntimeError):
    """A source delivered something the pipeline cannot accept; names where and what."""

    def __init__(self, source: str, entity: str, record: str, field: str, problem: str):
        self.source, self.entity, self.record, self.field = source, entity, record, field
        super().__init__(
            f"source={source} entity={entity} record={record} field={field}: {problem}"
        )


@dataclass(frozen=True)
class Malformed:
    """A record a reader could not even parse: quarantined with its reason, never dropped."""

    label: str  # where it was: file:line, page, record id
    reason: str
    raw: str


class SourceReader(Protocol):
    """Reads one source's records whose change time or day lies in [start, end)."""

    def read(
        self, spec: EntitySpec, start: datetime, end: datetime
    ) -> Iterator[dict | Malformed]: ...


class EntityRouter:
    """One source served by several vendors (PPC: Google Ads and Meta): route by entity."""

    def __init__(self, readers: dict[str, SourceReader]):
        self.readers = readers

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict | Malformed]:
        return self.readers[spec.entity].read(spec, start, end)


def read_ndjson(lines: Iterable[str], name: str) -> Iterator[dict | Malformed]:
    """Parse newline-delimited JSON; a bad line becomes ``Malformed`` naming file and line."""
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            yield Malformed(
                f"{name}:{lineno}", f"invalid JSON at column {exc.colno}: {exc.msg}", line
            )
