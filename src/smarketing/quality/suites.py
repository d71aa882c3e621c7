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


def _converted_raw_sum(
    table: str, amount: str, currency: str, day: str, where: str = "true"
) -> str:
    """Sum of raw amounts converted to the reporting currency the way dbt converts them
    (per row, at the day's rate, rounded to the cent), recomputed here independently."""
    # a row without a rate makes the whole sum null: the check then fails, never skips it
    return (
        f" (select case when count(*) filter (where rate.usd_per_unit is null"
        f" or reporting.usd_per_unit is null) > 0 then null else"
        f" coalesce(sum(round(cast({amount} as decimal(38, 6))"
        f" * cast(rate.usd_per_unit / reporting.usd_per_unit as decimal(38, 8)), 2)), 0) end"
        f" from {table} as src"
        f" left join seeds.exchange_rates as rate"
        f" on rate.currency_code = upper({currency}) and rate.rate_date = {day}"
        f" left join seeds.exchange_rates as reporting"
        f" on reporting.currency_code = (select reporting_currency from _run_context)"
        f" and reporting.rate_date = {day} where {where})"
    )


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
                    "deal_amount_reporting",
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
        *_non_negative("deal_amount", "deal_amount_reporting"),
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
            "funnel counts never increase from one stage to the next",
            "select * from (select count(*) as leads, count(mql_at) as mqls,"
            " count(sql_at) as sqls, count(opportunity_at) as opportunities,"
            " count(won_at) as won from {batch})"
            " where mqls > leads or sqls > mqls or opportunities > sqls or won > opportunities",
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
            " (select coalesce(sum(deal_amount_reporting), 0) from fct_lead_funnel"
            "  where won_at is not null) as expected) where observed is distinct from expected",
        ),
        _rows(
            "spend reconciles with the ad platforms' raw rows",
            "select observed, expected from (select"
            " (select coalesce(sum(spend), 0) from {batch}) as observed,"
            + _converted_raw_sum(
                "raw.ppc__google_ads",
                "cast(payload ->> '$.metrics.costMicros' as decimal(24, 0)) * 0.000001",
                "payload ->> '$.customer.currencyCode'",
                "record_date",
            )
            + " + "
            + _converted_raw_sum(
                "raw.ppc__meta_insights",
                "payload ->> '$.spend'",
                "payload ->> '$.account_currency'",
                "record_date",
            )
            + " as expected) where observed is distinct from expected",
        ),
        _rows(
            "won revenue (marketing grain) equals won deals in the CRM (sales grain)",
            "select observed, expected from (select"
            " (select coalesce(sum(won_revenue), 0) from {batch}) as observed,"
            + _converted_raw_sum(
                "raw.crm__deals",
                "payload ->> '$.properties.amount'",
                "payload ->> '$.properties.deal_currency_code'",
                "cast(cast(payload ->> '$.properties.closedate' as timestamptz)"
                " at time zone 'UTC' as date)",
                "payload ->> '$.properties.dealstage' = 'closedwon'",
            )
            + " as expected) where observed is distinct from expected",
        ),
        _rows(
            "leads reconcile with the lead funnel",
            "select observed, expected from (select"
            " (select coalesce(sum(leads), 0) from {batch}) as observed,"
            " (select count(*) from fct_lead_funnel) as expected)"
            " where observed is distinct from expected",
        ),
    ),
)

FCT_ATTRIBUTION = Suite(
    "fct_attribution",
    (
        Check(
            "has exactly the published columns",
            "ExpectTableColumnsToMatchSet",
            {
                "column_set": [
                    "deal_id",
                    "lead_id",
                    "attribution_model",
                    "touchpoint_id",
                    "touched_at",
                    "touch_type",
                    "channel",
                    "campaign",
                    "deal_status",
                    "opportunity_at",
                    "won_at",
                    "credit_weight",
                    "attributed_amount",
                    "currency_code",
                ],
                "exact_match": True,
            },
        ),
        Check(
            "(deal_id, attribution_model, touchpoint_id) is unique",
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["deal_id", "attribution_model", "touchpoint_id"]},
        ),
        *_not_null("deal_id", "attribution_model", "touchpoint_id", "channel", "attributed_amount"),
        Check(
            "attribution_model is one of the six models",
            "ExpectColumnValuesToBeInSet",
            {
                "column": "attribution_model",
                "value_set": [
                    "first_touch",
                    "last_touch",
                    "linear",
                    "u_shaped",
                    "w_shaped",
                    "time_decay",
                ],
            },
        ),
        Check(
            "channel is a known channel or unattributed",
            "ExpectColumnValuesToBeInSet",
            {"column": "channel", "value_set": [*CHANNELS, "unattributed"]},
        ),
        *_non_negative("attributed_amount"),
        _rows(
            "attributed revenue per model equals won revenue",
            "select attribution_model, observed, expected from (select attribution_model,"
            " sum(attributed_amount) filter (where deal_status = 'won') as observed,"
            " (select coalesce(sum(won_revenue), 0) from mart_channel_daily) as expected"
            " from {batch} group by attribution_model) where observed is distinct from expected",
        ),
        _rows(
            "every deal's credits sum to its amount, to the cent",
            "select f.deal_id, f.attribution_model, sum(f.attributed_amount) as credited,"
            " any_value(d.amount_reporting) as amount from (select * from {batch}) as f"
            " join intermediate.int_crm__deals as d on d.deal_id = f.deal_id"
            " group by all having sum(f.attributed_amount) <> any_value(d.amount_reporting)",
        ),
    ),
)


