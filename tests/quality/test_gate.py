"""The quality gate: passes on good audit marts, blocks each injected fault by name."""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path

import duckdb
import pytest

from smarketing.quality.gate import (
    QualityGateFailed,
    assert_gate_passes,
    load_severity,
    run_gate,
)
from smarketing.quality.suites import SQL_DIR, SUITES
from tests.conftest import PROJECT_DIR

EXPECTATIONS = PROJECT_DIR / "expectations"
N_CHECKS = sum(len(s.checks) for s in SUITES)

FUNNEL_DDL = """create table audit.fct_lead_funnel (
    lead_id varchar, person_key varchar, first_touch_channel varchar,
    first_touch_campaign varchar, visitor_at timestamp, lead_at timestamp, mql_at timestamp,
    sql_at timestamp, opportunity_at timestamp, won_at timestamp, lost_at timestamp,
    deal_id varchar, deal_amount decimal(18, 2), deal_currency varchar,
    deal_amount_reporting decimal(18, 2))"""
DAILY_DDL = """create table audit.mart_channel_daily (
    date_day date, channel varchar, spend decimal(18, 2), impressions bigint, clicks bigint,
    sessions bigint, leads bigint, won_deals bigint, won_revenue decimal(18, 2))"""


# The staging models the gate's run checks and dbt's reconciliations read (views over raw in
# the warehouse, plain tables here): the rows the marts below were built from.
STAGING = {
    "stg_google_ads__campaign_stats": (
        "date_day date, cost decimal(18, 6), currency_code varchar",
        [("2026-01-01", 12.5, "USD"), ("2026-01-09", 7.25, "USD")],
    ),
    "stg_meta_ads__insights": (
        "date_day date, spend decimal(18, 6), currency_code varchar",
        [("2026-01-09", 0, "EUR")],
    ),
    "stg_linkedin_ads__ad_analytics": (
        "date_day date, cost decimal(18, 6), currency_code varchar",
        [("2026-01-09", 0, "EUR")],
    ),
    "stg_google_ads__clicks": ("click_date date, gclid varchar", [("2026-01-09", "g1")]),
    "stg_ga4__events": ("event_date date, event_name varchar", [("2026-01-09", "page_view")]),
    "stg_mailchimp__email_activity": ("activity_date date, action varchar", []),
    "stg_hubspot__deals": (
        "deal_id varchar, deal_stage varchar, amount decimal(18, 2), currency_code varchar,"
        " closed_at timestamp",
        [
            ("d1", "closedwon", 1500, "USD", "2026-01-09 10:00"),
            ("d3", "closedlost", 900, "USD", "2026-01-08 09:00"),
        ],
    ),
    "stg_hubspot__deal_contacts": (
        "deal_id varchar, contact_id varchar",
        [("d1", "1"), ("d3", "3")],
    ),
    "stg_hubspot__contacts": (
        "contact_id varchar, lifecycle_stage varchar, created_at timestamp, lead_at timestamp,"
        " mql_at timestamp, sql_at timestamp, opportunity_at timestamp, customer_at timestamp,"
        " updated_at timestamp, is_archived boolean",
        [
            ("1", "customer", "2026-01-01 10:00", *[None] * 5, "2026-01-03", False),
            ("2", "lead", "2026-01-02 11:00", *[None] * 5, "2026-01-03", False),
            ("3", "lead", "2026-01-02 12:00", *[None] * 5, "2026-01-03", None),
        ],
    ),
}


