"""The one registry of source vendors: everything that lists sources reads it.

A vendor is one system we extract from (HubSpot, Mailchimp, Google Ads…). Its entry says which
category it serves (the vendor-neutral ``int_<category>__*`` models union the enabled vendors
of a category), which Airflow Connection holds its credentials, which function builds its
connector, which entities it delivers (raw tables ``raw.<vendor>__<entity>``), where its dbt
staging models live and where the demo company writes its files. The DAG's extract tasks,
the catalog, the credentials list, the landing zone, raw loading, the quarantine checks and
dbt's ``smarketing_enabled_vendors`` var all come from here.

A vendor is switched off with ``SMARKETING_DISABLED_VENDORS`` (comma-separated names): its
extract task, its load, its quarantine checks and its branch of the vendor unions go away;
its raw tables stay (empty or as last loaded) so its staging models still build.

This module imports nothing heavy: the DAG file reads it at parse time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from smarketing.config import Settings

Category = Literal["crm", "email", "ads", "web"]


@dataclass(frozen=True)
class Vendor:
    """One source vendor."""

    name: str  # raw tables raw.<name>__<entity>, landing <landing>/<name>/<entity>/, task id
    category: Category
    conn_id: str  # the Airflow Connection with its credentials
    # "module:function" building the connector: function(credentials, retry policy, settings)
    connector: str
    entities: tuple[str, ...]
    staging_folder: str  # dbt_project/models/staging/<folder>
    demo_folder: str  # <demo>/<folder>/<entity>.jsonl (GA4: events_YYYYMMDD.jsonl)
    # the Connection's fields and what each holds (README, Connections)
    connection_fields: tuple[tuple[str, str], ...] = ()

    @property
    def task_id(self) -> str:
        return f"extract_{self.name}"

    def raw_tables(self) -> tuple[str, ...]:
        return tuple(f"{self.name}__{entity}" for entity in self.entities)

    def build_connector(self, credentials, policy, settings: Settings):
        """The vendor's reader (imported only when an extract runs)."""
        module, _, function = self.connector.partition(":")
        return getattr(importlib.import_module(module), function)(credentials, policy, settings)


VENDORS: tuple[Vendor, ...] = (
    Vendor(
        "hubspot",
        "crm",
        "smarketing_hubspot",
        "smarketing.sources.hubspot:build_reader",
        ("contacts", "deals", "companies", "calls", "emails", "meetings"),
        "hubspot",
        "hubspot",
        (
            ("host", "API base URL (default https://api.hubapi.com)"),
            ("password", "private app access token"),
        ),
    ),
    Vendor(
        "mailchimp",
        "email",
        "smarketing_mailchimp",
        "smarketing.sources.mailchimp:build_reader",
        ("campaigns", "email_activity"),
        "mailchimp",
        "mailchimp",
        (
            ("host", "API base URL with data centre, e.g. https://us21.api.mailchimp.com"),
            ("password", "API key"),
        ),
    ),
    Vendor(
        "google_ads",
        "ads",
        "smarketing_google_ads",
        "smarketing.sources.google_ads:build_reader",
        ("campaign_stats", "clicks"),
        "google_ads",
        "google_ads",
        (
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
    ),
    Vendor(
        "meta_ads",
        "ads",
        "smarketing_meta_ads",
        "smarketing.sources.meta_ads:build_reader",
        ("insights",),
        "meta_ads",
        "meta_ads",
        (
            ("host", "Graph API base URL (default https://graph.facebook.com)"),
            ("password", "system user access token"),
            ("extra.ad_account_id", "ad account, e.g. act_123456"),
        ),
    ),
    Vendor(
        "ga4",
        "web",
        "smarketing_ga4",
        "smarketing.sources.ga4:build_reader",
        ("events",),
        "ga4",
        "ga4",
        (
            ("host", "folder or bucket of the GA4 export: a path, s3://… or gs://…"),
            ("extra.storage_options", "fsspec options for the bucket (optional)"),
        ),
    ),
)

VENDOR_NAMES: tuple[str, ...] = tuple(v.name for v in VENDORS)
# dbt var listing the enabled vendors (smarketing.transform passes it; dbt_project.yml's
# default equals every registered vendor)
DBT_VAR = "smarketing_enabled_vendors"


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


def dbt_vars(settings: Settings | None = None) -> dict[str, list[str]]:
    """The vars dbt unions vendors by (see dbt_project.yml and the int_* models)."""
    return {DBT_VAR: [v.name for v in enabled_vendors(settings)]}
