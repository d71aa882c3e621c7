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
    load_severity_overrides,
    run_gate,
)
from smarketing.quality.suites import SUITES
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


RAW = {
    "ppc__google_ads": [
        (
            "2026-01-01",
            {"metrics": {"costMicros": "12500000"}, "customer": {"currencyCode": "USD"}},
        ),
        ("2026-01-09", {"metrics": {"costMicros": "7250000"}, "customer": {"currencyCode": "USD"}}),
    ],
    "ppc__meta_insights": [("2026-01-09", {"spend": "0.00", "account_currency": "EUR"})],
    "ppc__google_ads_clicks": [("2026-01-09", {"clickView": {"gclid": "g1"}})],
    "web__events": [("2026-01-09", {"event_name": "page_view"})],
    "email__email_activity": [],
    "crm__deals": [
        (
            None,
            {
                "properties": {
                    "amount": "1500.00",
                    "dealstage": "closedwon",
                    "deal_currency_code": "USD",
                    "closedate": "2026-01-09T10:00:00Z",
                },
                "associations": {"contacts": {"results": [{"id": "1"}]}},
            },
        ),
        (
            None,
            {
                "properties": {
                    "amount": "900.00",
                    "dealstage": "closedlost",
                    "deal_currency_code": "USD",
                    "closedate": "2026-01-08T09:00:00Z",
                },
                "associations": {"contacts": {"results": [{"id": "3"}]}},
            },
        ),
    ],
    "crm__contacts": [
        (None, {"properties": {"createdate": "2026-01-01T10:00:00Z"}}),
        (None, {"properties": {"createdate": "2026-01-02T11:00:00Z"}}),
        (None, {"properties": {"createdate": "2026-01-02T12:00:00Z"}}),
    ],
}


