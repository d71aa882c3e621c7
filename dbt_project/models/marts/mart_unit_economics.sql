{#- Unit economics at a grain where the ratios mean something: month × channel, and month ×
    campaign (column grain). Spend and the lead-source funnel come from
    mart_channel_performance summed over the month (so they agree with it and with
    mart_channel_daily); bookings by lead source on the won date; under each attribution
    model the won revenue, the won deals credited (fractional: a deal's credit weights sum to
    1) and the attributed pipeline of won and still-open deals (lost deals get no credit) on
    the opportunity's creation date, at that date's rate. Ratios are recomputed at each grain from the summed
    components, never averaged. Payback: months of the won customers' revenue (a deal's
    amount spread over var contract_months, default 12) needed to earn back the spend.
    Money is in the reporting currency. -#}
{%- set models = ['first_touch', 'last_touch', 'linear', 'u_shaped', 'w_shaped', 'time_decay'] -%}
{%- set contract_months = var('contract_months', 12) -%}

with

performance as (

    select * from {{ ref('mart_channel_performance') }}

),

attribution as (

    select * from {{ ref('fct_attribution') }}

),

monthly as (

    select
        cast(date_trunc('month', date_day) as date) as month,
        campaign_key,
        sum(spend) as spend,
        sum(leads) as leads,
        sum(mqls) as mqls,
        sum(opportunities) as opportunities,
        sum(pipeline_amount) as pipeline_lead_source,
        sum(won_deals) as won_deals,
        sum(won_revenue) as won_revenue,
    {%- for m in models %}
        sum(revenue_{{ m }}) as revenue_{{ m }}{{ ',' if not loop.last }}  -- noqa: LT02
    {%- endfor %}
    from performance
    group by all

),

credited_deals as (

    pivot (
        select
            cast(date_trunc('month', won_at) as date) as month,
            {{ campaign_key('channel', 'campaign') }} as campaign_key,
            attribution_model,
            credit_weight
        from attribution
        where deal_status = 'won'
    )
    on attribution_model in (
        {%- for m in models %}
        '{{ m }}'{{ ',' if not loop.last }}  -- noqa: LT02
    {%- endfor %}
    )
    using sum(credit_weight)
    group by month, campaign_key

),

attributed_pipeline as (

    pivot (
        select
            cast(date_trunc('month', opportunity_at) as date) as month,
            {{ campaign_key('channel', 'campaign') }} as campaign_key,
            attribution_model,
            attributed_pipeline_amount
        from attribution
    )
    on attribution_model in (
        {%- for m in models %}
        '{{ m }}'{{ ',' if not loop.last }}  -- noqa: LT02
    {%- endfor %}
    )
    using sum(attributed_pipeline_amount)
    group by month, campaign_key

),

spine as (

    select
        month,
        campaign_key
    from monthly
    union
    select
        month,
        campaign_key
    from credited_deals
    union
    select
        month,
        campaign_key
    from attributed_pipeline

),

by_campaign as (

    select
        spine.month,
        split_part(spine.campaign_key, ':', 1) as channel,
        substr(spine.campaign_key, strpos(spine.campaign_key, ':') + 1) as campaign,
        spine.campaign_key,
        coalesce(monthly.spend, 0) as spend,
        coalesce(monthly.leads, 0) as leads,
        coalesce(monthly.mqls, 0) as mqls,
        coalesce(monthly.opportunities, 0) as opportunities,
        coalesce(monthly.pipeline_lead_source, 0) as pipeline_lead_source,
        coalesce(monthly.won_deals, 0) as won_deals,
        coalesce(monthly.won_revenue, 0) as won_revenue,
    {%- for m in models %}
        coalesce(monthly.revenue_{{ m }}, 0) as revenue_{{ m }},
        coalesce(credited_deals.{{ m }}, 0) as won_deals_{{ m }},
        coalesce(attributed_pipeline.{{ m }}, 0)
            as pipeline_{{ m }}{{ ',' if not loop.last }}  -- noqa: LT02
    {%- endfor %}

    from spine
    left join monthly using (month, campaign_key)
    left join credited_deals using (month, campaign_key)
    left join attributed_pipeline using (month, campaign_key)

),

grains as (

    select
        'campaign' as grain,
        *
    from by_campaign
    union all
    select
        'channel',
        month,
        channel,
        '(all)',
        channel || ':(all)',
        sum(spend),
        sum(leads),
        sum(mqls),
        sum(opportunities),
        sum(pipeline_lead_source),
        sum(won_deals),
        sum(won_revenue),
    {%- for m in models %}
        sum(revenue_{{ m }}),
        sum(won_deals_{{ m }}),
        sum(pipeline_{{ m }}){{ ',' if not loop.last }}  -- noqa: LT02
    {%- endfor %}
    from by_campaign
    group by month, channel

),

final as (

    select
        grain,
        month,
        channel,
        campaign,
        campaign_key,
        cast(spend as decimal(18, 2)) as spend,
        cast(leads as bigint) as leads,
        cast(mqls as bigint) as mqls,
        cast(opportunities as bigint) as opportunities,
        cast(pipeline_lead_source as decimal(18, 2)) as pipeline_lead_source,
        cast(won_deals as bigint) as won_deals,
        cast(won_revenue as decimal(18, 2)) as won_revenue,
        cast(spend / nullif(leads, 0) as decimal(18, 2)) as cost_per_lead,
        cast(spend / nullif(mqls, 0) as decimal(18, 2)) as cost_per_mql,
        -- customer acquisition cost by lead source: spend per deal won from the channel's leads
        cast(spend / nullif(won_deals, 0) as decimal(18, 2)) as cac_lead_source,
        cast(won_revenue / nullif(spend, 0) as decimal(18, 4)) as roas_lead_source,
        cast(
            spend * {{ contract_months }} / nullif(won_revenue, 0) as decimal(10, 2)
        ) as payback_months,
    {%- for m in models %}
        cast(revenue_{{ m }} as decimal(18, 2)) as revenue_{{ m }},
        cast(won_deals_{{ m }} as decimal(18, 4)) as won_deals_{{ m }},
        cast(pipeline_{{ m }} as decimal(18, 2)) as pipeline_{{ m }},
        cast(spend / nullif(won_deals_{{ m }}, 0) as decimal(18, 2)) as cac_{{ m }},
        cast(revenue_{{ m }} / nullif(spend, 0) as decimal(18, 4))
            as roas_{{ m }}{{ ',' if not loop.last }}  -- noqa: LT02
    {%- endfor %}

    from grains

)

select * from final