def build_audit(path: Path) -> Path:
    """Three leads, one won for 1500.00 on Jan 9 via paid_search; consistent daily rows,
    the raw rows they came from, and the run context of the Jan 9 interval."""
    con = duckdb.connect(str(path))
    con.execute("create schema staging")
    for table, (columns, rows) in STAGING.items():
        con.execute(f"create table staging.{table} ({columns})")
        for row in rows:
            marks = ", ".join("?" * len(row))
            con.execute(f"insert into staging.{table} values ({marks})", list(row))
    con.execute("create schema audit")
    con.execute(FUNNEL_DDL)
    con.execute(DAILY_DDL)
    con.execute("""insert into audit.fct_lead_funnel values
        ('1', 'h1', 'paid_search', 'brand', '2026-01-01 09:00', '2026-01-01 10:00',
         '2026-01-02 10:00', '2026-01-03 10:00', '2026-01-04 10:00', '2026-01-09 10:00', null,
         'd1', 1500.00, 'USD', 1500.00),
        ('2', 'h2', 'offline', null, null, '2026-01-02 11:00', null, null, null, null, null,
         null, null, null, null),
        ('3', 'h3', 'email', 'nl', '2026-01-02 08:00', '2026-01-02 12:00', '2026-01-03 09:00',
         '2026-01-04 09:00', '2026-01-05 09:00', null, '2026-01-08 09:00', 'd3', 900.00, 'USD',
         900.00)""")
    con.execute("""insert into audit.mart_channel_daily values
        ('2026-01-01', 'paid_search', 12.50, 300, 4, 4, 1, 0, 0),
        ('2026-01-02', 'offline', 0, 0, 0, 0, 1, 0, 0),
        ('2026-01-02', 'email', 0, 0, 0, 2, 1, 0, 0),
        ('2026-01-09', 'paid_search', 7.25, 100, 2, 2, 0, 1, 1500.00)""")
    _new_marts(con)
    con.execute("create schema intermediate")
    con.execute("""create table intermediate.int_crm__deals as select * from (values
        ('d1', 1500.00::decimal(18, 2), 1500.00::decimal(18, 2)),
        ('d3', 900.00::decimal(18, 2), 900.00::decimal(18, 2)))
        t(deal_id, amount_reporting, pipeline_amount_reporting)""")
    con.execute("create schema seeds")
    # the real channel seed: the gate's channel checks read it
    con.execute(
        "create table seeds.channels as select * from read_csv(?, header = true)",
        [str(PROJECT_DIR / "dbt_project" / "seeds" / "channels.csv")],
    )
    # one euro buys 1.1 dollars: a euro amount converts at 1.1, a dollar amount at 1
    con.execute("""create table staging.stg_fx__daily_rates as select
        date '2026-01-01' + i::int as rate_date, c as currency_code,
        (case c when 'USD' then 1.1 else 1 end)::decimal(18, 6) as units_per_eur
        from range(40) t(i), (values ('USD'), ('EUR')) cur(c)""")
    con.execute("""create table audit.fct_attribution as select
        'd1' as deal_id, '1' as lead_id, m as attribution_model, 'session:s1' as touchpoint_id,
        timestamp '2026-01-01 09:00' as touched_at, 'form_fill' as touch_type,
        'paid_search' as channel, 'brand' as campaign, 'won' as deal_status,
        timestamp '2026-01-04 10:00' as opportunity_at, timestamp '2026-01-09 10:00' as won_at,
        1.0::double as credit_weight, 1500.00::decimal(18, 2) as attributed_amount,
        1500.00::decimal(18, 2) as attributed_pipeline_amount, 'USD' as currency_code
        from (values ('first_touch'), ('last_touch'), ('linear'), ('u_shaped'), ('w_shaped'),
                     ('time_decay')) t(m)""")
    con.execute("""create table audit._run_context as select
        date '2026-01-09' as interval_start, date '2026-01-10' as interval_end,
        'USD' as reporting_currency, 'USD' as hubspot_company_currency,
        0.75::double as anomaly_threshold, 1::double as anomaly_min_baseline,
        false as accept_anomalies, 0.5::double as baseline_leads,
        7.0::double as baseline_spend, 2.5::double as baseline_sessions,
        7 as baseline_days""")
    con.close()
    return path


