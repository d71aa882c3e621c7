"""The quality gate's expectation suites, one per published mart, as code.

``smarketing quality init`` writes them into the Great Expectations file context under
``expectations/`` (suites, validation definitions, checkpoint), which is committed. A test
keeps the committed JSON and this module in step. Every check runs as SQL inside DuckDB.

Severity: ``critical`` blocks publication, ``warning`` is reported only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Channels come from the seed dbt_project/seeds/channels.csv (loaded as seeds.channels): its
# `origin` says where a channel can appear (web: sessions and UTM values; offline: leads
# without a web visit; sales: sales touches; none: revenue without touches). Adding a channel
# is one row there; no list is repeated here.
CHANNEL_SEED = "seeds.channels"
LEAD_ORIGINS = ("web", "offline")
DATASOURCE = "audit"
# the daily rates written before dbt runs (smarketing.fx.TABLE), read here independently of dbt
FX_RATES = "raw.fx__daily_rates"
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
    # a row without a rate makes the whole sum null: the check then fails, never skips it.
    # Through the euro, like dbt: amount × units_per_eur(reporting) / units_per_eur(currency).
    return (
        f" (select case when count(*) filter (where rate.units_per_eur is null"
        f" or reporting.units_per_eur is null) > 0 then null else"
        f" coalesce(sum(round(cast({amount} as decimal(38, 6))"
        f" * cast(reporting.units_per_eur / rate.units_per_eur as decimal(38, 10)), 2)), 0) end"
        f" from {table} as src"
        f" left join {FX_RATES} as rate"
        f" on rate.currency_code = upper({currency}) and rate.rate_date = {day}"
        f" left join {FX_RATES} as reporting"
        f" on reporting.currency_code = (select upper(reporting_currency) from _run_context)"
        f" and reporting.rate_date = {day} where {where})"
    )


def _rows(name: str, query: str, severity: str = "critical") -> Check:
    """A SQL check: the query returns the offending rows (with observed/expected columns)."""
    return Check(name, "UnexpectedRowsExpectation", {"unexpected_rows_query": query}, severity)


def _known_channel(column: str, origins: tuple[str, ...], label: str) -> Check:
    """Every value of ``column`` is a channel of the channel seed with one of ``origins``."""
    listed = ", ".join(f"'{o}'" for o in origins)
    return _rows(
        f"{column} is {label}",
        f"select {column} as unknown_channel, count(*) as rows_affected from {{batch}}"
        f" where {column} not in (select channel from {CHANNEL_SEED}"
        f" where origin in ({listed})) group by all",
    )


def _columns(*names: str) -> Check:
    """The table has exactly the published columns (its dbt contract; a test keeps both equal)."""
    return Check(
        "has exactly the published columns",
        "ExpectTableColumnsToMatchSet",
        {"column_set": list(names), "exact_match": True},
    )


def _equal(name: str, observed: str, expected: str) -> Check:
    """A reconciliation: two independently computed figures must be equal."""
    return _rows(
        name,
        f"select observed, expected from (select ({observed}) as observed,"
        f" ({expected}) as expected) where observed is distinct from expected",
    )


def _unique(*columns: str) -> Check:
    """No two rows share the value of ``columns`` (one column, or a compound key)."""
    if len(columns) == 1:
        return Check(
            f"{columns[0]} is unique", "ExpectColumnValuesToBeUnique", {"column": columns[0]}
        )
    return Check(
        f"({', '.join(columns)}) is unique",
        "ExpectCompoundColumnsToBeUnique",
        {"column_list": list(columns)},
    )


def _between_0_and_1(*columns: str) -> list[Check]:
    return [
        Check(
            f"{c} lies between 0 and 1",
            "ExpectColumnValuesToBeBetween",
            {"column": c, "min_value": 0, "max_value": 1},
        )
        for c in columns
    ]


WON_REVENUE = "select coalesce(sum(won_revenue), 0) from mart_channel_daily"
# won deals in the CRM, converted from the raw payloads (the sales grain, recomputed)
CONTACT_CREATED = "payload ->> '$.properties.createdate'"


def _crm_day(expr: str) -> str:
    """UTC day of a HubSpot datetime in any form it sends (ISO, date only, epoch ms)."""
    return f"cast({_crm_ts(expr)} as date)"


def _crm_ts(expr: str) -> str:
    """A HubSpot datetime in any form it sends as naive UTC (the crm_timestamp macro's rule).

    No regex braces: GX reads ``{…}`` in a query as a placeholder."""
    return (
        f"(case when nullif(trim({expr}), '') is null then null"
        f" when regexp_full_match(trim({expr}), '-?[0-9]+')"
        f" then epoch_ms(cast(trim({expr}) as bigint))"
        f" when regexp_full_match(trim({expr}), '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]')"
        f" then cast(cast(trim({expr}) as date) as timestamp)"
        f" else cast(trim({expr}) as timestamptz) at time zone 'UTC' end)"
    )


CRM_WON_REVENUE = _converted_raw_sum(
    "raw.crm__deals",
    # HubSpot's amount to the cent first, as stg_hubspot__deals reads it (10.005 -> 10.01)
    "cast(nullif(trim(payload ->> '$.properties.amount'), '') as decimal(18, 2))",
    # no currency on the deal: the account's company currency, as HubSpot treats it
    "coalesce(nullif(trim(payload ->> '$.properties.deal_currency_code'), ''),"
    " (select hubspot_company_currency from _run_context))",
    _crm_day("payload ->> '$.properties.closedate'"),
    "payload ->> '$.properties.dealstage' = 'closedwon'",
)


def _utc(prop: str) -> str:
    """A HubSpot contact property as naive UTC, in every timestamp form HubSpot sends."""
    return _crm_ts(f"payload ->> '$.properties.{prop}'")


# The CRM's leads recomputed from raw contacts, counted as the marts count them: not archived,
# and not a subscriber who never reached the lead stage; a lead is dated by its lead stage
# date, else its creation.
CRM_LEADS = (
    "select coalesce(" + _utc("hs_lifecyclestage_lead_date") + ", " + _utc("createdate") + ")"
    " as lead_at from raw.crm__contacts"
    " where not coalesce(cast(payload ->> '$.archived' as boolean), false)"
    " and (lower(payload ->> '$.properties.lifecyclestage') is distinct from 'subscriber'"
    " or coalesce("
    + ", ".join(
        _utc(f"hs_lifecyclestage_{stage}_date")
        for stage in (
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
        )
    )
    + ") is not null)"
)


FCT_LEAD_FUNNEL = Suite(
    "fct_lead_funnel",
    (
        _columns(
            "lead_id",
            "person_key",
            "account_id",
            "owner_id",
            "current_stage",
            "is_recycled",
            "first_touch_channel",
            "first_touch_campaign",
            "first_touch_campaign_key",
            "channel_source",
            "crm_channel",
            "crm_source_agrees",
            "visitor_at",
            "lead_at",
            "mql_at",
            "sql_at",
            "opportunity_at",
            "won_at",
            "lost_at",
            "first_sales_touch_at",
            "deal_id",
            "deal_amount",
            "deal_currency",
            "deal_amount_reporting",
            "days_visitor_to_lead",
            "days_lead_to_mql",
            "days_mql_to_sql",
            "days_sql_to_opportunity",
            "days_opportunity_to_close",
            "days_lead_to_won",
        ),
        _unique("lead_id"),
        *_not_null("lead_id", "person_key", "lead_at", "first_touch_channel"),
        _known_channel("first_touch_channel", LEAD_ORIGINS, "a known channel"),
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
        _unique("date_day", "channel"),
        *_not_null("date_day", "channel", "spend", "sessions", "leads", "won_deals", "won_revenue"),
        _known_channel("channel", LEAD_ORIGINS, "a known channel"),
        *_non_negative(
            "spend", "impressions", "clicks", "sessions", "leads", "won_deals", "won_revenue"
        ),
        _rows(
            "no day lies in the future",
            "select date_day from {batch} where date_day > current_date",
        ),
        _equal(
            "won revenue reconciles with the deals",
            "select coalesce(sum(won_revenue), 0) from {batch}",
            "select coalesce(sum(amount_reporting), 0) from fct_deals where won_at is not null",
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
            + CRM_WON_REVENUE
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
        _unique("deal_id", "attribution_model", "touchpoint_id"),
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
        _known_channel("channel", (*LEAD_ORIGINS, "none"), "a known channel or unattributed"),
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


FCT_DEALS = Suite(
    "fct_deals",
    (
        _columns(
            "deal_id",
            "lead_id",
            "account_id",
            "owner_id",
            "deal_stage",
            "deal_status",
            "buying_group_contacts",
            "deal_amount",
            "deal_currency",
            "amount_reporting",
            "is_priced",
            "opportunity_at",
            "closed_at",
            "won_at",
            "lost_at",
            "sales_cycle_days",
            "source_channel",
            "source_campaign",
            "source_campaign_key",
            "lead_deal_number",
        ),
        _unique("deal_id"),
        *_not_null("deal_id", "deal_status", "is_priced", "opportunity_at", "source_channel"),
        _rows(
            "a deal without amount is open (a closed deal is always priced)",
            "select deal_id from {batch} where (deal_amount is null or amount_reporting is null)"
            " and deal_status <> 'open'",
        ),
        Check(
            "deal_status is won, lost or open",
            "ExpectColumnValuesToBeInSet",
            {"column": "deal_status", "value_set": ["won", "lost", "open"]},
        ),
        *_non_negative("deal_amount", "amount_reporting", "sales_cycle_days"),
        _equal(
            "every deal in the CRM is here once",
            "select count(*) from {batch}",
            "select count(*) from raw.crm__deals",
        ),
        _equal(
            "won revenue equals the CRM's won deals converted from raw",
            "select coalesce(sum(amount_reporting), 0) from {batch} where won_at is not null",
            CRM_WON_REVENUE.strip()[1:-1],
        ),
    ),
)

FCT_FUNNEL_EVENTS = Suite(
    "fct_funnel_events",
    (
        _columns(
            "funnel_event_id",
            "person_id",
            "lead_id",
            "person_key",
            "is_anonymous",
            "stage",
            "stage_number",
            "stage_at",
            "channel",
            "campaign",
            "owner_id",
        ),
        _unique("person_id", "stage"),
        *_not_null("person_id", "stage", "stage_at", "channel"),
        Check(
            "stage is a funnel stage",
            "ExpectColumnValuesToBeInSet",
            {
                "column": "stage",
                "value_set": ["visitor", "lead", "mql", "sql", "opportunity", "won", "lost"],
            },
        ),
        _equal(
            "every lead has a lead event",
            "select count(*) from {batch} where stage = 'lead'",
            "select count(*) from fct_lead_funnel",
        ),
        _equal(
            "won events equal the leads' won first deals",
            "select count(*) from {batch} where stage = 'won'",
            "select count(won_at) from fct_lead_funnel",
        ),
        _rows(
            "anonymous people are only visitors",
            "select person_id, stage from {batch} where is_anonymous and stage <> 'visitor'",
        ),
    ),
)

DIM_CAMPAIGN = Suite(
    "dim_campaign",
    (
        _columns(
            "campaign_key",
            "channel",
            "campaign_name",
            "platform",
            "platform_campaign_id",
            "first_seen_on",
            "channel_group",
            "team",
            "is_paid",
        ),
        _unique("campaign_key"),
        *_not_null("campaign_key", "channel", "campaign_name", "platform"),
        _rows(
            "every campaign the marts report is in the dimension",
            "select distinct p.campaign_key from mart_channel_performance as p"
            " anti join (select * from {batch}) as d on p.campaign_key = d.campaign_key",
        ),
    ),
)

MART_CHANNEL_PERFORMANCE = Suite(
    "mart_channel_performance",
    (
        _columns(
            "date_day",
            "channel",
            "campaign",
            "campaign_key",
            "spend",
            "impressions",
            "clicks",
            "sessions",
            "leads",
            "mqls",
            "sqls",
            "opportunities",
            "pipeline_amount",
            "won_deals",
            "won_revenue",
            "revenue_first_touch",
            "revenue_last_touch",
            "revenue_linear",
            "revenue_u_shaped",
            "revenue_w_shaped",
            "revenue_time_decay",
            "platform",
            "channel_group",
        ),
        _unique("date_day", "campaign_key"),
        *_not_null("date_day", "channel", "campaign_key", "spend", "won_revenue"),
        *_non_negative("spend", "sessions", "leads", "pipeline_amount", "won_revenue"),
        _rows(
            "day totals equal mart_channel_daily",
            "select * from (select p.date_day, p.spend, d.spend as daily_spend,"
            " p.sessions, d.sessions as daily_sessions, p.leads, d.leads as daily_leads,"
            " p.won_revenue, d.won_revenue as daily_won_revenue from (select date_day,"
            " sum(spend) as spend, sum(sessions) as sessions, sum(leads) as leads,"
            " sum(won_revenue) as won_revenue from {batch} group by 1) as p full join"
            " (select date_day, sum(spend) as spend, sum(sessions) as sessions,"
            " sum(leads) as leads, sum(won_revenue) as won_revenue from mart_channel_daily"
            " group by 1) as d using (date_day))"
            # a day without a row in one mart is a day of zeros there (e.g. only CRM activity)
            " where coalesce(spend, 0) <> coalesce(daily_spend, 0)"
            " or coalesce(sessions, 0) <> coalesce(daily_sessions, 0)"
            " or coalesce(leads, 0) <> coalesce(daily_leads, 0)"
            " or coalesce(won_revenue, 0) <> coalesce(daily_won_revenue, 0)",
        ),
        _rows(
            "won revenue under every attribution model equals won revenue",
            "select * from (select sum(revenue_first_touch) as first_touch,"
            " sum(revenue_last_touch) as last_touch, sum(revenue_linear) as linear,"
            " sum(revenue_u_shaped) as u_shaped, sum(revenue_w_shaped) as w_shaped,"
            " sum(revenue_time_decay) as time_decay, sum(won_revenue) as won from {batch})"
            " where won is distinct from (" + WON_REVENUE + ") or first_touch <> won"
            " or last_touch <> won or linear <> won or u_shaped <> won or w_shaped <> won"
            " or time_decay <> won",
        ),
        _equal(
            "MQLs equal the lead funnel's MQLs",
            "select coalesce(sum(mqls), 0) from {batch}",
            "select count(mql_at) from fct_lead_funnel",
        ),
        _equal(
            "pipeline equals the deals created",
            "select coalesce(sum(pipeline_amount), 0) from {batch}",
            "select coalesce(sum(amount_reporting), 0) from fct_deals",
        ),
    ),
)

CONVERSION_RATES = (
    "visitor_to_lead_rate",
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_won_rate",
    "win_rate",
)

MART_FUNNEL_CONVERSION = Suite(
    "mart_funnel_conversion",
    (
        _columns(
            "cohort_month",
            "channel",
            "visitors",
            "leads",
            "mqls",
            "sqls",
            "opportunities",
            "won_deals",
            "lost_deals",
            *CONVERSION_RATES,
            "median_days_visitor_to_lead",
            "median_days_lead_to_mql",
            "median_days_mql_to_sql",
            "median_days_sql_to_opportunity",
            "median_days_opportunity_to_won",
        ),
        _unique("cohort_month", "channel"),
        *_between_0_and_1(*CONVERSION_RATES),
        _rows(
            "stage counts never increase from one stage to the next",
            "select cohort_month, channel from {batch} where mqls > leads or sqls > mqls"
            " or opportunities > sqls or won_deals + lost_deals > opportunities",
        ),
        _equal(
            "leads equal the lead funnel",
            "select coalesce(sum(leads), 0) from {batch}",
            "select count(*) from fct_lead_funnel",
        ),
        _equal(
            "visitors equal the funnel's visitor events",
            "select coalesce(sum(visitors), 0) from {batch}",
            "select count(*) from fct_funnel_events where stage = 'visitor'",
        ),
    ),
)

MART_SALES_MARKETING_SLA = Suite(
    "mart_sales_marketing_sla",
    (
        _columns(
            "dimension",
            "dimension_value",
            "sla_hours",
            "mqls",
            "mqls_worked",
            "mqls_worked_within_sla",
            "share_worked_within_sla",
            "mqls_never_worked",
            "median_hours_to_first_touch",
            "p90_hours_to_first_touch",
            "opportunities",
            "mql_to_opportunity_rate",
            "won_deals",
            "lost_deals",
            "win_rate",
        ),
        _unique("dimension", "dimension_value"),
        *_between_0_and_1("share_worked_within_sla", "mql_to_opportunity_rate", "win_rate"),
        *_non_negative("median_hours_to_first_touch", "p90_hours_to_first_touch"),
        _rows(
            "worked plus never worked equals MQLs",
            "select dimension, dimension_value, mqls, mqls_worked, mqls_never_worked"
            " from {batch} where mqls_worked + mqls_never_worked <> mqls"
            " or mqls_worked_within_sla > mqls_worked",
        ),
        _rows(
            "every dimension adds up to the lead funnel's MQLs",
            "select dimension, sum(mqls) as observed, (select count(mql_at) from"
            " fct_lead_funnel) as expected from {batch} group by dimension"
            " having sum(mqls) <> (select count(mql_at) from fct_lead_funnel)",
        ),
    ),
)

MART_REVENUE_SUMMARY = Suite(
    "mart_revenue_summary",
    (
        _columns(
            "month",
            "bookings",
            "won_deals",
            "lost_deals",
            "opportunities_created",
            "pipeline_created",
            "unpriced_opportunities_created",
            "win_rate",
            "average_deal_size",
            "avg_sales_cycle_days",
            "median_sales_cycle_days",
        ),
        _unique("month"),
        *_non_negative("bookings", "pipeline_created", "avg_sales_cycle_days"),
        *_between_0_and_1("win_rate"),
        _equal(
            "bookings equal won revenue (marketing grain)",
            "select coalesce(sum(bookings), 0) from {batch}",
            WON_REVENUE,
        ),
        _equal(
            "pipeline created equals the deals",
            "select coalesce(sum(pipeline_created), 0) from {batch}",
            "select coalesce(sum(amount_reporting), 0) from fct_deals",
        ),
    ),
)

MART_ACCOUNT_JOURNEY = Suite(
    "mart_account_journey",
    (
        _columns(
            "account_id",
            "account_name",
            "domain",
            "industry",
            "contacts",
            "mqls",
            "first_visit_at",
            "first_lead_at",
            "marketing_touches",
            "sales_touches",
            "first_marketing_touch_at",
            "first_sales_touch_at",
            "last_touch_at",
            "deals",
            "open_deals",
            "unpriced_open_deals",
            "won_deals",
            "lost_deals",
            "open_pipeline",
            "won_revenue",
            "first_won_at",
        ),
        _unique("account_id"),
        *_not_null("account_id", "account_name", "won_revenue"),
        *_non_negative("won_revenue", "open_pipeline", "contacts"),
        _equal(
            "won revenue (sales grain, accounts) equals won revenue (marketing grain)",
            "select coalesce(sum(won_revenue), 0) from {batch}",
            WON_REVENUE,
        ),
        _equal(
            "contacts equal the leads",
            "select coalesce(sum(contacts), 0) from {batch}",
            "select count(*) from fct_lead_funnel",
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


# An e-mail address, also URL-encoded (name%40host), as the staging models' scrub_pii finds it
# (no {n,} quantifier: GX reads braces in a query as placeholders).
EMAIL_PATTERN = r"[a-z0-9._%+-]+(@|%40)[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z][a-z]+"


def _no_email_addresses(*suites: Suite) -> Check:
    """No value of any published mart looks like an e-mail address (personal data).

    Reports only the mart and a count: the offending value itself must not reach a report.
    """
    parts = [
        f"select '{suite.table}' as mart, count(*) as rows_with_an_email_address"
        f" from {suite.table} where regexp_matches(concat_ws(' ', *columns(*)),"
        f" '{EMAIL_PATTERN}', 'i') having count(*) > 0"
        for suite in suites
    ]
    query = " union all ".join(parts)
    return _rows(
        "no published value looks like an e-mail address",
        f"select * from ({query}) where exists (select 1 from {{batch}})",
    )


# Lead disposition (issue 13): what sales decided about each MQL. The cross-mart
# reconciliations (MQLs per month × campaign against mart_channel_performance, per lead
# against fct_lead_funnel) also run in dbt as singular tests (dbt_project/tests/).
FCT_LEAD_DISPOSITION = Suite(
    "fct_lead_disposition",
    (
        _columns(
            "lead_id",
            "mql_month",
            "lead_source",
            "campaign",
            "campaign_key",
            "owner_id",
            "lead_status",
            "disposition",
            "rejection_reason",
            "mql_at",
            "mql_started_at",
            "is_remql",
            "sla_due_at",
            "is_within_sla_window",
            "first_sales_touch_at",
            "hours_to_first_touch",
            "sal_at",
            "is_sal_skipped",
            "ever_rejected",
            "rejected_then_converted",
            "opportunity_at",
            "won_at",
            "as_of",
        ),
        _unique("lead_id"),
        *_not_null("lead_id", "mql_month", "disposition", "owner_id", "mql_started_at"),
        _rows(
            "each MQL has one of the five dispositions, a rejected one its reason",
            "select lead_id, disposition, rejection_reason from {batch} where disposition not in"
            " ('accepted', 'rejected', 'worked_undecided', 'pending', 'never_worked')"
            " or (disposition = 'rejected') <> (rejection_reason is not null)",
        ),
        _rows(
            "every MQL of the lead funnel has a disposition",
            "select coalesce(d.lead_id, f.lead_id) as lead_id, d.lead_id is not null as disposed,"
            " f.lead_id is not null as mql from {batch} as d full join (select lead_id from"
            " fct_lead_funnel where mql_at is not null) as f on d.lead_id = f.lead_id"
            " where d.lead_id is null or f.lead_id is null",
        ),
    ),
)

MART_LEAD_DISPOSITION = Suite(
    "mart_lead_disposition",
    (
        _columns(
            "mql_month",
            "lead_source",
            "campaign",
            "campaign_key",
            "owner_id",
            "mqls",
            "accepted",
            "rejected",
            "rejected_unqualified",
            "rejected_bad_timing",
            "worked_undecided",
            "never_worked",
            "pending",
            "remqls",
            "sal_skipped",
            "acceptance_rate",
            "mql_to_sal_rate",
            "mqls_sla_elapsed",
            "worked_within_sla",
            "share_worked_within_sla",
            "ever_rejected",
            "rejected_then_converted",
            "share_rejected_later_converted",
        ),
        _unique("mql_month", "campaign_key", "owner_id"),
        *_between_0_and_1(
            "acceptance_rate",
            "mql_to_sal_rate",
            "share_worked_within_sla",
            "share_rejected_later_converted",
        ),
        _rows(
            "dispositions add up to the MQLs",
            "select mql_month, campaign_key, owner_id, mqls, accepted, rejected,"
            " worked_undecided, pending, never_worked from {batch}"
            " where accepted + rejected + worked_undecided + pending + never_worked <> mqls"
            " or rejected_unqualified + rejected_bad_timing <> rejected",
        ),
        _rows(
            "MQLs per month and lead source equal fct_lead_disposition's",
            "select * from (select mql_month, lead_source, sum(mqls) as observed from {batch}"
            " group by all) as m full join (select mql_month, lead_source, count(*) as expected"
            " from fct_lead_disposition group by all) as f using (mql_month, lead_source)"
            " where observed is distinct from expected",
        ),
    ),
)


# Unit economics (issue 13): month × channel / campaign, ratios from summed components.
MART_UNIT_ECONOMICS = Suite(
    "mart_unit_economics",
    (
        _columns(
            "grain",
            "month",
            "channel",
            "campaign",
            "campaign_key",
            "spend",
            "leads",
            "mqls",
            "opportunities",
            "pipeline_lead_source",
            "won_deals",
            "won_revenue",
            "cost_per_lead",
            "cost_per_mql",
            "cac_lead_source",
            "roas_lead_source",
            "payback_months",
            "revenue_first_touch",
            "won_deals_first_touch",
            "pipeline_first_touch",
            "cac_first_touch",
            "roas_first_touch",
            "revenue_last_touch",
            "won_deals_last_touch",
            "pipeline_last_touch",
            "cac_last_touch",
            "roas_last_touch",
            "revenue_linear",
            "won_deals_linear",
            "pipeline_linear",
            "cac_linear",
            "roas_linear",
            "revenue_u_shaped",
            "won_deals_u_shaped",
            "pipeline_u_shaped",
            "cac_u_shaped",
            "roas_u_shaped",
            "revenue_w_shaped",
            "won_deals_w_shaped",
            "pipeline_w_shaped",
            "cac_w_shaped",
            "roas_w_shaped",
            "revenue_time_decay",
            "won_deals_time_decay",
            "pipeline_time_decay",
            "cac_time_decay",
            "roas_time_decay",
        ),
        _unique("grain", "month", "campaign_key"),
        *_not_null("grain", "month", "channel", "campaign_key", "spend", "won_revenue"),
        *_non_negative("spend", "leads", "mqls", "won_revenue", "payback_months"),
        _rows(
            "spend, leads and bookings per month and channel equal mart_channel_daily's",
            "select * from (select month, channel, spend, leads, won_revenue from {batch}"
            " where grain = 'channel') as u full join (select cast(date_trunc('month',"
            " date_day) as date) as month, channel, sum(spend) as daily_spend,"
            " sum(leads) as daily_leads, sum(won_revenue) as daily_won_revenue"
            " from mart_channel_daily group by all) as d using (month, channel)"
            " where coalesce(spend, 0) <> coalesce(daily_spend, 0)"
            " or coalesce(leads, 0) <> coalesce(daily_leads, 0)"
            " or coalesce(won_revenue, 0) <> coalesce(daily_won_revenue, 0)",
        ),
        _rows(
            "campaign rows add up to their channel row",
            "select c.month, c.channel, c.spend, c.mqls, c.won_revenue, c.revenue_linear,"
            " c.pipeline_linear from (select month, channel, sum(spend) as spend,"
            " sum(mqls) as mqls, sum(won_revenue) as won_revenue,"
            " sum(revenue_linear) as revenue_linear, sum(pipeline_linear) as pipeline_linear"
            " from {batch} where grain = 'campaign' group by all) as c"
            " full join (select * from {batch} where grain = 'channel') as h"
            " using (month, channel) where c.spend is distinct from h.spend"
            " or c.mqls is distinct from h.mqls or c.won_revenue is distinct from h.won_revenue"
            " or c.revenue_linear is distinct from h.revenue_linear"
            " or c.pipeline_linear is distinct from h.pipeline_linear",
        ),
        _rows(
            "won revenue under every attribution model equals bookings",
            "select * from (select sum(won_revenue) as won, sum(revenue_first_touch) as ft,"
            " sum(revenue_last_touch) as lt, sum(revenue_linear) as li,"
            " sum(revenue_u_shaped) as u, sum(revenue_w_shaped) as w,"
            " sum(revenue_time_decay) as td from {batch} where grain = 'channel')"
            " where ft <> won or lt <> won or li <> won or u <> won or w <> won or td <> won",
        ),
    ),
)

PUBLISHED_SUITES = (
    FCT_LEAD_FUNNEL,
    MART_CHANNEL_DAILY,
    FCT_ATTRIBUTION,
    FCT_DEALS,
    FCT_FUNNEL_EVENTS,
    DIM_CAMPAIGN,
    MART_CHANNEL_PERFORMANCE,
    MART_FUNNEL_CONVERSION,
    MART_SALES_MARKETING_SLA,
    MART_REVENUE_SUMMARY,
    MART_ACCOUNT_JOURNEY,
    FCT_LEAD_DISPOSITION,
    MART_LEAD_DISPOSITION,
    MART_UNIT_ECONOMICS,
)

# Checks about the run as a whole: source freshness, volume anomalies against the last
# published version, and CRM-side reconciliations. The batch is the one-row table
# audit._run_context the pipeline writes before the gate (interval, baseline, flags).
RUN_CONTEXT = Suite(
    "_run_context",
    (
        _fresh("ppc__google_ads", "Google Ads"),
        _fresh("ppc__meta_insights", "Meta Ads"),
        # without the click report, auto-tagged paid visits would count as direct traffic
        _fresh("ppc__google_ads_clicks", "Google Ads clicks", "warning"),
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
            "leads of the interval equal the CRM's new leads of the interval",
            "select observed, expected from (select"
            " (select count(*) from fct_lead_funnel, (select * from {batch}) as c"
            "  where lead_at >= c.interval_start and lead_at < c.interval_end) as observed,"
            " (select count(*) from (" + CRM_LEADS + ") as r, (select * from {batch}) as c"
            "  where r.lead_at >= c.interval_start and r.lead_at < c.interval_end) as expected)"
            " where observed is distinct from expected",
        ),
        _anomaly("leads", "leads"),
        _anomaly("spend", "spend"),
        _anomaly("sessions", "sessions"),
        _no_email_addresses(*PUBLISHED_SUITES),
    ),
)

SUITES: tuple[Suite, ...] = (*PUBLISHED_SUITES, RUN_CONTEXT)