def _fresh(table: str, label: str, severity: str = "critical") -> Check:
    return _rows(
        f"freshness: {label} delivered data for the interval",
        f"select '{table}' as source, count(r.record_date) as rows_in_interval"
        f" from (select * from {{batch}}) as c left join raw.{table} as r"
        f" on r.record_date >= c.interval_start"
        f" and r.record_date < c.interval_end group by all having count(r.record_date) = 0",
        severity,
    )


def _anomaly(figure: str, expr: str) -> Check:
    return _rows(
        f"anomaly: daily {figure} within the threshold of the published baseline",
        f"select '{figure}' as figure, observed, baseline, threshold from (select"
        f" (select coalesce(sum({expr}), 0) from mart_channel_daily"
        f"  where date_day >= c.interval_start and date_day < c.interval_end)"
        f"  / (c.interval_end - c.interval_start) as observed,"
        f" c.baseline_{figure} as baseline, c.anomaly_threshold as threshold,"
        f" c.accept_anomalies, c.anomaly_min_baseline from (select * from {{batch}}) as c)"
        f" where not accept_anomalies and baseline >= greatest(anomaly_min_baseline, 1e-9)"
        f" and abs(observed - baseline) / baseline > threshold",
    )


# Checks about the run as a whole: source freshness, volume anomalies against the last
# published version, and CRM-side reconciliations. The batch is the one-row table
# audit._run_context the pipeline writes before the gate (interval, baseline, flags).
RUN_CONTEXT = Suite(
    "_run_context",
    (
        _fresh("ppc__google_ads", "Google Ads"),
        _fresh("ppc__meta_insights", "Meta Ads"),
        _fresh("web__events", "GA4"),
        _fresh("email__email_activity", "Mailchimp activity", "warning"),
        _rows(
            "freshness: the CRM delivered changes for the interval",
            "select count(r.updated_at) as changes from (select * from {batch}) as c"
            " left join raw.crm__contacts as r"
            " on r.updated_at >= c.interval_start and r.updated_at < c.interval_end"
            " group by all having count(r.updated_at) = 0",
            "warning",
        ),
        _rows(
            "every deal has a contact (no orphan opportunity)",
            "select record_id as deal_id from raw.crm__deals where coalesce(json_array_length("
            "payload -> '$.associations.contacts.results'), 0) = 0"
            " and exists (select 1 from {batch})",
        ),
        _rows(
            "leads of the interval equal the CRM's new contacts of the interval",
            "select observed, expected from (select"
            " (select count(*) from fct_lead_funnel, (select * from {batch}) as c"
            "  where lead_at >= c.interval_start and lead_at < c.interval_end) as observed,"
            " (select count(*) from raw.crm__contacts as r, (select * from {batch}) as c where"
            "  cast(payload ->> '$.properties.createdate' as timestamptz) at time zone 'UTC'"
            "  >= c.interval_start and cast(payload ->> '$.properties.createdate' as timestamptz)"
            "  at time zone 'UTC' < c.interval_end) as expected)"
            " where observed is distinct from expected",
        ),
        _anomaly("leads", "leads"),
        _anomaly("spend", "spend"),
        _anomaly("sessions", "sessions"),
    ),
)

SUITES: tuple[Suite, ...] = (FCT_LEAD_FUNNEL, MART_CHANNEL_DAILY, FCT_ATTRIBUTION, RUN_CONTEXT)
