"""What each vendor delivers: entities, how they are keyed, and which fields are required.

One table of facts drives extraction checks, landing and raw loading. Each vendor's entries
live with its connector (``smarketing.sources.<vendor>.ENTITIES``, named by the registry
entry's ``catalog``); ``ENTITIES`` here is all of them in registry order, so adding an entity
is one entry in the vendor's module plus its staging model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING, Literal

from smarketing.sources.timestamps import parse_vendor_timestamp, vendor_timestamp_problem
from smarketing.vendors import VENDOR_NAMES, VENDORS, enabled_vendors

if TYPE_CHECKING:
    from smarketing.config import Settings

LoadStrategy = Literal["upsert", "append", "window"]
# crm_timestamp: every form HubSpot sends (ISO with/without ms, date only, epoch ms)
FieldKind = Literal["int", "decimal", "date", "yyyymmdd", "timestamp", "crm_timestamp"]


@dataclass(frozen=True)
class EntitySpec:
    """One entity of one source.

    ``upsert`` entities are mutable objects (CRM contacts): every version received is kept and
    the one with the newest ``updated_path`` wins (ties: the latest delivery), whatever order
    intervals are loaded in.
    ``append`` entities are immutable facts keyed by ``key_paths`` (e-mail activity, clicks,
    GA4 events): a later delivery never deletes what an earlier one brought; the same key
    delivered twice is kept once (the latest delivery wins).
    ``window`` entities are restated figures by day (ad stats): each day holds the rows of the
    latest delivery that covered it, one per ``key_paths`` (the natural grain).
    """

    source: str  # the vendor (smarketing.vendors)
    entity: str
    strategy: LoadStrategy
    id_path: str | None  # dotted path of the record id (None: no natural id)
    date_path: str | None  # dotted path of the partition day (window entities)
    date_format: Literal["", "iso", "yyyymmdd"]  # how the partition day field is written
    updated_path: str | None  # dotted path of the last-modified timestamp (upsert entities)
    required: tuple[str, ...]
    # fields that, when present, must parse as their kind; a record that fails is quarantined
    types: tuple[tuple[str, FieldKind], ...] = ()
    # fields that name a record in errors when it has no id (e.g. campaign and day)
    label_paths: tuple[str, ...] = ()
    # the natural key of facts (append / window); None values are part of the key
    key_paths: tuple[str, ...] = ()
    # typed date fields that may lie after the run time (an open deal's expected close date)
    future_ok: tuple[str, ...] = ()
    # the money a quarantined record carries, and its scale (Google's micros: 0.000001)
    value_path: str | None = None
    value_scale: str = "1"

    @property
    def raw_table(self) -> str:
        return f"{self.source}__{self.entity}"


# the vendors of the registry (smarketing.vendors), each delivering exactly its listed entities
SOURCES: tuple[str, ...] = VENDOR_NAMES


@cache
def _entities() -> tuple[EntitySpec, ...]:
    """Every vendor's catalog entries, in registry order, from the module its entry names.

    Each connector module defines its vendor's entries (imported here on first use, so a
    connector may import this module for ``EntitySpec``). The registry and the entries must
    name the same vendors and entities.
    """
    specs = tuple(spec for vendor in VENDORS for spec in vendor.catalog_entries())
    found = [(e.source, e.entity) for e in specs]
    listed = [(v.name, entity) for v in VENDORS for entity in v.entities]
    if sorted(found) != sorted(listed) or len(set(found)) != len(found):
        raise RuntimeError(
            "catalog and vendor registry disagree: only in catalog"
            f" {sorted(set(found) - set(listed))}, only in registry"
            f" {sorted(set(listed) - set(found))}"
        )
    for vendor in VENDORS:
        if any(e.source != vendor.name for e in vendor.catalog_entries()):
            raise RuntimeError(f"{vendor.catalog} holds entries of another vendor")
    return specs


def __getattr__(name: str) -> object:
    """``ENTITIES``, collected on first use (PEP 562): see :func:`_entities`."""
    if name == "ENTITIES":
        return _entities()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def entities_of(source: str) -> tuple[EntitySpec, ...]:
    """The entities one vendor delivers; an unknown vendor is a programming error."""
    found = tuple(e for e in _entities() if e.source == source)
    if not found:
        raise KeyError(f"unknown vendor {source!r}; known: {', '.join(SOURCES)}")
    return found


def enabled_entities(settings: Settings | None = None) -> tuple[EntitySpec, ...]:
    """The entities of the enabled vendors (what extract, load and the quarantine checks see)."""
    names = {v.name for v in enabled_vendors(settings)}
    return tuple(e for e in _entities() if e.source in names)


def get_path(record: dict, dotted: str) -> object:
    """Value at a dotted path, or None when any step is missing."""
    value: object = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def type_problem(
    kind: FieldKind,
    value: object,
    floor: date | None = None,
    latest: datetime | None = None,
) -> str | None:
    """Why ``value`` is not a valid ``kind``, or None when it is.

    Dates and timestamps before ``floor`` or after ``latest`` (the run time) are impossible
    (a 1900-01-01 placeholder, a clock in the year 3000) and rejected like unparseable ones.
    """
    text = str(value).strip()
    try:
        if kind == "int":
            if isinstance(value, bool) or not (
                isinstance(value, int) or text.lstrip("-").isdigit()
            ):
                return f"not an integer: {text[:40]!r}"
        elif kind == "decimal":
            if isinstance(value, bool):
                return f"not a decimal: {text[:40]!r}"
            Decimal(text)
            if not Decimal(text).is_finite():
                return f"not a finite decimal: {text[:40]!r}"
        elif kind == "date":
            return _out_of_range(date.fromisoformat(text), None, text, floor, latest)
        elif kind == "yyyymmdd":
            if len(text) != 8 or not text.isdigit():
                return f"not a YYYYMMDD date: {text[:40]!r}"
            day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
            return _out_of_range(day, None, text, floor, latest)
        elif kind == "crm_timestamp":
            try:  # parsed once per value: this runs for every timestamp of every record
                ts = parse_vendor_timestamp(value)
            except (ValueError, OverflowError, OSError):
                return vendor_timestamp_problem(value)
            return _out_of_range(ts.date(), ts, text, floor, latest)
        elif kind == "timestamp":
            ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if ts.tzinfo is None:
                return f"timestamp without time zone: {text[:40]!r}"
            return _out_of_range(ts.date(), ts, text, floor, latest)
    except (ValueError, InvalidOperation):
        return f"not a valid {kind}: {text[:40]!r}"
    return None


def _out_of_range(
    day: date, moment: datetime | None, text: str, floor: date | None, latest: datetime | None
) -> str | None:
    if floor is not None and day < floor:
        return f"date before the floor {floor.isoformat()}: {text[:40]!r}"
    if latest is not None:
        too_late = moment > latest if moment is not None else day > latest.date()
        if too_late:
            return f"date after the run time {latest.isoformat(timespec='seconds')}: {text[:40]!r}"
    return None
