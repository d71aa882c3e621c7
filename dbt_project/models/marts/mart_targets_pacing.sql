{#- Both teams' commitments in one table, per month and quarter of the plan (seed
    plan_targets) and lead-source channel (`(all)`: the company): target, actual to date,
    pacing against the target pro-rated to the elapsed share of the period, a run-rate
    forecast and a status. Next to them the reverse funnel: from the bookings target, the
    trailing average deal size, win rate and stage conversions, the won deals,
    opportunities, SQLs, SALs and MQLs needed; a stage without a plan target is paced
    against what the funnel needs.

    "Now" is the CRM's clock (int_crm__clock): a period's elapsed days run through its day.
    Actuals are counted as the other marts count them, by the lead's source: MQLs on the
    first MQL date, SALs on the SAL date, SQLs and opportunities on the lead's stage dates,
    pipeline on the deal's creation date, bookings and won deals on the won date, the SLA
    share over the period's MQLs whose SLA window has elapsed (mart_lead_disposition).
    Trailing rates: each stage over the leads that reached the earlier stage within the
    var pacing_trailing_days days through the clock's day (win rate: deals closed in them;
    average deal size: deals won in them). Status: pacing of at least var pacing_on_track
    is on track, of at least var pacing_at_risk at risk, else off track; not_started before
    the period, no_goal without a target, no_data without an actual (an SLA share before
    any window elapsed). Money is in the reporting currency, as the plan is. -#}
{%- set on_track = var('pacing_on_track', 0.95) -%}
{%- set at_risk = var('pacing_at_risk', 0.8) -%}
{%- set trailing_days = var('pacing_trailing_days', 90) -%}

with

plan as (

    select * from {{ ref('plan_targets') }}

),

clock as (

    select * from {{ ref('int_crm__clock') }}

),

leads as (

    select * from {{ ref('fct_lead_funnel') }}

),

dispositions as (

    select * from {{ ref('fct_lead_disposition') }}

),

disposition_months as (

    select * from {{ ref('mart_lead_disposition') }}

),

deals as (

    select * from {{ ref('fct_deals') }}

),

metrics as (

    select
        'bookings' as metric,
        'sales' as team
    union all
    select
        'pipeline' as metric,
        'shared' as team
    union all
    select
        'mqls' as metric,
        'marketing' as team
    union all
    select
        'sla_share' as metric,
        'sales' as team
    union all
    select
        'sals' as metric,
        'sales' as team
    union all
    select
        'sqls' as metric,
        'sales' as team
    union all
    select
        'opportunities' as metric,
        'sales' as team
    union all
    select
        'won_deals' as metric,
        'sales' as team

),

periods as (

    select distinct
        'month' as period_type,
        plan.month as period_start,
        cast(plan.month + interval 1 month - interval 1 day as date) as period_end
    from plan
    union
    select distinct
        'quarter' as period_type,
        cast(date_trunc('quarter', plan.month) as date) as period_start,
        cast(date_trunc('quarter', plan.month) + interval 3 month - interval 1 day as date)
            as period_end
    from plan

),

elapsed as (

    select
        periods.period_type,
        periods.period_start,
        periods.period_end,
        clock.as_of,
        datediff('day', periods.period_start, periods.period_end) + 1 as period_days,
        least(
            greatest(
                coalesce(
                    datediff('day', periods.period_start, cast(clock.as_of as date)) + 1, 0
                ),
                0
            ),
            datediff('day', periods.period_start, periods.period_end) + 1
        ) as elapsed_days
    from periods
    cross join clock

),

