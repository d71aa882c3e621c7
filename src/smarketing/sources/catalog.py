"""What each vendor delivers: entities, how they are keyed, and which fields are required.

One table of facts drives extraction checks, landing and raw loading, so that adding an
entity is one entry here plus its staging model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
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


ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        "hubspot",
        "contacts",
        "upsert",
        "id",
        None,
        "",
        "updatedAt",
        required=("id", "updatedAt", "properties.createdate"),
        types=(
            ("updatedAt", "timestamp"),
            ("properties.createdate", "crm_timestamp"),
            ("properties.hs_lifecyclestage_lead_date", "crm_timestamp"),
            ("properties.hs_lifecyclestage_marketingqualifiedlead_date", "crm_timestamp"),
            ("properties.hs_lifecyclestage_salesqualifiedlead_date", "crm_timestamp"),
            ("properties.hs_lifecyclestage_opportunity_date", "crm_timestamp"),
            ("properties.hs_lifecyclestage_customer_date", "crm_timestamp"),
            ("properties.hs_v2_date_entered_marketingqualifiedlead", "crm_timestamp"),
        ),
    ),
    EntitySpec(
        "hubspot",
        "deals",
        "upsert",
        "id",
        None,
        "",
        "updatedAt",
        # no amount: an open deal not priced yet (pipeline of unknown value), never a failure
        required=("id", "updatedAt", "properties.dealstage", "properties.createdate"),
        types=(
            ("updatedAt", "timestamp"),
            ("properties.amount", "decimal"),
            ("properties.createdate", "crm_timestamp"),
            ("properties.closedate", "crm_timestamp"),
        ),
        future_ok=("properties.closedate",),
        value_path="properties.amount",
    ),
    EntitySpec(
        "hubspot",
        "companies",
        "upsert",
        "id",
        None,
        "",
        "updatedAt",
        required=("id", "updatedAt", "properties.name"),
        types=(
            ("updatedAt", "timestamp"),
            ("properties.createdate", "crm_timestamp"),
            ("properties.numberofemployees", "int"),
        ),
    ),
    *(
        # sales engagements logged against contacts: calls, e-mails, meetings
        EntitySpec(
            "hubspot",
            engagement,
            "upsert",
            "id",
            None,
            "",
            "updatedAt",
            required=("id", "updatedAt", "properties.hs_timestamp"),
            types=(("updatedAt", "timestamp"), ("properties.hs_timestamp", "crm_timestamp")),
            # a meeting (or a planned call) may be logged ahead of when it happens
            future_ok=("properties.hs_timestamp",),
        )
        for engagement in ("calls", "emails", "meetings")
    ),
    EntitySpec(
        "mailchimp",
        "campaigns",
        "upsert",
        "id",
        None,
        "",
        "send_time",
        required=("id", "send_time"),
        types=(("send_time", "timestamp"),),
    ),
    EntitySpec(
        "mailchimp",
        "email_activity",
        "append",
        None,
        "timestamp",
        "iso",
        None,
        required=("campaign_id", "email_address", "action", "timestamp"),
        types=(("timestamp", "timestamp"),),
        label_paths=("campaign_id", "email_id", "timestamp"),
        # two clicks on two links in the same second are two activities: the url is keyed too
        key_paths=("campaign_id", "email_address", "action", "timestamp", "url"),
    ),
    EntitySpec(
        "google_ads",
        "campaign_stats",
        "window",
        None,
        "segments.date",
        "iso",
        None,
        required=("campaign.id", "segments.date", "metrics.costMicros", "customer.currencyCode"),
        types=(
            ("segments.date", "date"),
            ("metrics.costMicros", "int"),
            ("metrics.clicks", "int"),
            ("metrics.impressions", "int"),
        ),
        label_paths=("campaign.id", "adGroup.id", "segments.date"),
        key_paths=("customer.id", "campaign.id", "adGroup.id", "segments.date"),
        value_path="metrics.costMicros",
        value_scale="0.000001",
    ),
    EntitySpec(
        # the click_view report: one row per ad click with its Google click id, so that a
        # session auto-tagged with only a gclid (no UTM values) still joins its campaign
        "google_ads",
        "clicks",
        "append",
        None,
        "segments.date",
        "iso",
        None,
        required=("clickView.gclid", "segments.date", "campaign.id"),
        types=(("segments.date", "date"),),
        label_paths=("clickView.gclid", "segments.date"),
        key_paths=("clickView.gclid",),
    ),
    EntitySpec(
        "meta_ads",
        "insights",
        "window",
        None,
        "date_start",
        "iso",
        None,
        required=("campaign_id", "date_start", "spend", "account_currency"),
        types=(
            ("date_start", "date"),
            ("spend", "decimal"),
            ("clicks", "int"),
            ("impressions", "int"),
        ),
        label_paths=("campaign_id", "date_start"),
        key_paths=("account_id", "campaign_id", "date_start"),
        value_path="spend",
    ),
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

# the vendors of the registry (smarketing.vendors), each delivering exactly its listed entities
SOURCES: tuple[str, ...] = VENDOR_NAMES


def _check_registry() -> None:
    """The catalog and the vendor registry name the same vendors and entities."""
    specs = {(e.source, e.entity) for e in ENTITIES}
    listed = {(v.name, entity) for v in VENDORS for entity in v.entities}
    if specs != listed:
        raise RuntimeError(
            f"catalog and vendor registry disagree: only in catalog {sorted(specs - listed)},"
            f" only in registry {sorted(listed - specs)}"
        )


_check_registry()


def entities_of(source: str) -> tuple[EntitySpec, ...]:
    """The entities one vendor delivers; an unknown vendor is a programming error."""
    found = tuple(e for e in ENTITIES if e.source == source)
    if not found:
        raise KeyError(f"unknown vendor {source!r}; known: {', '.join(SOURCES)}")
    return found


def enabled_entities(settings: Settings | None = None) -> tuple[EntitySpec, ...]:
    """The entities of the enabled vendors (what extract, load and the quarantine checks see)."""
    names = {v.name for v in enabled_vendors(settings)}
    return tuple(e for e in ENTITIES if e.source in names)


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