def _new_marts(con: duckdb.DuckDBPyConnection) -> None:
    """The other published marts, consistent with the three leads above: lead 1 (account a1,
    owner 501) worked 2 h after its MQL (a SAL there) and won; lead 3 (a1, 502) reached SQL
    before its first touch 30 h after its MQL (SAL skipped), lost, and was rejected after an
    MQL again; lead 2 (no account) never an MQL; one anonymous visitor from paid search."""
    con.execute("""alter table audit.fct_lead_funnel add column account_id varchar;
        alter table audit.fct_lead_funnel add column owner_id varchar;
        alter table audit.fct_lead_funnel add column current_stage varchar;
        alter table audit.fct_lead_funnel add column is_recycled boolean default false;
        alter table audit.fct_lead_funnel add column first_touch_campaign_key varchar;
        alter table audit.fct_lead_funnel add column first_sales_touch_at timestamp;
        alter table audit.fct_lead_funnel add column channel_source varchar default 'web';
        alter table audit.fct_lead_funnel add column crm_channel varchar;
        alter table audit.fct_lead_funnel add column crm_source_agrees boolean;
        alter table audit.fct_lead_funnel add column sal_at timestamp;
        alter table audit.fct_lead_funnel add column is_sal_skipped boolean default false;""")
    for name in (
        "visitor_to_lead",
        "lead_to_mql",
        "mql_to_sql",
        "sql_to_opportunity",
        "opportunity_to_close",
        "lead_to_won",
    ):
        con.execute(f"alter table audit.fct_lead_funnel add column days_{name} decimal(10, 2)")
    con.execute("""update audit.fct_lead_funnel set
        account_id = case when lead_id = '2' then null else 'a1' end,
        owner_id = case lead_id when '3' then '502' else '501' end,
        current_stage = case lead_id when '1' then 'customer' else 'lead' end,
        first_touch_campaign_key = first_touch_channel || ':' || coalesce(first_touch_campaign,
            '(none)'),
        first_sales_touch_at = case lead_id when '1' then mql_at + interval 2 hour
            when '3' then mql_at + interval 30 hour end""")
    # SAL: lead 1 at her call; lead 3 reached SQL before any touch (SAL skipped, dated there)
    con.execute("""update audit.fct_lead_funnel set
        sal_at = case lead_id when '1' then mql_at + interval 2 hour when '3' then sql_at end,
        is_sal_skipped = lead_id = '3'""")
    con.execute("""create table audit.fct_deals as select deal_id, lead_id, account_id,
        owner_id, case when won_at is null then 'closedlost' else 'closedwon' end as deal_stage,
        case when won_at is null then 'lost' else 'won' end as deal_status,
        1 as buying_group_contacts, deal_amount, deal_currency,
        deal_amount_reporting as amount_reporting,
        deal_amount_reporting as pipeline_amount_reporting, true as is_priced, opportunity_at,
        coalesce(won_at, lost_at) as closed_at, won_at, lost_at, 5.0 as sales_cycle_days,
        first_touch_channel as source_channel, first_touch_campaign as source_campaign,
        first_touch_campaign_key as source_campaign_key, 1 as lead_deal_number
        from audit.fct_lead_funnel where deal_id is not null""")
    con.execute("""create table audit.fct_funnel_events as
        select md5(person_id || stage) as funnel_event_id, * from (
        select lead_id as person_id, lead_id, person_key, lead_id is null as is_anonymous,
            stage, 1 as stage_number, stage_at, first_touch_channel as channel,
            first_touch_campaign as campaign, owner_id
        from (unpivot audit.fct_lead_funnel on visitor_at as 'visitor', lead_at as 'lead',
            mql_at as 'mql', sal_at as 'sal', sql_at as 'sql', opportunity_at as 'opportunity',
            won_at as 'won', lost_at as 'lost' into name stage value stage_at)
        union all select 'visitor:v9', null, 'visitor:v9', true, 'visitor', 1,
            timestamp '2026-01-01 08:00', 'paid_search', 'brand', null)""")
    con.execute("""create table audit.mart_channel_performance as select date_day, channel,
        case channel when 'paid_search' then 'brand' when 'email' then 'nl' else '(none)' end
            as campaign,
        channel || ':' || case channel when 'paid_search' then 'brand' when 'email' then 'nl'
            else '(none)' end as campaign_key,
        spend, impressions, clicks, sessions, leads,
        case when channel in ('paid_search', 'email') and leads = 1 then 1 else 0 end as mqls,
        0 as sqls, 0 as opportunities,
        case when date_day = '2026-01-01' then 1500.00 when channel = 'email' then 900.00
            else 0 end::decimal(18, 2) as pipeline_amount,
        won_deals, won_revenue, won_revenue as revenue_first_touch,
        won_revenue as revenue_last_touch, won_revenue as revenue_linear,
        won_revenue as revenue_u_shaped, won_revenue as revenue_w_shaped,
        won_revenue as revenue_time_decay,
        'web' as platform, 'paid' as channel_group from audit.mart_channel_daily""")
    con.execute("""create table audit.dim_campaign as select distinct campaign_key, channel,
        campaign as campaign_name, 'web' as platform, null as platform_campaign_id,
        null::date as first_seen_on, null as channel_group, null as team, false as is_paid
        from audit.mart_channel_performance""")
    con.execute("""create table audit.mart_funnel_conversion as select
        date '2026-01-01' as cohort_month, first_touch_channel as channel,
        count(visitor_at) + (first_touch_channel = 'paid_search')::int as visitors,
        count(*) as leads, count(mql_at) as mqls, count(sal_at) as sals, count(sql_at) as sqls,
        count(opportunity_at) as opportunities, count(won_at) as won_deals,
        count(lost_at) as lost_deals, 0.5 as visitor_to_lead_rate, 1.0 as lead_to_mql_rate,
        1.0 as mql_to_sal_rate, 1.0 as sal_to_sql_rate,
        1.0 as mql_to_sql_rate, 1.0 as sql_to_opportunity_rate,
        1.0 as opportunity_to_won_rate, 1.0 as win_rate,
        1.0 as median_days_visitor_to_lead, 1.0 as median_days_lead_to_mql,
        1.0 as median_days_mql_to_sal, 1.0 as median_days_sal_to_sql,
        1.0 as median_days_mql_to_sql, 1.0 as median_days_sql_to_opportunity,
        1.0 as median_days_opportunity_to_won from audit.fct_lead_funnel group by 2""")
    con.execute("""create table audit.mart_sales_marketing_sla as
        select d.*, 24.0 as sla_hours from (select dimension, dimension_value, count(*) as mqls,
            count(first_sales_touch_at) as mqls_worked, 0 as mqls_pending,
            count(*) as mqls_sla_elapsed,
            count(*) filter (where first_sales_touch_at <= mql_at + interval 24 hour)
                as mqls_worked_within_sla,
            0.5 as share_worked_within_sla, 0 as mqls_never_worked,
            2.0 as median_hours_to_first_touch, 27.2 as p90_hours_to_first_touch,
            count(opportunity_at) as opportunities, 1.0 as mql_to_opportunity_rate,
            count(won_at) as won_deals, count(lost_at) as lost_deals, 0.5 as win_rate
        from (select 'owner' as dimension, owner_id as dimension_value, * from
                audit.fct_lead_funnel
            union all select 'lead_source', first_touch_channel, * from audit.fct_lead_funnel
            union all select 'total', 'all', * from audit.fct_lead_funnel)
        where mql_at is not null group by 1, 2) as d""")
    con.execute("""create table audit.mart_revenue_summary as select
        date '2026-01-01' as month, 1500.00 as bookings, 1 as won_deals, 1 as lost_deals,
        2 as opportunities_created, 2400.00 as pipeline_created,
        0 as unpriced_opportunities_created, 0.5 as win_rate,
        1500.00 as average_deal_size, 5.0 as avg_sales_cycle_days,
        5.0 as median_sales_cycle_days""")
    con.execute("""create table audit.mart_account_journey as select
        coalesce(account_id, '(no company)') as account_id,
        coalesce(account_id, '(no company)') as account_name, null as domain, null as industry,
        count(*) as contacts, count(mql_at) as mqls, min(visitor_at) as first_visit_at,
        min(lead_at) as first_lead_at, 0 as marketing_touches, 0 as sales_touches,
        null::timestamp as first_marketing_touch_at, min(first_sales_touch_at)
            as first_sales_touch_at, null::timestamp as last_touch_at,
        count(deal_id) as deals, 0 as open_deals, 0 as unpriced_open_deals,
        count(won_at) as won_deals,
        count(lost_at) as lost_deals, 0.00 as open_pipeline,
        coalesce(sum(deal_amount_reporting) filter (where won_at is not null), 0) as won_revenue,
        min(won_at) as first_won_at from audit.fct_lead_funnel group by 1""")
    # lead 1 accepted by sales, lead 3 rejected as a bad fit
    con.execute("""create table audit.fct_lead_disposition as select lead_id,
        cast(date_trunc('month', mql_at) as date) as mql_month,
        first_touch_channel as lead_source, coalesce(first_touch_campaign, '(none)') as campaign,
        first_touch_campaign_key as campaign_key, owner_id,
        case lead_id when '1' then 'OPEN_DEAL' else 'UNQUALIFIED' end as lead_status,
        case lead_id when '1' then 'accepted' else 'rejected' end as disposition,
        case lead_id when '3' then 'bad_fit' end as rejection_reason, mql_at,
        -- lead 3 was rejected after an MQL again, past its SQL (its SAL of the earlier
        -- episode stays in the funnel)
        case lead_id when '3' then mql_at + interval 3 day else mql_at end as mql_started_at,
        lead_id = '3' as is_remql, mql_at + interval 24 hour as sla_due_at,
        false as is_within_sla_window,
        first_sales_touch_at <= mql_at + interval 24 hour as is_worked_within_sla,
        first_sales_touch_at,
        (epoch(first_sales_touch_at) - epoch(mql_at)) / 3600.0 as hours_to_first_touch,
        case lead_id when '1' then first_sales_touch_at end as sal_at, false as is_sal_skipped,
        lead_id = '3' as ever_rejected, false as rejected_then_converted, opportunity_at,
        won_at, timestamp '2026-01-10 00:00' as as_of
        from audit.fct_lead_funnel where mql_at is not null""")
    con.execute("""create table audit.mart_lead_disposition as select mql_month, lead_source,
        campaign, campaign_key, owner_id, count(*) as mqls,
        count(*) filter (where disposition = 'accepted') as accepted,
        count(*) filter (where disposition = 'rejected') as rejected,
        count(*) filter (where disposition = 'rejected') as rejected_unqualified,
        0 as rejected_bad_timing, 0 as worked_undecided, 0 as never_worked, 0 as pending,
        count(*) filter (where is_remql) as remqls, 0 as sal_skipped,
        count(*) filter (where disposition = 'accepted') / count(*) as acceptance_rate,
        count(*) filter (where disposition = 'accepted') / count(*) as mql_to_sal_rate,
        count(*) as mqls_sla_elapsed,
        count(*) filter (where hours_to_first_touch <= 24) as worked_within_sla,
        count(*) filter (where hours_to_first_touch <= 24) / count(*)
            as share_worked_within_sla,
        count(*) filter (where ever_rejected) as ever_rejected, 0 as rejected_then_converted,
        0.0 as share_rejected_later_converted
        from audit.fct_lead_disposition group by all""")
    models = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay")
    by_model = ", ".join(
        f"sum(revenue_{m}) as revenue_{m}, count(*) filter (where won_deals > 0)::decimal(18, 4)"
        f" as won_deals_{m}, sum(revenue_{m}) as pipeline_{m}, null as cac_{m},"
        f" sum(revenue_{m}) / nullif(sum(spend), 0) as roas_{m}"
        for m in models
    )
    con.execute(f"""create table audit.mart_unit_economics as
        with grains as (select 'campaign' as grain, campaign_key, * exclude (campaign_key)
            from audit.mart_channel_performance union all select 'channel',
            channel || ':(all)', * exclude (campaign_key) from audit.mart_channel_performance)
        select grain, cast(date_trunc('month', date_day) as date) as month, channel,
            case grain when 'channel' then '(all)' else campaign end as campaign,
            campaign_key, sum(spend) as spend, sum(leads) as leads, sum(mqls) as mqls,
            sum(opportunities) as opportunities, sum(pipeline_amount) as pipeline_lead_source,
            sum(won_deals) as won_deals, sum(won_revenue) as won_revenue,
            null as cost_per_lead, null as cost_per_mql, null as cac_lead_source,
            null as roas_lead_source, null as payback_months, {by_model}
        from grains group by all""")

    # January's pacing as the funnel and revenue marts count it (no plan: no goal)
    con.execute("""create table audit.mart_targets_pacing as
        with monthly as (unpivot (select cast(date_trunc('month', date_day) as date)
                as period_start, channel, sum(mqls)::decimal(18, 4) as mqls,
                sum(sqls)::decimal(18, 4) as sqls,
                sum(opportunities)::decimal(18, 4) as opportunities,
                sum(pipeline_amount)::decimal(18, 4) as pipeline,
                sum(won_deals)::decimal(18, 4) as won_deals,
                sum(won_revenue)::decimal(18, 4) as bookings
            from audit.mart_channel_performance group by all)
            on mqls, sqls, opportunities, pipeline, won_deals, bookings
            into name metric value actual),
        with_total as (select * from monthly union all
            select period_start, '(all)', metric, sum(actual) from monthly group by all)
        select 'month' as period_type, period_start, last_day(period_start) as period_end,
            channel, metric, case metric when 'mqls' then 'marketing' when 'pipeline'
                then 'shared' else 'sales' end as team,
            null::decimal(18, 4) as target, null::decimal(18, 4) as required,
            null::decimal(18, 4) as goal, null as goal_basis, actual, 31 as period_days,
            9 as elapsed_days, 9 / 31 as elapsed_share, null::decimal(18, 4) as prorated_goal,
            null::double as pacing, actual * 31 / 9 as forecast, 'no_goal' as status,
            null::double as conversion_to_next, null::decimal(18, 2) as average_deal_size,
            timestamp '2026-01-10 00:00' as as_of
        from with_total""")