def build_audit(path: Path) -> Path:
    """Three leads, one won for 1500.00 on Jan 9 via paid_search; consistent daily rows,
    the raw rows they came from, and the run context of the Jan 9 interval."""
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    for table, rows in RAW.items():
        con.execute(
            f"create table raw.{table} (record_id varchar, record_date date,"
            " updated_at timestamp, payload json)"
        )
        for i, (day, payload) in enumerate(rows):
            con.execute(
                f"insert into raw.{table} values (?, ?, ?, ?)",
                [str(i + 1), day, "2026-01-03 00:00:00", json.dumps(payload)],
            )
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
        ('d1', 1500.00::decimal(18, 2)), ('d3', 900.00::decimal(18, 2)))
        t(deal_id, amount_reporting)""")
    con.execute("create schema seeds")
    # the real channel seed: the gate's channel checks read it
    con.execute(
        "create table seeds.channels as select * from read_csv(?, header = true)",
        [str(PROJECT_DIR / "dbt_project" / "seeds" / "channels.csv")],
    )
    # one euro buys 1.1 dollars: a euro amount converts at 1.1, a dollar amount at 1
    con.execute("""create table raw.fx__daily_rates as select
        date '2026-01-01' + i::int as rate_date, c as currency_code,
        (case c when 'USD' then 1.1 else 1 end)::decimal(18, 6) as units_per_eur
        from range(40) t(i), (values ('USD'), ('EUR')) cur(c)""")
    con.execute("""create table audit.fct_attribution as select
        'd1' as deal_id, '1' as lead_id, m as attribution_model, 'session:s1' as touchpoint_id,
        timestamp '2026-01-01 09:00' as touched_at, 'form_fill' as touch_type,
        'paid_search' as channel, 'brand' as campaign, 'won' as deal_status,
        timestamp '2026-01-04 10:00' as opportunity_at, timestamp '2026-01-09 10:00' as won_at,
        1.0::double as credit_weight, 1500.00::decimal(18, 2) as attributed_amount,
        'USD' as currency_code
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
    owner 501) worked 2 h after its MQL and won; lead 3 (a1, 502) worked after 30 h and lost;
    lead 2 (no account) never an MQL; one anonymous visitor from paid search."""
    con.execute("""alter table audit.fct_lead_funnel add column account_id varchar;
        alter table audit.fct_lead_funnel add column owner_id varchar;
        alter table audit.fct_lead_funnel add column current_stage varchar;
        alter table audit.fct_lead_funnel add column is_recycled boolean default false;
        alter table audit.fct_lead_funnel add column first_touch_campaign_key varchar;
        alter table audit.fct_lead_funnel add column first_sales_touch_at timestamp;
        alter table audit.fct_lead_funnel add column channel_source varchar default 'web';
        alter table audit.fct_lead_funnel add column crm_channel varchar;
        alter table audit.fct_lead_funnel add column crm_source_agrees boolean;""")
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
    con.execute("""create table audit.fct_deals as select deal_id, lead_id, account_id,
        owner_id, case when won_at is null then 'closedlost' else 'closedwon' end as deal_stage,
        case when won_at is null then 'lost' else 'won' end as deal_status,
        1 as buying_group_contacts, deal_amount, deal_currency,
        deal_amount_reporting as amount_reporting, true as is_priced, opportunity_at,
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
            mql_at as 'mql', sql_at as 'sql', opportunity_at as 'opportunity', won_at as 'won',
            lost_at as 'lost' into name stage value stage_at)
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
        count(*) as leads, count(mql_at) as mqls, count(sql_at) as sqls,
        count(opportunity_at) as opportunities, count(won_at) as won_deals,
        count(lost_at) as lost_deals, 0.5 as visitor_to_lead_rate, 1.0 as lead_to_mql_rate,
        1.0 as mql_to_sql_rate, 1.0 as sql_to_opportunity_rate,
        1.0 as opportunity_to_won_rate, 1.0 as win_rate,
        1.0 as median_days_visitor_to_lead, 1.0 as median_days_lead_to_mql,
        1.0 as median_days_mql_to_sql, 1.0 as median_days_sql_to_opportunity,
        1.0 as median_days_opportunity_to_won from audit.fct_lead_funnel group by 2""")
    con.execute("""create table audit.mart_sales_marketing_sla as
        select d.*, 24.0 as sla_hours from (select dimension, dimension_value, count(*) as mqls,
            count(first_sales_touch_at) as mqls_worked,
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
        mql_at as mql_started_at, false as is_remql, mql_at + interval 24 hour as sla_due_at,
        false as is_within_sla_window, first_sales_touch_at,
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
        0 as remqls, 0 as sal_skipped,
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
    # 142 before, plus "no published value looks like an e-mail address" and
    # "a deal without an amount is an open deal"
    # and 17 for the lead disposition (fct_lead_disposition 9, mart_lead_disposition 8) and
    # 16 for mart_unit_economics
    assert N_CHECKS == 144 + 17 + 16
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
    counts = {"checks": 177, "blocked": 0, "warned": 2, "passed": 175}
    assert result.counts == saved["counts"] == counts
    report = (tmp_path / "good" / "validation.html").read_text()
    assert "177 checks: 0 blocked, 2 warned, 175 passed." in report and "failed" not in report


def test_crm_only_day_and_a_subscriber_do_not_block(tmp_path: Path) -> None:
    """Correct marts the gate used to block: a day with only CRM activity (a row of zeros in
    mart_channel_performance, no row in mart_channel_daily) and a newsletter subscriber
    created in the interval who never became a lead (not a lead in the marts either)."""
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute("""insert into audit.mart_channel_performance by name select
        date '2026-01-05' as date_day, 'offline' as channel, '(none)' as campaign,
        'offline:(none)' as campaign_key, 0 as spend, 0 as impressions, 0 as clicks,
        0 as sessions, 0 as leads, 0 as mqls, 0 as sqls, 0 as opportunities,
        0 as pipeline_amount, 0 as won_deals, 0 as won_revenue, 0 as revenue_first_touch,
        0 as revenue_last_touch, 0 as revenue_linear, 0 as revenue_u_shaped,
        0 as revenue_w_shaped, 0 as revenue_time_decay, 'web' as platform,
        'offline' as channel_group""")
    con.execute(
        "insert into raw.crm__contacts values ('9', null, '2026-01-09 08:00:00', ?)",
        [
            json.dumps(
                {
                    "properties": {
                        "createdate": "2026-01-09T08:00:00Z",
                        "lifecyclestage": "subscriber",
                    }
                }
            )
        ],
    )
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "crm_only")
    assert (result.success, result.failures) == (True, [])
    # the same subscriber with a lead date in the interval is a lead the marts lack: blocked
    con = duckdb.connect(str(db))
    con.execute(
        "update raw.crm__contacts set payload = json_merge_patch(payload, ?) where record_id = '9'",
        [json.dumps({"properties": {"hs_lifecyclestage_lead_date": "2026-01-09T09:00:00Z"}})],
    )
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "late_lead")
    assert [f.check for f in result.failures] == [
        "leads of the interval equal the CRM's new leads of the interval"
    ]
    assert '"expected": 1, "observed": 0' in result.failures[0].observed