-- one row per countable fact, on its day, by the lead's source
events as (

    select
        first_touch_channel as channel,
        'mqls' as metric,
        1 as quantity,
        cast(mql_at as date) as event_day
    from leads
    where mql_at is not null
    union all
    select
        lead_source as channel,
        'sals' as metric,
        1 as quantity,
        cast(sal_at as date) as event_day
    from dispositions
    where sal_at is not null
    union all
    select
        first_touch_channel as channel,
        'sqls' as metric,
        1 as quantity,
        cast(sql_at as date) as event_day
    from leads
    where sql_at is not null
    union all
    select
        first_touch_channel as channel,
        'opportunities' as metric,
        1 as quantity,
        cast(opportunity_at as date) as event_day
    from leads
    where opportunity_at is not null
    union all
    select
        source_channel as channel,
        'pipeline' as metric,
        pipeline_amount_reporting as quantity,
        cast(opportunity_at as date) as event_day
    from deals
    where pipeline_amount_reporting is not null
    union all
    select
        source_channel as channel,
        'bookings' as metric,
        amount_reporting as quantity,
        cast(won_at as date) as event_day
    from deals
    where won_at is not null
    union all
    select
        source_channel as channel,
        'won_deals' as metric,
        1 as quantity,
        cast(won_at as date) as event_day
    from deals
    where won_at is not null

),

period_events as (

    select
        elapsed.period_type,
        elapsed.period_start,
        events.channel,
        events.metric,
        events.quantity
    from elapsed
    inner join events
        on
            elapsed.period_start <= events.event_day
            and elapsed.period_end >= events.event_day

),

actuals as (

    select
        period_type,
        period_start,
        channel,
        metric,
        sum(quantity) as actual
    from period_events
    group by period_type, period_start, channel, metric
    union all
    select
        period_type,
        period_start,
        '(all)' as channel,
        metric,
        sum(quantity) as actual
    from period_events
    group by period_type, period_start, metric

),

period_sla as (

    select
        elapsed.period_type,
        elapsed.period_start,
        disposition_months.lead_source as channel,
        disposition_months.mqls_sla_elapsed,
        disposition_months.worked_within_sla
    from elapsed
    inner join disposition_months
        on
            elapsed.period_start <= disposition_months.mql_month
            and elapsed.period_end >= disposition_months.mql_month

),

sla_actuals as (

    select
        period_type,
        period_start,
        channel,
        sum(worked_within_sla) / nullif(sum(mqls_sla_elapsed), 0) as sla_share
    from period_sla
    group by period_type, period_start, channel
    union all
    select
        period_type,
        period_start,
        '(all)' as channel,
        sum(worked_within_sla) / nullif(sum(mqls_sla_elapsed), 0) as sla_share
    from period_sla
    group by period_type, period_start

),

period_plan as (

    select
        elapsed.period_type,
        elapsed.period_start,
        plan.channel,
        plan.bookings_target,
        plan.pipeline_target,
        plan.mql_target,
        plan.sla_target_share
    from elapsed
    inner join plan
        on
            elapsed.period_start <= plan.month
            and elapsed.period_end >= plan.month

),

-- a quarter sums its months, the company its channels; the SLA share, a share of the
-- MQLs, is weighted by the MQL commitments
targets as (

    select
        period_type,
        period_start,
        channel,
        sum(bookings_target) as bookings,
        sum(pipeline_target) as pipeline,
        sum(mql_target) as mqls,
        sum(sla_target_share * mql_target) / nullif(sum(mql_target), 0) as sla_share
    from period_plan
    group by period_type, period_start, channel
    union all
    select
        period_type,
        period_start,
        '(all)' as channel,
        sum(bookings_target) as bookings,
        sum(pipeline_target) as pipeline,
        sum(mql_target) as mqls,
        sum(sla_target_share * mql_target) / nullif(sum(mql_target), 0) as sla_share
    from period_plan
    group by period_type, period_start

),

-- the trailing window: pacing_trailing_days days through the CRM clock's day
trailing_window as (

    select
        cast(as_of as date) - ({{ trailing_days }} - 1) as first_day,
        cast(as_of as date) as last_day
    from clock

),

