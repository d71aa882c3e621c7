"""The one registry of source vendors: everything that lists sources reads it.

A vendor is one system we extract from (HubSpot, Mailchimp, Google Ads…). Its entry says which
category it serves (the vendor-neutral ``int_<category>__*`` models union the enabled vendors
of a category), which Airflow Connection holds its credentials, which function builds its
connector, which entities it delivers (raw tables ``raw.<vendor>__<entity>``), where its dbt
staging models live, what the vendor-neutral layer and the quality gate read of it, and which
demo module simulates it. The DAG's extract tasks, the catalog, the credentials list, the
landing zone, raw loading, the quarantine checks, the gate's freshness checks, dbt's
``smarketing_vendors`` var (the ``int_*`` unions), the demo company and its server all come
from here: adding a vendor is one entry here plus its own files (README, "Adding a source").

A vendor is switched off with ``SMARKETING_DISABLED_VENDORS`` (comma-separated names): its
extract task, its load, its quarantine checks and its branch of the vendor unions go away;
its raw tables stay (empty or as last loaded) so its staging models still build.

This module imports nothing heavy: the DAG file reads it at parse time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from smarketing.config import Settings

Category = Literal["crm", "email", "ads", "web"]


@dataclass(frozen=True)
class AdSpend:
    """What the vendor-neutral ad layer (``int_ads__*``) reads of an ad vendor's staging.

    ``spend_model`` has ``date_day``, ``campaign_id``, ``campaign_name``, ``currency_code``,
    ``impressions`` and ``clicks``, and the spend (in ``currency_code``) in ``spend_column``.
    ``clicks_model``, when the vendor reports single clicks with a click id, has ``gclid``,
    ``click_date``, ``campaign_id``, ``campaign_name`` and ``loaded_at`` (a session tagged
    with only the click id still joins its campaign).
    """

    channel: str  # the acquisition channel its clicks arrive as (seed channels.csv)
    spend_model: str
    spend_column: str
    clicks_model: str | None = None


@dataclass(frozen=True)
class Freshness:
    """A gate check that the interval brought rows: staging model and its day column."""

    label: str  # as the check names it: "freshness: <label> delivered data for the interval"
    model: str
    day_column: str


@dataclass(frozen=True)
class Vendor:
    """One source vendor: everything the pipeline, dbt, the gate and the demo need of it."""

    name: str  # raw tables raw.<name>__<entity>, landing <landing>/<name>/<entity>/, task id
    category: Category
    conn_id: str  # the Airflow Connection with its credentials
    # "module:function" building the connector: function(credentials, retry policy, settings)
    connector: str
    # "module:attribute" of the vendor's catalog entries (EntitySpec), one per entity
    catalog: str
    entities: tuple[str, ...]
    staging_folder: str  # dbt_project/models/staging/<folder>
    demo: str  # the demo company's module of this vendor (files, endpoints, connection)
    demo_folder: str  # <demo>/<folder>/<entity>.jsonl (GA4: events_YYYYMMDD.jsonl)
    # the Connection's fields and what each holds (README, Connections)
    connection_fields: tuple[tuple[str, str], ...] = ()
    # the quality gate's interval freshness checks (severity: expectations/severity.yml)
    freshness: tuple[Freshness, ...] = ()
    ads: AdSpend | None = None  # an ad platform: its spend joins every mart

    @property
    def task_id(self) -> str:
        return f"extract_{self.name}"

    def raw_tables(self) -> tuple[str, ...]:
        return tuple(f"{self.name}__{entity}" for entity in self.entities)

    def build_connector(self, credentials, policy, settings: Settings):
        """The vendor's reader (imported only when an extract runs)."""
        return _resolve(self.connector)(credentials, policy, settings)

    def catalog_entries(self) -> tuple:
        """The vendor's EntitySpecs (imports its connector module)."""
        return tuple(_resolve(self.catalog))

    def demo_module(self) -> ModuleType:
        """The demo company's module of this vendor (imported on first use)."""
        return importlib.import_module(self.demo)