FAULTS = [
    (
        "duplicate lead id",
        "update audit.fct_lead_funnel set lead_id = '1' where lead_id = '2'",
        "fct_lead_funnel",
        "lead_id is unique",
        "lead_id",
        "2 unexpected",
    ),
    (
        "negative spend",
        "update audit.mart_channel_daily set spend = -5 where clicks = 2",
        "mart_channel_daily",
        "spend is never negative",
        "spend",
        "-5",
    ),
    (
        "unknown channel",
        "update audit.mart_channel_daily set channel = 'tiktok' where leads = 0",
        "mart_channel_daily",
        "channel is a known channel",
        None,
        '"rows_affected": 1, "unknown_channel": "tiktok"',
    ),
    (
        "won revenue off by a cent",
        "update audit.mart_channel_daily set won_revenue = 1500.01 where won_deals = 1",
        "mart_channel_daily",
        "won revenue reconciles with the deals",
        None,
        "1500.01",
    ),
    (
        "null lead_at",
        "update audit.fct_lead_funnel set lead_at = null where lead_id = '3'",
        "fct_lead_funnel",
        "lead_at is never null",
        "lead_at",
        "1 unexpected",
    ),
    (
        "renamed column",
        "alter table audit.mart_channel_daily rename column sessions to visits",
        "mart_channel_daily",
        "has exactly the published columns",
        None,
        "visits",
    ),
    (
        "future day",
        "update audit.mart_channel_daily set date_day = date '2999-01-01' "
        "where channel = 'offline'",
        "mart_channel_daily",
        "no day lies in the future",
        None,
        "2999-01-01",
    ),
    (
        "won and lost",
        "update audit.fct_lead_funnel set lost_at = won_at where lead_id = '1'",
        "fct_lead_funnel",
        "a lead is never both won and lost",
        None,
        "1 rows",
    ),
    (
        "mql before lead",
        "update audit.fct_lead_funnel set mql_at = '2025-12-31' where lead_id='1'",
        "fct_lead_funnel",
        "mql_at is not before lead_at",
        None,
        "1 unexpected",
    ),
    (
        "leads do not reconcile",
        "delete from audit.fct_lead_funnel where lead_id = '2'",
        "mart_channel_daily",
        "leads reconcile with the lead funnel",
        None,
        '1 rows: [{"expected": 2, "observed": 3}]',
    ),
    (
        "spend differs from raw",
        "update raw.ppc__meta_insights set payload ="
        ' \'{"spend": "0.01", "account_currency": "USD"}\'',
        "mart_channel_daily",
        "spend reconciles with the ad platforms' raw rows",
        None,
        '[{"expected": "19.76", "observed": "19.75"}]',
    ),
    (
        "won deal missing from marts",
        "update raw.crm__deals set payload = json_merge_patch("
        'payload, \'{"properties": {"dealstage": "closedwon"}}\') where record_id = \'2\'',
        "mart_channel_daily",
        "won revenue (marketing grain) equals won deals in the CRM (sales grain)",
        None,
        '"expected": "2400.00"',
    ),
    (
        "funnel count increases",
        "update audit.fct_lead_funnel set sql_at = null where lead_id = '3'",
        "fct_lead_funnel",
        "funnel counts never increase from one stage to the next",
        None,
        '"opportunities": 2',
    ),
    (
        "missing source day",
        "delete from raw.web__events",
        "_run_context",
        "freshness: GA4 delivered data for the interval",
        None,
        '"source": "web__events"',
    ),
    (
        "orphan opportunity",
        "update raw.crm__deals set payload = json_merge_patch(payload,"
        ' \'{"associations": {"contacts": {"results": []}}}\') where record_id = \'2\'',
        "_run_context",
        "every deal has a contact (no orphan opportunity)",
        None,
        '"deal_id": "2"',
    ),
    (
        "80% drop in spend",
        "update audit._run_context set baseline_spend = 36.25",
        "_run_context",
        "anomaly: daily spend within the threshold of the published baseline",
        None,
        '"baseline": 36.25, "figure": "spend", "observed": 7.25',
    ),
    (
        "interval leads differ from CRM",
        "update raw.crm__contacts set payload ="
        ' \'{"properties": {"createdate": "2026-01-09T10:00:00Z"}}\' where record_id = \'1\'',
        "_run_context",
        "leads of the interval equal the CRM's new leads of the interval",
        None,
        '"expected": 1, "observed": 0',
    ),
    (
        "attributed revenue off by a cent",
        "update audit.fct_attribution set attributed_amount"
        " = 1499.99 where attribution_model = 'w_shaped'",
        "fct_attribution",
        "attributed revenue per model equals won revenue",
        None,
        '"attribution_model": "w_shaped", "expected": "1500.00", "observed": "1499.99"',
    ),
    (
        "credits do not sum to the deal",
        "update intermediate.int_crm__deals set amount_reporting = 1600 where deal_id = 'd1'",
        "fct_attribution",
        "every deal's credits sum to its amount, to the cent",
        None,
        '"amount": "1600.00"',
    ),
    (
        "accounts' revenue differs from the marketing grain",
        "update audit.mart_account_journey set won_revenue = won_revenue + 0.01"
        " where account_id = 'a1'",
        "mart_account_journey",
        "won revenue (sales grain, accounts) equals won revenue (marketing grain)",
        None,
        '"expected": "1500.00", "observed": "1500.01"',
    ),
    (
        "an owner's MQLs missing from the SLA mart",
        "delete from audit.mart_sales_marketing_sla where dimension_value = '502'",
        "mart_sales_marketing_sla",
        "every dimension adds up to the lead funnel's MQLs",
        None,
        '"dimension": "owner", "expected": 2, "observed": 1',
    ),
    (
        "a cent lost in one attribution model of the performance mart",
        "update audit.mart_channel_performance set revenue_linear = 1499.99 where won_deals = 1",
        "mart_channel_performance",
        "won revenue under every attribution model equals won revenue",
        None,
        '"linear": "1499.99"',
    ),
    (
        "raw spend without an exchange rate",
        "update raw.ppc__meta_insights set payload ="
        ' \'{"spend": "0.00", "account_currency": "XYZ"}\'',
        "mart_channel_daily",
        "spend reconciles with the ad platforms' raw rows",
        None,
        '"expected": null',
    ),
    (
        "an e-mail address in a published mart",
        "update audit.dim_campaign set campaign_name = 'promo Ann%40Example.com'",
        "_run_context",
        "no published value looks like an e-mail address",
        None,
        '"mart": "dim_campaign", "rows_with_an_email_address"',
    ),
]


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


