{#- Cohort month × channel: how many people of a cohort reached each stage (so far), the
    stage-to-stage conversion rates and the median days between stages. A person's cohort is
    the month they entered the funnel (first visit, else becoming a lead); the channel is
    their first touch (`offline` for leads with no visit). Anonymous visitors who never
    converted count as visitors. A stage a lead skipped (no date of its own in the CRM; the
    funnel dates it from the next stage) counts as reached, but the conversion from it and
    the days to and from it count only leads that really passed through it. The SAL stage
    sits between MQL and SQL (MQL -> SAL, SAL -> SQL); MQL -> SQL is kept beside them. -#}
{%- set stage_pairs = [
    ('visitor', 'lead'), ('lead', 'mql'), ('mql', 'sal'), ('sal', 'sql'), ('mql', 'sql'),
    ('sql', 'opportunity'), ('opportunity', 'won'),
] -%}

with

events as (

    select * from {{ ref('fct_funnel_events') }}

),

leads as (

    select * from {{ ref('fct_lead_funnel') }}

),

people as (

    pivot (select
        person_id,
        channel,
        stage,
        stage_at
    from events)
    on stage in ('visitor', 'lead', 'mql', 'sal', 'sql', 'opportunity', 'won', 'lost')
    using min(stage_at)
    group by person_id, channel

),

cohorts as (

    select
        cast(date_trunc('month', coalesce(people.visitor, people.lead)) as date) as cohort_month,
        people.channel,
        people.visitor,
        people.lead,
        people.mql,
        people.sal,
        people.sql,
        people.opportunity,
        people.won,
        people.lost,
        -- passed through a stage: reached it with a date of its own (anonymous visitors and
        -- stages without a skip flag always are)
        true as passed_visitor,
        true as passed_lead,
        not coalesce(leads.is_mql_skipped, false) as passed_mql,
        not coalesce(leads.is_sal_skipped, false) as passed_sal,
        not coalesce(leads.is_sql_skipped, false) as passed_sql,
        not coalesce(leads.is_opportunity_skipped, false) as passed_opportunity,
        true as passed_won

    from people
    left join leads
        on people.person_id = leads.lead_id

),

final as (

    select
        cohort_month,
        channel,
        count(visitor) as visitors,
        count(lead) as leads,
        count(mql) as mqls,
        count(sal) as sals,
        count(sql) as sqls,
        count(opportunity) as opportunities,
        count(won) as won_deals,
        count(lost) as lost_deals,
        -- visitor -> lead counts only leads that had a visit (offline leads have none)
        cast(count(lead) filter (where visitor is not null) / nullif(count(visitor), 0) as double)
            as visitor_to_lead_rate,
        {%- for start, finish in stage_pairs[1:] %}
            cast(
                count({{ finish }}) filter (where passed_{{ start }})
                / nullif(count({{ start }}) filter (where passed_{{ start }}), 0) as double
            ) as {{ start }}_to_{{ finish }}_rate,
        {%- endfor %}
        cast(count(won) / nullif(count(won) + count(lost), 0) as double) as win_rate,
    {%- for start, finish in stage_pairs %}
        cast(
            median(epoch({{ finish }}) - epoch({{ start }})) filter (
                where passed_{{ start }} and passed_{{ finish }}
            ) / 86400.0 as decimal(10, 2)
        ) as median_days_{{ start }}_to_{{ finish }}{{ ',' if not loop.last }}  -- noqa: LT02
    {%- endfor %}
    from cohorts
    group by cohort_month, channel

)

select * from final