def _resolve(pointer: str) -> Any:
    """The object a "module:attribute" pointer names."""
    module, _, attribute = pointer.partition(":")
    return getattr(importlib.import_module(module), attribute)


VENDORS: tuple[Vendor, ...] = (
    Vendor(
        name="hubspot",
        category="crm",
        conn_id="smarketing_hubspot",
        connector="smarketing.sources.hubspot:build_reader",
        catalog="smarketing.sources.hubspot:ENTITIES",
        entities=("contacts", "deals", "companies", "calls", "emails", "meetings"),
        staging_folder="hubspot",
        demo="smarketing.demo.vendors.hubspot",
        demo_folder="hubspot",
        connection_fields=(
            ("host", "API base URL (default https://api.hubapi.com)"),
            ("password", "private app access token"),
        ),
        freshness=(Freshness("the CRM", "stg_hubspot__contacts", "updated_at"),),
    ),
    Vendor(
        name="mailchimp",
        category="email",
        conn_id="smarketing_mailchimp",
        connector="smarketing.sources.mailchimp:build_reader",
        catalog="smarketing.sources.mailchimp:ENTITIES",
        entities=("campaigns", "email_activity"),
        staging_folder="mailchimp",
        demo="smarketing.demo.vendors.mailchimp",
        demo_folder="mailchimp",
        connection_fields=(
            ("host", "API base URL with data centre, e.g. https://us21.api.mailchimp.com"),
            ("password", "API key"),
        ),
        freshness=(
            Freshness("Mailchimp activity", "stg_mailchimp__email_activity", "activity_date"),
        ),
    ),
    Vendor(
        name="google_ads",
        category="ads",
        conn_id="smarketing_google_ads",
        connector="smarketing.sources.google_ads:build_reader",
        catalog="smarketing.sources.google_ads:ENTITIES",
        entities=("campaign_stats", "clicks"),
        staging_folder="google_ads",
        demo="smarketing.demo.vendors.google_ads",
        demo_folder="google_ads",
        connection_fields=(
            ("host", "API base URL (default https://googleads.googleapis.com)"),
            ("login", "customer id (digits only)"),
            ("password", "OAuth refresh token"),
            ("extra.developer_token", "developer token"),
            ("extra.client_id / extra.client_secret", "OAuth client"),
            (
                "extra.token_uri",
                "OAuth token endpoint (default https://oauth2.googleapis.com/token)",
            ),
            ("extra.login_customer_id", "manager account id (optional)"),
        ),
        freshness=(
            Freshness("Google Ads", "stg_google_ads__campaign_stats", "date_day"),
            # without the click report, auto-tagged paid visits would count as direct traffic
            Freshness("Google Ads clicks", "stg_google_ads__clicks", "click_date"),
        ),
        ads=AdSpend(
            "paid_search", "stg_google_ads__campaign_stats", "cost", "stg_google_ads__clicks"
        ),
    ),
    Vendor(
        name="meta_ads",
        category="ads",
        conn_id="smarketing_meta_ads",
        connector="smarketing.sources.meta_ads:build_reader",
        catalog="smarketing.sources.meta_ads:ENTITIES",
        entities=("insights",),
        staging_folder="meta_ads",
        demo="smarketing.demo.vendors.meta_ads",
        demo_folder="meta_ads",
        connection_fields=(
            ("host", "Graph API base URL (default https://graph.facebook.com)"),
            ("password", "system user access token"),
            ("extra.ad_account_id", "ad account, e.g. act_123456"),
        ),
        freshness=(Freshness("Meta Ads", "stg_meta_ads__insights", "date_day"),),
        ads=AdSpend("paid_social", "stg_meta_ads__insights", "spend"),
    ),
    Vendor(
        name="linkedin_ads",
        category="ads",
        conn_id="smarketing_linkedin_ads",
        connector="smarketing.sources.linkedin_ads:build_reader",
        catalog="smarketing.sources.linkedin_ads:ENTITIES",
        entities=("ad_analytics",),
        staging_folder="linkedin_ads",
        demo="smarketing.demo.vendors.linkedin_ads",
        demo_folder="linkedin_ads",
        connection_fields=(
            ("host", "API base URL (default https://api.linkedin.com)"),
            ("login", "ad account id(s), digits, comma-separated for several"),
            ("password", "OAuth refresh token (programmatic refresh tokens, 365 days)"),
            ("extra.client_id / extra.client_secret", "OAuth client of the LinkedIn app"),
            (
                "extra.token_uri",
                "OAuth token endpoint (default https://www.linkedin.com/oauth/v2/accessToken)",
            ),
            (
                "extra.linkedin_version",
                "LinkedIn-Version header, YYYYMM (default: the connector's)",
            ),
        ),
        freshness=(Freshness("LinkedIn Ads", "stg_linkedin_ads__ad_analytics", "date_day"),),
        ads=AdSpend("paid_social", "stg_linkedin_ads__ad_analytics", "cost"),
    ),
    Vendor(
        name="ga4",
        category="web",
        conn_id="smarketing_ga4",
        connector="smarketing.sources.ga4:build_reader",
        catalog="smarketing.sources.ga4:ENTITIES",
        entities=("events",),
        staging_folder="ga4",
        demo="smarketing.demo.vendors.ga4",
        demo_folder="ga4",
        connection_fields=(
            ("host", "folder or bucket of the GA4 export: a path, s3://… or gs://…"),
            ("extra.storage_options", "fsspec options for the bucket (optional)"),
        ),
        freshness=(Freshness("GA4", "stg_ga4__events", "event_date"),),
    ),
)