@pytest.mark.parametrize("name,sql,suite,check,column,observed", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_blocks_with_a_message_naming_it(
    tmp_path: Path,
    name: str,
    sql: str,
    suite: str,
    check: str,
    column: str | None,
    observed: str,
) -> None:
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute(sql)
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "bad")
    assert not result.success
    hits = [f for f in result.failures if f.suite == suite and f.check == check]
    assert len(hits) == 1, result.failures
    assert hits[0].column == column
    assert observed in hits[0].observed
    with pytest.raises(QualityGateFailed) as err:
        assert_gate_passes(result)
    assert f"{suite}{'.' + column if column else ''}: {check}: observed" in str(err.value)
    report = (tmp_path / "bad" / "validation.html").read_text()
    blocked = len(result.failures)
    line = f"{N_CHECKS} checks: {blocked} blocked, {len(result.warnings)} warned"
    assert f"{blocked} of {N_CHECKS} checks blocked publication ({line}, " in str(err.value)
    assert f"{line}, {N_CHECKS - blocked - len(result.warnings)} passed." in report
    assert "FAILED" in report and html.escape(check) in report
    assert "http://" not in report and "https://" not in report  # opens offline, styled


def test_a_check_that_errors_counts_as_failed(tmp_path: Path) -> None:
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute("drop table audit.fct_lead_funnel")  # every funnel check now errors
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "err")
    funnel = [f for f in result.failures if f.suite == "fct_lead_funnel"]
    assert len(funnel) == len(SUITES[0].checks)
    assert all(f.observed.startswith("error: ") for f in funnel)