def tracked_digest() -> str:
    digest = hashlib.sha256()
    for p in sorted(EXPECTATIONS.rglob("*")):
        if p.is_file() and "uncommitted" not in p.parts:
            digest.update(p.read_bytes())
    return digest.hexdigest()


def test_good_marts_pass_every_check_and_touch_no_tracked_file(tmp_path: Path) -> None:
    before = tracked_digest()
    result = run_gate(build_audit(tmp_path / "a.duckdb"), EXPECTATIONS, tmp_path, "good")
    assert (result.success, result.checks_run, result.failures) == (True, N_CHECKS, [])
    # one "is not empty" per published mart (15), seven freshness checks (the registry's
    # vendors'), the interval's leads, the anomalies and the e-mail check: everything else is
    # a dbt test
    assert N_CHECKS == 25
    # no e-mail activity and no CRM change in the interval: reported, severity warn
    assert sorted(w.check for w in result.warnings) == [
        "freshness: Mailchimp activity delivered data for the interval",
        "freshness: the CRM delivered changes for the interval",
    ]
    assert_gate_passes(result)
    assert tracked_digest() == before
    saved = json.loads((tmp_path / "good" / "validation.json").read_text())
    assert len(saved["checks"]) == N_CHECKS
    assert sum(not c["success"] for c in saved["checks"]) == len(result.warnings) == 2
    # one warning is a warning, not a failure: the same three numbers in report and JSON
    counts = {"checks": 25, "blocked": 0, "warned": 2, "passed": 23}
    assert result.counts == saved["counts"] == counts
    report = (tmp_path / "good" / "validation.html").read_text()
    assert "25 checks: 0 blocked, 2 warned, 23 passed." in report and "failed" not in report


