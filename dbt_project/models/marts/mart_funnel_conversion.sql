{#- Cohort month × channel: how many people of a cohort reached each stage (so far), the
    stage-to-stage conversion rates and the median days between stages. A person's cohort is
    the month they entered the funnel (first visit, else becoming a lead); the channel is
    their first touch (`offline` for leads with no visit). Anonymous visitors who never
    converted count as visitors. -#}
with

events as (

    select * from {{ ref('fct_funnel_events') }}

),

leads as (

    select * from {{ ref('fct_lead_funnel') }}

),

people as (

    pivot (select person_id, channel, stage, stage_at from events)
    on stage in ('visitor', 'lead', 'mql', 'sql', 'opportunity', 'won', 'lost')
    using min(stage_at)
    group by person_id, channel

),

cohorts as (

    select
        cast(date_trunc('month', coalesce(visitor, lead)) as date) as cohort_month,
        channel,
        visitor,
        lead,
        mql,
        sql,
        opportunity,
        won,
        lost

    from people

),

final as (

    select
        cohort_month,
        channel,
        count(visitor) as visitors,
        count(lead) as leads,
        count(mql) as mqls,
        count(sql) as sqls,
        count(opportunity) as opportunities,
        count(won) as won_deals,
        count(lost) as lost_deals,
        -- visitor -> lead counts only leads that had a visit (offline leads have none)
        cast(count(lead) filter (where visitor is not null) / nullif(count(visitor), 0) as double)
            as visitor_to_lead_rate,
        cast(count(mql) / nullif(count(lead), 0) as double) as lead_to_mql_rate,
        cast(count(sql) / nullif(count(mql), 0) as double) as mql_to_sql_rate,
        cast(count(opportunity) / nullif(count(sql), 0) as double) as sql_to_opportunity_rate,
        cast(count(won) / nullif(count(opportunity), 0) as double) as opportunity_to_won_rate,
        cast(count(won) / nullif(count(won) + count(lost), 0) as double) as win_rate,
        cast(median(epoch(lead) - epoch(visitor)) / 86400.0 as decimal(10, 2))
            as median_days_visitor_to_lead,
        cast(median(epoch(mql) - epoch(lead)) / 86400.0 as decimal(10, 2))
            as median_days_lead_to_mql,
        cast(median(epoch(sql) - epoch(mql)) / 86400.0 as decimal(10, 2))
            as median_days_mql_to_sql,
        cast(median(epoch(opportunity) - epoch(sql)) / 86400.0 as decimal(10, 2))
            as median_days_sql_to_opportunity,
        cast(median(epoch(won) - epoch(opportunity)) / 86400.0 as decimal(10, 2))
            as median_days_opportunity_to_won

    from cohorts
    group by cohort_month, channel

)

select * from final