def test_committed_suites_match_the_code() -> None:
    for suite in SUITES:
        saved = json.loads((EXPECTATIONS / "expectations" / f"{suite.table}.json").read_text())
        got = [(e["type"], e["description"], e["severity"]) for e in saved["expectations"]]
        want = [
            (
                "".join("_" + ch.lower() if ch.isupper() else ch for ch in c.expectation)[1:],
                c.name,
                c.severity,
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


def test_severity_file_downgrades_a_check_and_rejects_unknown_names(tmp_path: Path) -> None:
    ctx = tmp_path / "expectations"
    import shutil

    shutil.copytree(EXPECTATIONS, ctx, ignore=shutil.ignore_patterns("uncommitted"))
    (ctx / "severity.yml").write_text(
        "overrides:\n"
        '  "mart_channel_daily: spend is never negative": warn\n'
        '  "mart_channel_performance: spend is never negative": warn\n'
        # the monthly unit economics, built before the change, now disagree with it
        '  "mart_unit_economics: spend, leads and bookings per month and channel equal'
        " mart_channel_daily's\": warn\n"
    )
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute("update audit.mart_channel_daily set spend = -5 where clicks = 2")
    con.execute("update audit.mart_channel_performance set spend = -5 where clicks = 2")
    con.execute("update audit._run_context set accept_anomalies = true")
    con.execute(
        'update raw.ppc__google_ads set payload = \'{"metrics": {"costMicros": "-5000000"},'
        ' "customer": {"currencyCode": "USD"}}\''
        " where record_id = '2'"
    )
    con.close()
    result = run_gate(db, ctx, tmp_path, "downgraded")
    assert result.success
    assert "spend is never negative" in [w.check for w in result.warnings]
    (ctx / "severity.yml").write_text(
        'overrides:\n  "mart_channel_daily: spend is negativ": warn\n'
    )
    with pytest.raises(ValueError, match="no check named 'mart_channel_daily: spend is negativ'"):
        load_severity_overrides(ctx)


def test_the_gate_reads_hubspot_timestamps_as_staging_does() -> None:
    """Every form HubSpot sends, and a cleared property ("") as null, never a cast error that
    would block every night until the contact changes."""
    from datetime import datetime

    from smarketing.quality.suites import _crm_ts

    con = duckdb.connect()
    cases = [
        ("", None),
        ("   ", None),
        ("1767261600000", datetime(2026, 1, 1, 10)),
        ("2026-01-01", datetime(2026, 1, 1)),
        ("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10)),
        ("2026-01-01T11:00:00.000+01:00", datetime(2026, 1, 1, 10)),
    ]
    for raw, expected in cases:
        got = con.execute(f"select {_crm_ts('v')} from (select ?::varchar as v)", [raw]).fetchone()
        assert got == (expected,), raw
    con.close()


def test_dispositions_that_do_not_add_up_to_the_mqls_block_publication(tmp_path: Path) -> None:
    """An MQL counted twice (accepted and rejected) or lost from the disposition fact fails."""
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute("update audit._run_context set accept_anomalies = true")
    con.execute("update audit.mart_lead_disposition set accepted = accepted + 1 where rejected = 1")
    con.execute("delete from audit.fct_lead_disposition where lead_id = '3'")
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "bad_disposition")
    assert not result.success
    failed = {(f.suite, f.check) for f in result.failures}
    assert ("mart_lead_disposition", "dispositions add up to the MQLs") in failed
    assert ("fct_lead_disposition", "every MQL of the lead funnel has a disposition") in failed
    assert (
        "mart_lead_disposition",
        "MQLs per month and lead source equal fct_lead_disposition's",
    ) in failed


def test_unit_economics_that_disagree_with_the_daily_mart_block_publication(
    tmp_path: Path,
) -> None:
    """Spend lost from a month's channel row, or a campaign row off its channel's total."""
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute("update audit._run_context set accept_anomalies = true")
    con.execute(
        "update audit.mart_unit_economics set spend = spend + 1"
        " where grain = 'channel' and channel = 'paid_search'"
    )
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "bad_economics")
    assert not result.success
    failed = {(f.suite, f.check) for f in result.failures}
    assert failed == {
        (
            "mart_unit_economics",
            "spend, leads and bookings per month and channel equal mart_channel_daily's",
        ),
        ("mart_unit_economics", "campaign rows add up to their channel row"),
    }