def test_a_subscriber_does_not_block_but_a_late_lead_does(tmp_path: Path) -> None:
    """A newsletter subscriber created in the interval who never became a lead is not a lead
    in the marts either; the same contact with a lead date in the interval is one they lack."""
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute("""insert into staging.stg_hubspot__contacts (contact_id, lifecycle_stage,
        created_at, updated_at) values ('9', 'subscriber', '2026-01-09 08:00', '2026-01-09')""")
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "subscriber")
    assert (result.success, result.failures) == (True, [])
    con = duckdb.connect(str(db))
    con.execute(
        "update staging.stg_hubspot__contacts set lead_at = '2026-01-09 09:00'"
        " where contact_id = '9'"
    )
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "late_lead")
    assert [f.check for f in result.failures] == [
        "leads of the interval equal the CRM's new leads of the interval"
    ]
    assert '"expected": 1, "observed": 0' in result.failures[0].observed


FAULTS = [
    (
        "missing source day",
        "delete from staging.stg_ga4__events",
        "_run_context",
        "freshness: GA4 delivered data for the interval",
        '"rows_in_interval": 0, "source": "stg_ga4__events"',
    ),
    (
        "80% drop in spend",
        "update audit._run_context set baseline_spend = 36.25",
        "_run_context",
        "anomaly: daily leads, spend and sessions within the threshold of the published baseline",
        '"baseline": 36.25, "figure": "spend", "observed": 7.25',
    ),
    (
        "interval leads differ from CRM",
        "update staging.stg_hubspot__contacts set created_at = '2026-01-09 10:00'"
        " where contact_id = '1'",
        "_run_context",
        "leads of the interval equal the CRM's new leads of the interval",
        '"expected": 1, "observed": 0',
    ),
    (
        "an e-mail address in a published mart",
        "update audit.dim_campaign set campaign_name = 'promo Ann%40Example.com'",
        "_run_context",
        "no published value looks like an e-mail address",
        '"mart": "dim_campaign", "rows_with_an_email_address"',
    ),
    (
        "an empty published mart",
        "delete from audit.mart_funnel_conversion",
        "mart_funnel_conversion",
        "is not empty",
        "0",
    ),
]


