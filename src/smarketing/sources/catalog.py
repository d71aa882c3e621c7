"""What each source delivers: entities, how they are keyed, and which fields are required.

One table of facts drives extraction checks, landing and raw loading, so that adding an
entity is one entry here plus its staging model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from smarketing.sources.timestamps import vendor_timestamp_problem

LoadStrategy = Literal["upsert", "window"]
# crm_timestamp: every form HubSpot sends (ISO with/without ms, date only, epoch ms)
FieldKind = Literal["int", "decimal", "date", "yyyymmdd", "timestamp", "crm_timestamp"]


@dataclass(frozen=True)
class EntitySpec:
    """One entity of one source.

    ``upsert`` entities are mutable objects (CRM contacts): the latest version per id wins.
    ``window`` entities are immutable facts partitioned by day (GA4 events, ad stats): a
    re-run of an interval replaces exactly the days of its window.
    """

    source: str
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

    @property
    def raw_table(self) -> str:
        return f"{self.source}__{self.entity}"


ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        "crm",
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
        ),
    ),
    EntitySpec(
        "crm",
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
    ),
    EntitySpec(
        "crm",
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
            "crm",
            engagement,
            "upsert",
            "id",
            None,
            "",
            "updatedAt",
            required=("id", "updatedAt", "properties.hs_timestamp"),
            types=(("updatedAt", "timestamp"), ("properties.hs_timestamp", "crm_timestamp")),
        )
        for engagement in ("calls", "emails", "meetings")
    ),
    EntitySpec(
        "email",
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
        "email",
        "email_activity",
        "window",
        None,
        "timestamp",
        "iso",
        None,
        required=("campaign_id", "email_address", "action", "timestamp"),
        types=(("timestamp", "timestamp"),),
        label_paths=("campaign_id", "email_id", "timestamp"),
    ),
    EntitySpec(
        "ppc",
        "google_ads",
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
    ),
    EntitySpec(
        # the click_view report: one row per ad click with its Google click id, so that a
        # session auto-tagged with only a gclid (no UTM values) still joins its campaign
        "ppc",
        "google_ads_clicks",
        "window",
        None,
        "segments.date",
        "iso",
        None,
        required=("clickView.gclid", "segments.date", "campaign.id"),
        types=(("segments.date", "date"),),
        label_paths=("clickView.gclid", "segments.date"),
    ),
    EntitySpec(
        "ppc",
        "meta_insights",
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
    ),
    EntitySpec(
        "web",
        "events",
        "window",
        None,
        "event_date",
        "yyyymmdd",
        None,
        required=("event_date", "event_timestamp", "event_name", "user_pseudo_id"),
        types=(("event_date", "yyyymmdd"), ("event_timestamp", "int")),
        label_paths=("user_pseudo_id", "event_timestamp", "event_name"),
    ),
)

SOURCES: tuple[str, ...] = ("crm", "email", "ppc", "web")


def entities_of(source: str) -> tuple[EntitySpec, ...]:
    """The entities one source delivers; an unknown source is a programming error."""
    found = tuple(e for e in ENTITIES if e.source == source)
    if not found:
        raise KeyError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    return found


def get_path(record: dict, dotted: str) -> object:
    """Value at a dotted path, or None when any step is missing."""
    value: object = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def type_problem(kind: FieldKind, value: object) -> str | None:
    """Why ``value`` is not a valid ``kind``, or None when it is."""
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
            date.fromisoformat(text)
        elif kind == "yyyymmdd":
            if len(text) != 8 or not text.isdigit():
                return f"not a YYYYMMDD date: {text[:40]!r}"
            date(int(text[:4]), int(text[4:6]), int(text[6:]))
        elif kind == "crm_timestamp":
            return vendor_timestamp_problem(value)
        elif kind == "timestamp":
            ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if ts.tzinfo is None:
                return f"timestamp without time zone: {text[:40]!r}"
    except (ValueError, InvalidOperation):
        return f"not a valid {kind}: {text[:40]!r}"
    return None
