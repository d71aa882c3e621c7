"""The quality gate's expectation suites, as code: only what dbt cannot check.

Where each kind of rule lives (one home per rule, see README "Quality"):

* **dbt** (``dbt build`` fails, nothing is published) owns every property of the models:
  keys, not-null, accepted values and ranges, relationships, contracts (the column sets), and
  every reconciliation that is SQL over the models (singular tests in
  ``dbt_project/tests/``), plus source freshness (``loaded_at_field``).
* **this gate** owns what needs the run's context or the published baseline: the interval's
  freshness per source, the interval's leads against the CRM, volume anomalies against the
  published history, quarantined value (``quality/quarantine.py``), no personal data in any
  published value, and one consumer-facing expectation per published mart (never empty; for
  the deal marts a warning, severity.yml says why).

Every SQL check is a file in ``quality/sql/``; the gate reads staging and audit models,
never raw vendor JSON. Severity is not set here: ``expectations/severity.yml`` names every
check once. ``smarketing quality init`` writes the suites into ``expectations/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from smarketing.vendors import VENDORS

DATASOURCE = "audit"
CHECKPOINT = "smarketing_gate"
RUN_CONTEXT_TABLE = "_run_context"
SQL_DIR = Path(__file__).parent / "sql"

PUBLISHED_MARTS = (
    "fct_lead_funnel",
    "mart_channel_daily",
    "fct_attribution",
    "fct_deals",
    "fct_funnel_events",
    "dim_campaign",
    "mart_channel_performance",
    "mart_funnel_conversion",
    "mart_sales_marketing_sla",
    "mart_revenue_summary",
    "mart_account_journey",
    "fct_lead_disposition",
    "mart_lead_disposition",
    "mart_unit_economics",
    "mart_targets_pacing",
)

# (label, staging model, its day column): the interval must bring rows of each source, as
# every vendor's registry entry lists them (smarketing.vendors; severity: severity.yml)
FRESHNESS: tuple[tuple[str, str, str], ...] = tuple(
    (check.label, check.model, check.day_column) for vendor in VENDORS for check in vendor.freshness
)


@dataclass(frozen=True)
class Check:
    """One expectation: a GX expectation class name, its arguments and a readable name.

    ``kind`` and ``column`` say what the check covers, so a test can prove no dbt test
    covers the same (model, column, kind)."""

    name: str
    expectation: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    kind: str = "sql"
    column: str | None = None


@dataclass(frozen=True)
class Suite:
    table: str
    checks: tuple[Check, ...]


@cache
def sql(name: str) -> str:
    """A check's SQL from quality/sql/<name>.sql, comments dropped (GX stores the query)."""
    text = (SQL_DIR / f"{name}.sql").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return " ".join(" ".join(lines).split())


def _rows(name: str, query: str, kind: str) -> Check:
    """A SQL check: the query returns the offending rows (with observed/expected columns)."""
    return Check(name, "UnexpectedRowsExpectation", {"unexpected_rows_query": query}, kind)


def _fresh(label: str, model: str, day: str) -> Check:
    query = sql("freshness").replace("__MODEL__", model).replace("__DAY__", day)
    verb = "delivered changes" if label == "the CRM" else "delivered data"
    return _rows(f"freshness: {label} {verb} for the interval", query, "interval_freshness")


def _no_email_addresses() -> Check:
    """No value of any published mart looks like an e-mail address (personal data)."""
    parts = " union all ".join(sql("email_in_mart").replace("__MART__", m) for m in PUBLISHED_MARTS)
    return _rows(
        "no published value looks like an e-mail address",
        sql("no_email_addresses").replace("__MARTS__", parts),
        "personal_data",
    )


def _not_empty() -> Check:
    """Consumer-facing: a published mart is never empty (a blank dashboard is no answer)."""
    return Check("is not empty", "ExpectTableRowCountToBeBetween", {"min_value": 1}, "row_count")


# Checks about the run as a whole. The batch is the one-row table audit._run_context the
# pipeline writes before the gate (interval, baseline, flags).
RUN_CONTEXT = Suite(
    RUN_CONTEXT_TABLE,
    (
        *(_fresh(*source) for source in FRESHNESS),
        _rows(
            "leads of the interval equal the CRM's new leads of the interval",
            sql("interval_leads"),
            "interval_reconciliation",
        ),
        _rows(
            "anomaly: daily leads, spend and sessions within the threshold of the published"
            " baseline",
            sql("anomalies"),
            "volume_anomaly",
        ),
        _no_email_addresses(),
    ),
)

SUITES: tuple[Suite, ...] = (
    *(Suite(mart, (_not_empty(),)) for mart in PUBLISHED_MARTS),
    RUN_CONTEXT,
)


def check_keys() -> list[str]:
    """``"<suite>: <check>"`` of every gate check, as severity.yml and the report name them."""
    return [f"{s.table}: {c.name}" for s in SUITES for c in s.checks]
