{#- Pipeline created equals the deals' amounts at their creation date's rate, in the
    performance, revenue and pacing marts. -#}
with

deals as (
    select coalesce(sum(pipeline_amount_reporting), 0) as amount from {{ ref('fct_deals') }}
),

figures as (
    select
        'mart_channel_performance.pipeline_amount' as figure,
        coalesce(sum(pipeline_amount), 0) as observed
    from {{ ref('mart_channel_performance') }}
    union all
    select
        'mart_revenue_summary.pipeline_created',
        coalesce(sum(pipeline_created), 0)
    from {{ ref('mart_revenue_summary') }}
)

select
    figures.figure,
    figures.observed,
    deals.amount as expected
from figures, deals
where figures.observed is distinct from deals.amount