-- each lead (deal) that reached the earlier stage in the window, and whether it went on
stage_steps as (

    select
        dispositions.lead_source as channel,
        'mql_to_sal' as conversion_step,
        dispositions.sal_at is not null as converted
    from dispositions
    cross join trailing_window
    where
        cast(dispositions.mql_at as date)
        between trailing_window.first_day and trailing_window.last_day
    union all
    select
        dispositions.lead_source as channel,
        'sal_to_sql' as conversion_step,
        leads.sql_at is not null as converted
    from dispositions
    inner join leads
        on dispositions.lead_id = leads.lead_id
    cross join trailing_window
    where
        cast(dispositions.sal_at as date)
        between trailing_window.first_day and trailing_window.last_day
    union all
    select
        leads.first_touch_channel as channel,
        'sql_to_opportunity' as conversion_step,
        leads.opportunity_at is not null as converted
    from leads
    cross join trailing_window
    where
        cast(leads.sql_at as date)
        between trailing_window.first_day and trailing_window.last_day
    union all
    select
        deals.source_channel as channel,
        'win_rate' as conversion_step,
        deals.won_at is not null as converted
    from deals
    cross join trailing_window
    where
        cast(coalesce(deals.won_at, deals.lost_at) as date)
        between trailing_window.first_day and trailing_window.last_day

),

step_rates as (

    select
        channel,
        conversion_step,
        cast(count(*) filter (where converted) as double) / count(*) as step_rate
    from stage_steps
    group by channel, conversion_step
    union all
    select
        '(all)' as channel,
        conversion_step,
        cast(count(*) filter (where converted) as double) / count(*) as step_rate
    from stage_steps
    group by conversion_step

),

won_in_window as (

    select
        deals.source_channel as channel,
        deals.amount_reporting
    from deals
    cross join trailing_window
    where
        cast(deals.won_at as date)
        between trailing_window.first_day and trailing_window.last_day

),

deal_sizes as (

    select
        channel,
        cast(sum(amount_reporting) as double) / count(*) as average_deal_size
    from won_in_window
    group by channel
    union all
    select
        '(all)' as channel,
        cast(sum(amount_reporting) as double) / count(*) as average_deal_size
    from won_in_window

),

channel_rates as (

    select
        channel,
        max(step_rate) filter (where conversion_step = 'mql_to_sal') as mql_to_sal,
        max(step_rate) filter (where conversion_step = 'sal_to_sql') as sal_to_sql,
        max(step_rate) filter (where conversion_step = 'sql_to_opportunity')
            as sql_to_opportunity,
        max(step_rate) filter (where conversion_step = 'win_rate') as win_rate
    from step_rates
    group by channel

),

channels as (

    select
        period_type,
        period_start,
        channel
    from targets
    union
    select
        period_type,
        period_start,
        channel
    from actuals
    union
    select
        period_type,
        period_start,
        channel
    from sla_actuals

),

funnel as (

    select
        channels.period_type,
        channels.period_start,
        channels.channel,
        targets.bookings as bookings_target,
        targets.pipeline as pipeline_target,
        targets.mqls as mqls_target,
        targets.sla_share as sla_share_target,
        sla_actuals.sla_share as sla_share_actual,
        channel_rates.mql_to_sal,
        channel_rates.sal_to_sql,
        channel_rates.sql_to_opportunity,
        channel_rates.win_rate,
        deal_sizes.average_deal_size
    from channels
    left join targets
        on
            channels.period_type = targets.period_type
            and channels.period_start = targets.period_start
            and channels.channel = targets.channel
    left join sla_actuals
        on
            channels.period_type = sla_actuals.period_type
            and channels.period_start = sla_actuals.period_start
            and channels.channel = sla_actuals.channel
    left join channel_rates
        on channels.channel = channel_rates.channel
    left join deal_sizes
        on channels.channel = deal_sizes.channel

),

