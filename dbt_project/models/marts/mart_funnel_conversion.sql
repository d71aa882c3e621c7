{#- Cohort month × channel: how many people of a cohort reached each stage (so far), the
    stage-to-stage conversion rates and the median days between stages. A person's cohort is
    the month they entered the funnel (first visit, else becoming a lead); the channel is
    their first touch (`offline` for leads with no visit). Anonymous visitors who never
    converted count as visitors. -#}
{%- set stage_pairs = [
    ('visitor', 'lead'), ('lead', 'mql'), ('mql', 'sql'), ('sql', 'opportunity'),
    ('opportunity', 'won'),
] -%}

with

events as (

    select * from {{ ref('fct_funnel_events') }}

),

people as (

    pivot (select
        person_id,
        channel,
        stage,
        stage_at
    from events)
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
        {%- for start, finish in stage_pairs[1:] %}
            cast(count({{ finish }}) / nullif(count({{ start }}), 0) as double)
                as {{ start }}_to_{{ finish }}_rate,
        {%- endfor %}
        cast(count(won) / nullif(count(won) + count(lost), 0) as double) as win_rate,
    {%- for start, finish in stage_pairs %}
        cast(median(epoch({{ finish }}) - epoch({{ start }})) / 86400.0 as decimal(10, 2))
            as median_days_{{ start }}_to_{{ finish }}{{ ',' if not loop.last }}  -- noqa: LT02
    {%- endfor %}
    from cohorts
    group by cohort_month, channel

)

select * from final