VENDOR_NAMES: tuple[str, ...] = tuple(v.name for v in VENDORS)
# the dbt var carrying the enabled vendors by category (smarketing.transform passes it on every
# call; without it, as for plain `dbt`, dbt_project.yml reads it from SMARKETING_DBT_VARS)
DBT_VAR = "smarketing_vendors"
DBT_VARS_ENV = "SMARKETING_DBT_VARS"


def get_vendor(name: str) -> Vendor:
    """The registry entry of ``name``; an unknown name is a programming or settings error."""
    for vendor in VENDORS:
        if vendor.name == name:
            return vendor
    raise KeyError(f"unknown vendor {name!r}; known: {', '.join(VENDOR_NAMES)}")


def parse_disabled(text: str) -> tuple[str, ...]:
    """``SMARKETING_DISABLED_VENDORS``: comma-separated registry names; a typo is an error."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in VENDOR_NAMES]
    if unknown:
        raise ValueError(
            f"SMARKETING_DISABLED_VENDORS names unknown vendor(s) {', '.join(unknown)};"
            f" known: {', '.join(VENDOR_NAMES)}"
        )
    return names


def enabled_vendors(settings: Settings | None = None) -> tuple[Vendor, ...]:
    """The vendors the pipeline extracts, in registry order."""
    if settings is None:
        from smarketing.config import load_settings

        settings = load_settings()
    disabled = set(settings.disabled_vendors)
    return tuple(v for v in VENDORS if v.name not in disabled)


def dbt_vars(settings: Settings | None = None) -> dict[str, dict[str, list[dict[str, str]]]]:
    """The var the int_* models union vendors by: category -> enabled vendors, each with what
    dbt reads of it (an ad vendor: channel, spend model and column, click model), as
    Fivetran's dbt_ad_reporting is told its enabled packages."""
    by_category: dict[str, list[dict[str, str]]] = {}
    for vendor in enabled_vendors(settings):
        entry = {"name": vendor.name}
        if vendor.ads is not None:
            entry.update(
                channel=vendor.ads.channel,
                spend_model=vendor.ads.spend_model,
                spend_column=vendor.ads.spend_column,
                clicks_model=vendor.ads.clicks_model or "",
            )
        by_category.setdefault(vendor.category, []).append(entry)
    return {DBT_VAR: by_category}