-- the reverse funnel: from the bookings target back to the MQLs it needs
required as (

    select
        *,
        bookings_target / nullif(average_deal_size, 0) as won_deals_required,
        bookings_target / nullif(average_deal_size, 0) / nullif(win_rate, 0)
            as opportunities_required,
        bookings_target / nullif(average_deal_size, 0) / nullif(win_rate, 0)
        / nullif(sql_to_opportunity, 0) as sqls_required,
        bookings_target / nullif(average_deal_size, 0) / nullif(win_rate, 0)
        / nullif(sql_to_opportunity, 0) / nullif(sal_to_sql, 0) as sals_required,
        bookings_target / nullif(average_deal_size, 0) / nullif(win_rate, 0)
        / nullif(sql_to_opportunity, 0) / nullif(sal_to_sql, 0) / nullif(mql_to_sal, 0)
            as mqls_required
    from funnel

),

measured as (

    select
        elapsed.period_type,
        elapsed.period_start,
        elapsed.period_end,
        required.channel,
        metrics.metric,
        metrics.team,
        elapsed.period_days,
        elapsed.elapsed_days,
        required.average_deal_size,
        elapsed.as_of,
        case metrics.metric
            when 'bookings' then required.bookings_target
            when 'pipeline' then required.pipeline_target
            when 'mqls' then required.mqls_target
            when 'sla_share' then required.sla_share_target
        end as target,
        case metrics.metric
            when 'won_deals' then required.won_deals_required
            when 'opportunities' then required.opportunities_required
            when 'sqls' then required.sqls_required
            when 'sals' then required.sals_required
            when 'mqls' then required.mqls_required
        end as required,
        case metrics.metric
            when 'sla_share' then required.sla_share_actual
            else coalesce(actuals.actual, 0)
        end as actual,
        cast(elapsed.elapsed_days as double) / elapsed.period_days as elapsed_share,
        case metrics.metric
            when 'mqls' then required.mql_to_sal
            when 'sals' then required.sal_to_sql
            when 'sqls' then required.sql_to_opportunity
            when 'opportunities' then required.win_rate
        end as conversion_to_next
    from required
    inner join elapsed
        on
            required.period_type = elapsed.period_type
            and required.period_start = elapsed.period_start
    cross join metrics
    left join actuals
        on
            required.period_type = actuals.period_type
            and required.period_start = actuals.period_start
            and required.channel = actuals.channel
            and metrics.metric = actuals.metric

),

paced as (

    select
        *,
        coalesce(target, required) as goal,
        case
            when target is not null then 'plan'
            when required is not null then 'reverse_funnel'
        end as goal_basis,
        -- a rate (the SLA share) is not pro-rated: it is due all along
        case
            when metric = 'sla_share' then coalesce(target, required)
            else coalesce(target, required) * elapsed_share
        end as prorated_goal,
        case
            when elapsed_days = 0 then null
            when metric = 'sla_share' then actual
            else actual / elapsed_share
        end as forecast
    from measured

),

final as (

    select
        period_type,
        period_start,
        period_end,
        channel,
        metric,
        team,
        cast(target as decimal(18, 4)) as target,
        cast(required as decimal(18, 4)) as required,
        cast(goal as decimal(18, 4)) as goal,
        goal_basis,
        cast(actual as decimal(18, 4)) as actual,
        cast(period_days as integer) as period_days,
        cast(elapsed_days as integer) as elapsed_days,
        elapsed_share,
        cast(prorated_goal as decimal(18, 4)) as prorated_goal,
        cast(actual / nullif(prorated_goal, 0) as double) as pacing,
        cast(forecast as decimal(18, 4)) as forecast,
        case
            when goal is null then 'no_goal'
            when elapsed_days = 0 then 'not_started'
            when goal = 0 then 'on_track'
            when actual is null or prorated_goal is null then 'no_data'
            when actual / prorated_goal >= {{ on_track }} then 'on_track'
            when actual / prorated_goal >= {{ at_risk }} then 'at_risk'
            else 'off_track'
        end as status,
        conversion_to_next,
        cast(average_deal_size as decimal(18, 2)) as average_deal_size,
        as_of

    from paced

)

select * from final