def test_a_company_without_deals_yet_publishes_with_a_warning(tmp_path: Path) -> None:
    """No deal in the CRM yet (a company's first nights): the deal marts are empty, reported
    as a warning; the funnel and spend still publish (an emptied deal mart while the CRM
    holds deals is dbt's to stop: assert_deals_match_the_crm and the reconciliations)."""
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    for mart in ("fct_deals", "fct_attribution", "mart_revenue_summary"):
        con.execute(f"delete from audit.{mart}")
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "no_deals")
    assert (result.success, result.failures) == (True, [])
    empty = sorted(w.suite for w in result.warnings if w.check == "is not empty")
    assert empty == ["fct_attribution", "fct_deals", "mart_revenue_summary"]


def test_the_gate_writes_nothing_into_the_expectations_folder(tmp_path: Path) -> None:
    """Deployments mount expectations/ read-only: GX's uncommitted/ output must go elsewhere."""
    import shutil

    ctx = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS, ctx, ignore=shutil.ignore_patterns("uncommitted"))
    before = sorted(p.relative_to(ctx) for p in ctx.rglob("*"))
    result = run_gate(build_audit(tmp_path / "a.duckdb"), ctx, tmp_path / "reports", "ro")
    assert (result.success, result.checks_run) == (True, N_CHECKS)
    assert sorted(p.relative_to(ctx) for p in ctx.rglob("*")) == before
    assert not (ctx / "uncommitted").exists()


