"""The quality gate's expectation suites, one per published mart, as code.

``smarketing quality init`` writes them into the Great Expectations file context under
``expectations/`` (suites, validation definitions, checkpoint), which is committed. A test
keeps the committed JSON and this module in step. Every check runs as SQL inside DuckDB.

Severity: ``critical`` blocks publication, ``warning`` is reported only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHANNELS = [
    "paid_search",
    "paid_social",
    "email",
    "organic_search",
    "referral",
    "direct",
    "offline",
    "other",
]
DATASOURCE = "audit"
CHECKPOINT = "smarketing_gate"


@dataclass(frozen=True)
class Check:
    """One expectation: a GX expectation class name, its arguments and a readable name."""

    name: str
    expectation: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: str = "critical"


@dataclass(frozen=True)
class Suite:
    table: str
    checks: tuple[Check, ...]


def _not_null(*columns: str) -> list[Check]:
    return [
        Check(f"{c} is never null", "ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns
    ]


def _non_negative(*columns: str) -> list[Check]:
    return [
        Check(
            f"{c} is never negative", "ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0}
        )
        for c in columns
    ]


def _rows(name: str, query: str, severity: str = "critical") -> Check:
    """A SQL check: the query returns the offending rows (with observed/expected columns)."""
    return Check(name, "UnexpectedRowsExpectation", {"unexpected_rows_query": query}, severity)


FCT_LEAD_FUNNEL = Suite(
    "fct_lead_funnel",
    (
        Check(
            "has exactly the published columns",
            "ExpectTableColumnsToMatchSet",
            {
                "column_set": [
                    "lead_id",
                    "person_key",
                    "first_touch_channel",
                    "first_touch_campaign",
                    "visitor_at",
                    "lead_at",
                    "mql_at",
                    "sql_at",
                    "opportunity_at",
                    "won_at",
                    "lost_at",
                    "deal_id",
                    "deal_amount",
                    "deal_currency",
                ],
                "exact_match": True,
            },
        ),
        Check("lead_id is unique", "ExpectColumnValuesToBeUnique", {"column": "lead_id"}),
        *_not_null("lead_id", "person_key", "lead_at", "first_touch_channel"),
        Check(
            "first_touch_channel is a known channel",
            "ExpectColumnValuesToBeInSet",
            {"column": "first_touch_channel", "value_set": CHANNELS},
        ),
        *_non_negative("deal_amount"),
        Check(
            "mql_at is not before lead_at",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "mql_at",
                "column_B": "lead_at",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
        ),
        _rows(
            "a lead is never both won and lost",
            "select lead_id, won_at, lost_at from {batch} "
            "where won_at is not null and lost_at is not null",
        ),
        _rows(
            "no lead is dated in the future",
            "select lead_id, lead_at from {batch} where lead_at > now()::timestamp",
        ),
    ),
)

MART_CHANNEL_DAILY = Suite(
    "mart_channel_daily",
    (
        Check(
            "has exactly the published columns",
            "ExpectTableColumnsToMatchSet",
            {
                "column_set": [
                    "date_day",
                    "channel",
                    "spend",
                    "impressions",
                    "clicks",
                    "sessions",
                    "leads",
                    "won_deals",
                    "won_revenue",
                ],
                "exact_match": True,
            },
        ),
        Check(
            "(date_day, channel) is unique",
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["date_day", "channel"]},
        ),
        *_not_null("date_day", "channel", "spend", "sessions", "leads", "won_deals", "won_revenue"),
        Check(
            "channel is a known channel",
            "ExpectColumnValuesToBeInSet",
            {"column": "channel", "value_set": CHANNELS},
        ),
        *_non_negative(
            "spend", "impressions", "clicks", "sessions", "leads", "won_deals", "won_revenue"
        ),
        _rows(
            "no day lies in the future",
            "select date_day from {batch} where date_day > current_date",
        ),
        _rows(
            "won revenue reconciles with the lead funnel",
            "select observed, expected from (select"
            " (select coalesce(sum(won_revenue), 0) from {batch}) as observed,"
            " (select coalesce(sum(deal_amount), 0) from fct_lead_funnel"
            "  where won_at is not null) as expected) where observed <> expected",
        ),
        _rows(
            "leads reconcile with the lead funnel",
            "select observed, expected from (select"
            " (select coalesce(sum(leads), 0) from {batch}) as observed,"
            " (select count(*) from fct_lead_funnel) as expected) where observed <> expected",
        ),
    ),
)

SUITES: tuple[Suite, ...] = (FCT_LEAD_FUNNEL, MART_CHANNEL_DAILY)
