"""Every setting a user may change, in one documented place.

Settings come from environment variables (prefix ``SMARKETING_``) so that the same code runs
under ``make run``, under pytest (which points them at a temporary folder) and in the Docker
deployment (where docker-compose.yml sets them). Secrets are *not* settings: they come from
Airflow Connections (see README, "Connections").

| variable | default | meaning |
|---|---|---|
| SMARKETING_PROJECT_DIR | checkout with ``dbt_project/`` | holds dbt_project/, expectations/ |
| SMARKETING_DATA_DIR | ``<project>/data`` | root of every file the pipeline writes |
| SMARKETING_LANDING_DIR | ``<data>/landing`` | landed payloads per source/entity/interval |
| SMARKETING_WAREHOUSE_PATH | ``<data>/warehouse/warehouse.duckdb`` | raw schema + audit area |
| SMARKETING_PUBLISHED_PATH | ``<data>/published/smarketing.duckdb`` | the database BI tools read |
| SMARKETING_REPORTS_DIR | ``<data>/reports`` | per-run validation reports and run summaries |
| SMARKETING_DEMO_DIR | ``<data>/demo`` | the demo company's source data and ground truth |
| SMARKETING_SCHEDULE | ``0 2 * * *`` | cron of the nightly DAG (UTC) |
| SMARKETING_START_DATE | ``2026-01-01`` | first data interval the DAG knows about |
| SMARKETING_CATCHUP | ``false`` | schedule every missed interval since the start date |
| SMARKETING_LOOKBACK_DAYS | ``3`` | days re-extracted before each interval for late updates |
| SMARKETING_RETRIES | ``2`` | task retries (exponential backoff) |
| SMARKETING_RETRY_DELAY_SECONDS | ``60`` | first retry delay; doubles each retry |
| SMARKETING_DUCKDB_POOL | ``duckdb_warehouse`` | 1-slot Airflow pool serialising DuckDB writers |
| SMARKETING_DUCKDB_MEMORY_LIMIT | ``3GB`` | DuckDB memory in load_raw and dbt (spills beyond) |
| SMARKETING_QUARANTINE_MAX_SHARE | ``0.01`` | share of malformed records an entity may have |
| SMARKETING_QUARANTINE_MAX_SPEND | ``100`` | quarantined ad spend per entity that blocks the gate |
| SMARKETING_DATE_FLOOR | ``2000-01-01`` | dates before it (or after the run) are quarantined |
| SMARKETING_HTTP_MAX_ATTEMPTS | ``5`` | tries per vendor API request (429/5xx/timeouts) |
| SMARKETING_HTTP_BACKOFF_SECONDS | ``1`` | first backoff; doubles, capped at 60 s |
| SMARKETING_HTTP_TIMEOUT_SECONDS | ``60`` | read timeout of each request (connect: 10 s) |
| SMARKETING_HTTP_DEADLINE_SECONDS | ``300`` | total time one request may take, first to last byte |
| SMARKETING_HTTP_MAX_PAGES | ``100000`` | pages one paged read may ask for before it is a loop |
| SMARKETING_MAILCHIMP_ACTIVITY_DAYS | ``30`` | how long after a send activity is re-read |
| SMARKETING_PUBLISH_KEEP_VERSIONS | ``7`` | published versions kept for rollback |
| SMARKETING_ANOMALY_THRESHOLD | ``0.75`` | max relative change of a key figure vs baseline |
| SMARKETING_ANOMALY_MIN_BASELINE | ``10`` | figures smaller than this per day are not judged |
| SMARKETING_ANOMALY_BASELINE_DAYS | ``7`` | published days averaged into that baseline |
| SMARKETING_ALERT_WEBHOOK_URL | (none) | failed runs are POSTed here as JSON |
| SMARKETING_ALERT_EMAIL | (none) | …and/or e-mailed here (SMTP: SMARKETING_SMTP_HOST) |
| SMARKETING_REPORTING_CURRENCY | ``USD`` | currency every amount is reported in |
| SMARKETING_FX_RATES_PATH | (none) | own rates, CSV rate_date,currency_code,units_per_eur |
| SMARKETING_FX_MAX_CARRY_DAYS | ``7`` | days a rate carries over days without one (weekends) |
| SMARKETING_FX_MAX_STALE_DAYS | ``0`` | days past the shipped ECB file's end it may serve |
| SMARKETING_HUBSPOT_COMPANY_CURRENCY | ``USD`` | currency of a HubSpot deal without a currency |
| SMARKETING_HUBSPOT_SEARCH_PER_SECOND | ``4`` | HubSpot CRM search requests/s (~5 allowed) |
| SMARKETING_HUBSPOT_REQUESTS_PER_10S | ``auto`` | HubSpot list calls/10 s (auto: 90 % of stated) |
| SMARKETING_HUBSPOT_LIST_ABOVE | ``1000`` | window records from which listing may beat search |
| SMARKETING_EXTRACT_WORKERS | ``4`` | threads reading one source's slices (1: serially) |
| SMARKETING_SLA_HOURS | ``24`` | hours within which sales should first touch an MQL |
| SMARKETING_DISQUALIFICATION_REASON_PROPERTY | ``disqualification_reason`` | why sales rejected |
| SMARKETING_CONTRACT_MONTHS | ``12`` | months a deal's amount pays over (payback) |
| SMARKETING_PACING_ON_TRACK | ``0.95`` | pacing (actual / pro-rated target) from which on track |
| SMARKETING_PACING_AT_RISK | ``0.8`` | pacing from which at risk (below: off track) |
| SMARKETING_PACING_TRAILING_DAYS | ``90`` | days of conversion rates the reverse funnel uses |
| SMARKETING_ATTRIBUTION_LOOKBACK_DAYS | ``90`` | touches this long before an opportunity count |
| SMARKETING_ATTRIBUTION_HALF_LIFE_DAYS | ``7`` | half-life of the time-decay attribution model |
| SMARKETING_ATTRIBUTION_SKIP_DIRECT | ``false`` | position models skip direct visits after others |
| SMARKETING_INCREMENTAL_LOOKBACK_DAYS | ``3`` | days incremental models re-process (late events) |
| SMARKETING_BI_ROLE | ``smarketing_bi`` | read-only PostgreSQL role BI tools use (see README) |
| SMARKETING_DISABLED_VENDORS | (none) | vendors switched off (registry names, vendors.py) |
| SMARKETING_DEMO_SEED | ``42`` | seed of the deterministic demo company |
| SMARKETING_DEMO_SCALE | ``1.0`` | size knob of the demo company (1.0 ≈ 200 visitors a day) |
| SMARKETING_DEMO_START, _END | ``2026-01-01``, ``2026-03-31`` | demo company's date range |
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from smarketing.vendors import parse_disabled

ENV_PREFIX = "SMARKETING_"


def _find_project_dir() -> Path:
    """The checkout that holds dbt_project/ (editable install), else the working directory."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "dbt_project" / "dbt_project.yml").exists():
            return parent
    return Path.cwd()