@pytest.mark.parametrize("name,sql,suite,check,observed", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_blocks_with_a_message_naming_it(
    tmp_path: Path, name: str, sql: str, suite: str, check: str, observed: str
) -> None:
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute(sql)
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "bad")
    assert not result.success
    assert [(f.suite, f.check) for f in result.failures] == [(suite, check)]
    assert observed in result.failures[0].observed
    with pytest.raises(QualityGateFailed) as err:
        assert_gate_passes(result)
    assert f"{suite}: {check}: observed" in str(err.value)
    report = (tmp_path / "bad" / "validation.html").read_text()
    line = f"{N_CHECKS} checks: 1 blocked, {len(result.warnings)} warned"
    assert f"1 of {N_CHECKS} checks blocked publication ({line}, " in str(err.value)
    assert f"{line}, {N_CHECKS - 1 - len(result.warnings)} passed." in report
    assert "FAILED" in report and html.escape(check) in report
    assert "http://" not in report and "https://" not in report  # opens offline, styled


def test_a_check_that_errors_counts_as_failed(tmp_path: Path) -> None:
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute("drop table audit.fct_lead_funnel")  # every check reading it now errors
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "err")
    failed = {(f.suite, f.check): f.observed for f in result.failures}
    # (after an error DuckDB aborts the shared transaction: later checks error too, and an
    # error is a failure, never a pass)
    assert not result.success and set(failed) >= {
        ("fct_lead_funnel", "is not empty"),
        ("_run_context", "leads of the interval equal the CRM's new leads of the interval"),
        ("_run_context", "no published value looks like an e-mail address"),
    }
    assert all(observed.startswith("error: ") for observed in failed.values())


