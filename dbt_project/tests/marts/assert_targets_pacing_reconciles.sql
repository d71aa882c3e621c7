{#- mart_targets_pacing's actuals agree with the other marts: per month, the company's
    bookings, won deals and pipeline with mart_revenue_summary (the sales grain, fct_deals)
    and its MQLs with mart_lead_disposition; per month and lead source, MQLs, SQLs,
    opportunities, pipeline, won deals and bookings with mart_channel_performance (the
    funnel by day). Within the mart, the channels add up to `(all)` and a fully planned
    quarter to its months, targets and actuals alike (the SLA share, a rate, excepted). -#}
with

pacing as (

    select * from {{ ref('mart_targets_pacing') }}

),

revenue as (

    select * from {{ ref('mart_revenue_summary') }}

),

performance as (

    select * from {{ ref('mart_channel_performance') }}

),

disposition as (

    select * from {{ ref('mart_lead_disposition') }}

),

additive as (

    select * from pacing
    where metric <> 'sla_share'

),

plan_months as (

    select distinct period_start as plan_month
    from pacing
    where period_type = 'month'

),

performance_months as (

    unpivot (
        select
            plan_months.plan_month,
            performance.channel,
            cast(sum(performance.mqls) as decimal(18, 4)) as mqls,
            cast(sum(performance.sqls) as decimal(18, 4)) as sqls,
            cast(sum(performance.opportunities) as decimal(18, 4)) as opportunities,
            cast(sum(performance.pipeline_amount) as decimal(18, 4)) as pipeline,
            cast(sum(performance.won_deals) as decimal(18, 4)) as won_deals,
            cast(sum(performance.won_revenue) as decimal(18, 4)) as bookings
        from performance
        inner join plan_months
            on cast(date_trunc('month', performance.date_day) as date) = plan_months.plan_month
        group by all
    )
    on mqls, sqls, opportunities, pipeline, won_deals, bookings
    into name metric value expected

),

disposition_months as (

    select
        mql_month,
        sum(mqls) as mqls
    from disposition
    group by mql_month

),

company_months as (

    unpivot (
        select
            plan_months.plan_month,
            cast(revenue.bookings as decimal(18, 4)) as bookings,
            cast(revenue.won_deals as decimal(18, 4)) as won_deals,
            cast(revenue.pipeline_created as decimal(18, 4)) as pipeline,
            cast(disposition_months.mqls as decimal(18, 4)) as mqls
        from plan_months
        left join revenue
            on plan_months.plan_month = revenue.month
        left join disposition_months
            on plan_months.plan_month = disposition_months.mql_month
    )
    on bookings, won_deals, pipeline, mqls
    into name metric value expected

),

channel_months as (

    select
        period_start,
        channel,
        metric,
        actual
    from additive
    where
        period_type = 'month'
        and channel <> '(all)'
        and metric in ('mqls', 'sqls', 'opportunities', 'pipeline', 'won_deals', 'bookings')

),

by_channel as (

    select
        'month: ' || coalesce(p.metric, e.metric) || ' = mart_channel_performance' as figure,
        'month' as period_type,
        coalesce(p.period_start, e.plan_month) as period_start,
        coalesce(p.channel, e.channel) as channel,
        p.actual as observed,
        e.expected
    from channel_months as p
    full join performance_months as e
        on p.period_start = e.plan_month and p.channel = e.channel and p.metric = e.metric
    where coalesce(p.actual, 0) <> coalesce(e.expected, 0)

),

company as (

    select
        'month: ' || e.metric || ' = mart_revenue_summary / mart_lead_disposition' as figure,
        'month' as period_type,
        e.plan_month as period_start,
        '(all)' as channel,
        p.actual as observed,
        coalesce(e.expected, 0) as expected
    from company_months as e
    left join additive as p
        on
            e.plan_month = p.period_start
            and e.metric = p.metric
            and p.period_type = 'month'
            and p.channel = '(all)'
    where p.actual is distinct from coalesce(e.expected, 0)

),

channels_add_up as (

    select
        'channels add up to (all): ' || total.metric as figure,
        total.period_type,
        total.period_start,
        '(all)' as channel,
        total.actual as observed,
        coalesce(sum(part.actual), 0) as expected
    from additive as total
    left join additive as part
        on
            total.period_type = part.period_type
            and total.period_start = part.period_start
            and total.metric = part.metric
            and part.channel <> '(all)'
    where total.channel = '(all)'
    group by total.metric, total.period_type, total.period_start, total.actual, total.target
    having
        total.actual <> coalesce(sum(part.actual), 0)
        or total.target is distinct from sum(part.target)

),

months_add_up as (

    select
        'a quarter adds up its months: ' || q.metric as figure,
        q.period_type,
        q.period_start,
        q.channel,
        q.actual as observed,
        sum(m.actual) as expected
    from additive as q
    inner join additive as m
        on
            m.period_type = 'month'
            and q.channel = m.channel
            and q.metric = m.metric
            and m.period_start between q.period_start and q.period_end
    where q.period_type = 'quarter'
    group by q.metric, q.period_type, q.period_start, q.channel, q.actual, q.target
    having
        count(*) = 3
        and (q.actual <> sum(m.actual) or q.target is distinct from sum(m.target))

)

select * from by_channel
union all
select * from company
union all
select * from channels_add_up
union all
select * from months_add_up