def _env(name: str, default: str) -> str:
    value = os.environ.get(ENV_PREFIX + name)
    return default if value is None or value == "" else value


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with :func:`load_settings` (re-reads the environment)."""

    project_dir: Path
    data_dir: Path
    landing_dir: Path
    warehouse_path: Path
    published_path: Path
    reports_dir: Path
    demo_dir: Path
    schedule: str
    start_date: date
    catchup: bool
    lookback_days: int
    retries: int
    retry_delay_seconds: int
    duckdb_pool: str
    quarantine_max_share: float
    http_max_attempts: int
    http_backoff_seconds: float
    http_timeout_seconds: float
    http_deadline_seconds: float
    http_max_pages: int
    mailchimp_activity_days: int
    publish_keep_versions: int
    anomaly_threshold: float
    anomaly_min_baseline: float
    anomaly_baseline_days: int
    alert_webhook_url: str
    alert_email: str
    smtp_host: str
    reporting_currency: str
    fx_rates_path: Path | None
    fx_max_carry_days: int
    sla_hours: float
    attribution_lookback_days: int
    attribution_half_life_days: float
    incremental_lookback_days: int
    bi_role: str
    demo_seed: int
    demo_scale: float
    demo_start: date
    demo_end: date
    # HubSpot: the account's company currency (a deal without deal_currency_code is in it,
    # as HubSpot itself treats it) and the CRM search API's per-account request rate
    hubspot_company_currency: str = "USD"
    hubspot_search_per_second: float = 4.0
    # HubSpot's burst limit for every other request (list pages, associations): None follows
    # the limit HubSpot states in its X-HubSpot-RateLimit-* headers; a number is kept as is
    hubspot_requests_per_10s: float | None = None
    # a window with more changed records than this is read by listing the object type when
    # that is estimated to take fewer seconds than searching it (a first load, a re-sync)
    hubspot_list_above: int = 1_000
    # threads a source's extract reads its independent slices with (time windows, campaigns,
    # days); the landed order and files are the same for any number, 1 reads serially
    extract_workers: int = 4
    # HubSpot contact property holding why sales rejected a lead (a custom property: every
    # account names its own); read beside hs_lead_status for the lead disposition
    disqualification_reason_property: str = "disqualification_reason"
    # months a won deal's amount is earned over (an annual contract: 12); payback months in
    # mart_unit_economics divide by the monthly revenue this gives
    contract_months: int = 12
    # mart_targets_pacing: a commitment whose pacing (actual / target pro-rated to the elapsed
    # share of the period) reaches on_track is on track, at_risk at risk, below off track;
    # the reverse funnel uses the conversion rates of the trailing days up to the CRM's clock
    pacing_on_track: float = 0.95
    pacing_at_risk: float = 0.8
    pacing_trailing_days: int = 90
    # Google Analytics' convention, opt-in: last touch and the U/W-shaped models give no
    # credit to a direct visit that follows a non-direct touch (the returning visitor typed
    # the address; the earlier campaign brought them)
    attribution_skip_direct: bool = False
    # dates before this floor (or after the run time) are quarantined, never published
    date_floor: date = date(2000, 1, 1)
    # quarantined ad spend (per entity, in the account's currency) above this blocks the gate
    quarantine_max_spend: float = 100.0
    # opt-in: days after the shipped ECB history ends that its last rates may be used
    fx_max_stale_days: int = 0
    # registry vendors (smarketing.vendors) switched off: no extract task, no union branch
    disabled_vendors: tuple[str, ...] = ()
    # memory DuckDB may use in the steps that grow with the data (load_raw, dbt): beyond it
    # DuckDB spills to a temporary folder beside the warehouse instead of growing towards its
    # own default of 80 % of the machine's RAM (a worker runs other tasks beside it)
    duckdb_memory_limit: str = "3GB"

    def snapshot(self) -> dict[str, str]:
        """The settings a run used, as text, for its run summary and version record.

        Alert targets are left out (a webhook URL can carry a token); they do not change
        any number.
        """
        return {
            name: str(getattr(self, name))
            for name in self.__dataclass_fields__
            if name not in UNRECORDED_SETTINGS
        }

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return self.project_dir / "expectations"

    def ensure_dirs(self) -> None:
        """Create the folders the pipeline writes to (idempotent)."""
        for path in (
            self.landing_dir,
            self.warehouse_path.parent,
            self.published_path.parent,
            self.reports_dir,
            self.demo_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)


UNRECORDED_SETTINGS = frozenset({"alert_webhook_url", "alert_email", "smtp_host"})


def settings_changes(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """``name: old -> new`` for every recorded setting that differs between two runs."""
    return [
        f"{name}: {previous.get(name, '(unset)')} -> {current.get(name, '(unset)')}"
        for name in sorted(set(previous) | set(current))
        if previous and previous.get(name) != current.get(name)
    ]


_Number = TypeVar("_Number", int, float)


def _positive(value: _Number, name: str) -> _Number:
    """Reject a zero or negative analysis setting with a message naming it."""
    if value <= 0:
        raise ValueError(f"{ENV_PREFIX}{name} must be greater than 0, got {value}")
    return value


_MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def _memory_size(value: str, name: str) -> str:
    """A DuckDB memory size such as ``3GB`` or ``512MiB`` (checked here, not by DuckDB mid-run)."""
    text = value.strip()
    if not _MEMORY_SIZE.fullmatch(text):
        raise ValueError(
            f"{ENV_PREFIX}{name}={value!r} is not a memory size: write a number and a unit,"
            " e.g. 3GB, 512MB or 2GiB"
        )
    return text.replace(" ", "")


def _auto_or_positive(name: str) -> float | None:
    """``auto`` (or unset): None, the vendor says; else a positive number."""
    value = _env(name, "auto").strip().lower()
    return None if value == "auto" else _positive(float(value), name)


def _property_name(value: str, name: str) -> str:
    """A HubSpot internal property name (lower-case letters, digits, underscores): it is
    requested from the API and read from the stored JSON, so nothing else may pass."""
    text = value.strip()
    if not text or not all(ch.isdigit() or ch == "_" or "a" <= ch <= "z" for ch in text):
        raise ValueError(
            f"{ENV_PREFIX}{name} must be a HubSpot internal property name"
            f" (a-z, 0-9, _), got {value!r}"
        )
    return text


def _flag(value: str) -> bool:
    """A yes/no setting: ``1``, ``true`` or ``yes`` (any case) is on, anything else off."""
    return value.strip().lower() in ("1", "true", "yes")


def _currency(value: str) -> str:
    """An ISO 4217 code, upper case (it is compared with the rate table's codes)."""
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(
            f"{ENV_PREFIX}REPORTING_CURRENCY must be an ISO code like EUR, got {value!r}"
        )
    return code


def _thresholds(on_track: float, at_risk: float) -> tuple[float, float]:
    """Pacing thresholds: 0 < at risk <= on track (a status band cannot be upside down)."""
    if not 0 < at_risk <= on_track:
        raise ValueError(
            f"{ENV_PREFIX}PACING_AT_RISK ({at_risk}) must be greater than 0 and at most"
            f" {ENV_PREFIX}PACING_ON_TRACK ({on_track})"
        )
    return on_track, at_risk


def load_settings() -> Settings:
    """Read every setting from the environment, applying the documented defaults."""
    project_dir = Path(_env("PROJECT_DIR", str(_find_project_dir()))).resolve()
    data_dir = Path(_env("DATA_DIR", str(project_dir / "data"))).resolve()
    on_track, at_risk = _thresholds(
        float(_env("PACING_ON_TRACK", "0.95")), float(_env("PACING_AT_RISK", "0.8"))
    )
    return Settings(
        project_dir=project_dir,
        data_dir=data_dir,
        landing_dir=Path(_env("LANDING_DIR", str(data_dir / "landing"))),
        warehouse_path=Path(
            _env("WAREHOUSE_PATH", str(data_dir / "warehouse" / "warehouse.duckdb"))
        ),
        published_path=Path(
            _env("PUBLISHED_PATH", str(data_dir / "published" / "smarketing.duckdb"))
        ),
        reports_dir=Path(_env("REPORTS_DIR", str(data_dir / "reports"))),
        demo_dir=Path(_env("DEMO_DIR", str(data_dir / "demo"))),
        schedule=_env("SCHEDULE", "0 2 * * *"),
        start_date=date.fromisoformat(_env("START_DATE", "2026-01-01")),
        catchup=_flag(_env("CATCHUP", "false")),
        lookback_days=int(_env("LOOKBACK_DAYS", "3")),
        retries=int(_env("RETRIES", "2")),
        retry_delay_seconds=int(_env("RETRY_DELAY_SECONDS", "60")),
        duckdb_pool=_env("DUCKDB_POOL", "duckdb_warehouse"),
        quarantine_max_share=float(_env("QUARANTINE_MAX_SHARE", "0.01")),
        http_max_attempts=int(_env("HTTP_MAX_ATTEMPTS", "5")),
        http_backoff_seconds=float(_env("HTTP_BACKOFF_SECONDS", "1")),
        http_timeout_seconds=float(_env("HTTP_TIMEOUT_SECONDS", "60")),
        http_deadline_seconds=_positive(
            float(_env("HTTP_DEADLINE_SECONDS", "300")), "HTTP_DEADLINE_SECONDS"
        ),
        http_max_pages=_positive(int(_env("HTTP_MAX_PAGES", "100000")), "HTTP_MAX_PAGES"),
        mailchimp_activity_days=int(_env("MAILCHIMP_ACTIVITY_DAYS", "30")),
        publish_keep_versions=int(_env("PUBLISH_KEEP_VERSIONS", "7")),
        anomaly_threshold=float(_env("ANOMALY_THRESHOLD", "0.75")),
        anomaly_min_baseline=float(_env("ANOMALY_MIN_BASELINE", "10")),
        anomaly_baseline_days=int(_env("ANOMALY_BASELINE_DAYS", "7")),
        alert_webhook_url=_env("ALERT_WEBHOOK_URL", ""),
        alert_email=_env("ALERT_EMAIL", ""),
        smtp_host=_env("SMTP_HOST", "localhost"),
        reporting_currency=_currency(_env("REPORTING_CURRENCY", "USD")),
        fx_rates_path=Path(_env("FX_RATES_PATH", "")) if _env("FX_RATES_PATH", "") else None,
        fx_max_carry_days=int(_env("FX_MAX_CARRY_DAYS", "7")),
        fx_max_stale_days=int(_env("FX_MAX_STALE_DAYS", "0")),
        sla_hours=_positive(float(_env("SLA_HOURS", "24")), "SLA_HOURS"),
        attribution_lookback_days=_positive(
            int(_env("ATTRIBUTION_LOOKBACK_DAYS", "90")), "ATTRIBUTION_LOOKBACK_DAYS"
        ),
        attribution_half_life_days=_positive(
            float(_env("ATTRIBUTION_HALF_LIFE_DAYS", "7")), "ATTRIBUTION_HALF_LIFE_DAYS"
        ),
        incremental_lookback_days=int(_env("INCREMENTAL_LOOKBACK_DAYS", "3")),
        bi_role=_env("BI_ROLE", "smarketing_bi"),
        demo_seed=int(_env("DEMO_SEED", "42")),
        demo_scale=float(_env("DEMO_SCALE", "1.0")),
        demo_start=date.fromisoformat(_env("DEMO_START", "2026-01-01")),
        demo_end=date.fromisoformat(_env("DEMO_END", "2026-03-31")),
        date_floor=date.fromisoformat(_env("DATE_FLOOR", "2000-01-01")),
        quarantine_max_spend=float(_env("QUARANTINE_MAX_SPEND", "100")),
        hubspot_company_currency=_env("HUBSPOT_COMPANY_CURRENCY", "USD").strip().upper(),
        hubspot_search_per_second=_positive(
            float(_env("HUBSPOT_SEARCH_PER_SECOND", "4")), "HUBSPOT_SEARCH_PER_SECOND"
        ),
        hubspot_requests_per_10s=_auto_or_positive("HUBSPOT_REQUESTS_PER_10S"),
        hubspot_list_above=_positive(int(_env("HUBSPOT_LIST_ABOVE", "1000")), "HUBSPOT_LIST_ABOVE"),
        disabled_vendors=parse_disabled(_env("DISABLED_VENDORS", "")),
        duckdb_memory_limit=_memory_size(_env("DUCKDB_MEMORY_LIMIT", "3GB"), "DUCKDB_MEMORY_LIMIT"),
        extract_workers=_positive(int(_env("EXTRACT_WORKERS", "4")), "EXTRACT_WORKERS"),
        disqualification_reason_property=_property_name(
            _env("DISQUALIFICATION_REASON_PROPERTY", "disqualification_reason"),
            "DISQUALIFICATION_REASON_PROPERTY",
        ),
        contract_months=_positive(int(_env("CONTRACT_MONTHS", "12")), "CONTRACT_MONTHS"),
        pacing_on_track=on_track,
        pacing_at_risk=at_risk,
        pacing_trailing_days=_positive(
            int(_env("PACING_TRAILING_DAYS", "90")), "PACING_TRAILING_DAYS"
        ),
        attribution_skip_direct=_flag(_env("ATTRIBUTION_SKIP_DIRECT", "false")),
    )