def test_committed_suites_match_the_code_and_the_severity_file() -> None:
    severity = load_severity(EXPECTATIONS)
    for suite in SUITES:
        saved = json.loads((EXPECTATIONS / "expectations" / f"{suite.table}.json").read_text())
        got = [
            (e["type"], e["description"], e["severity"], e["kwargs"].get("unexpected_rows_query"))
            for e in saved["expectations"]
        ]
        want = [
            (
                "".join("_" + ch.lower() if ch.isupper() else ch for ch in c.expectation)[1:],
                c.name,
                severity[f"{suite.table}: {c.name}"],
                c.kwargs.get("unexpected_rows_query"),
            )
            for c in suite.checks
        ]
        assert got == want
    assert (EXPECTATIONS / "checkpoints" / "smarketing_gate.json").exists()
    ignored = (EXPECTATIONS / ".gitignore").read_text().split()
    assert "uncommitted/" in ignored


def test_accepting_anomalies_lets_a_known_jump_through(tmp_path: Path) -> None:
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute("update audit._run_context set baseline_spend = 36.25, accept_anomalies = true")
    con.close()
    assert run_gate(db, EXPECTATIONS, tmp_path, "accepted").success


def test_severity_file_downgrades_a_check_and_rejects_unknown_or_missing_names(
    tmp_path: Path,
) -> None:
    import shutil

    ctx = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS, ctx, ignore=shutil.ignore_patterns("uncommitted"))
    text = (ctx / "severity.yml").read_text()
    key = '"_run_context: freshness: GA4 delivered data for the interval"'
    assert f"  {key}: block\n" in text
    (ctx / "severity.yml").write_text(text.replace(f"  {key}: block", f"  {key}: warn"))
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute("delete from staging.stg_ga4__events")
    con.close()
    result = run_gate(db, ctx, tmp_path, "downgraded")
    assert result.success
    assert "freshness: GA4 delivered data for the interval" in [w.check for w in result.warnings]
    (ctx / "severity.yml").write_text(text.replace(key, '"_run_context: freshness: GA5"'))
    with pytest.raises(ValueError, match="no check named '_run_context: freshness: GA5'"):
        load_severity(ctx)
    (ctx / "severity.yml").write_text(text.replace(f"  {key}: block\n", ""))
    with pytest.raises(ValueError, match=r"no severity for .*GA4 delivered data"):
        load_severity(ctx)


def test_the_gate_reads_no_raw_vendor_json_and_keeps_sql_in_files() -> None:
    """The gate's SQL reads staging and audit models (the exchange-rate table aside, none is
    read): never a raw vendor table, never a JSON payload."""
    for suite in SUITES:
        for check in suite.checks:
            query = check.kwargs.get("unexpected_rows_query", "")
            assert "raw." not in query and "payload" not in query, check.name
    for path in SQL_DIR.glob("*.sql"):
        text = path.read_text()
        assert "payload" not in text, path
    source = (PROJECT_DIR / "src" / "smarketing" / "quality" / "suites.py").read_text()
    assert "select " not in source.lower()
