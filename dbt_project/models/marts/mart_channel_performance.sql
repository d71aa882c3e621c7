{#- Day × channel × campaign: spend and traffic, the lead-source funnel (leads, MQLs, SQLs,
    opportunities and pipeline by the lead's first touch, on the day each stage was reached),
    won revenue by lead source and under each attribution model (on the day the deal was
    won). The ratios (cost per lead, CAC, ROAS) are in mart_unit_economics, at month × channel
    and campaign: per day they were noise. Money is in the reporting currency. -#}
with

spend as (

    select * from {{ ref('int_ads__daily_spend') }}

),

sessions as (

    select * from {{ ref('int_web__sessions') }}

),

leads as (

    select * from {{ ref('fct_lead_funnel') }}

),

deals as (

    select * from {{ ref('fct_deals') }}

),

attribution as (

    select * from {{ ref('fct_attribution') }}

),

campaigns as (

    select * from {{ ref('dim_campaign') }}

),

spend_daily as (

    select
        date_day,
        {{ campaign_key('channel', 'campaign_name') }} as campaign_key,
        sum(spend_reporting) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from spend
    group by all

),

sessions_daily as (

    select
        session_date as date_day,
        campaign_key,
        count(*) as sessions
    from sessions
    group by all

),

stages_daily as (

    unpivot (
        select
            first_touch_campaign_key as campaign_key,
            lead_at as leads,
            mql_at as mqls,
            sql_at as sqls,
            opportunity_at as opportunities
        from leads
    )
    on leads, mqls, sqls, opportunities
    into name stage value stage_at

),

funnel_daily as (

    pivot (
        select
            cast(stage_at as date) as date_day,
            campaign_key,
            stage
        from stages_daily
    )
    on stage in ('leads', 'mqls', 'sqls', 'opportunities')
    using count(*)
    group by date_day, campaign_key

),

pipeline_daily as (

    select
        cast(opportunity_at as date) as date_day,
        source_campaign_key as campaign_key,
        sum(pipeline_amount_reporting) as pipeline_amount
    from deals
    group by all

),

won_daily as (

    select
        cast(won_at as date) as date_day,
        source_campaign_key as campaign_key,
        count(*) as won_deals,
        sum(amount_reporting) as won_revenue
    from deals
    where won_at is not null
    group by all

),

attributed_daily as (

    pivot (
        select
            cast(won_at as date) as date_day,
            {{ campaign_key('channel', 'campaign') }} as campaign_key,
            attribution_model,
            attributed_amount
        from attribution
        where deal_status = 'won'
    )
    on attribution_model in (
        'first_touch', 'last_touch', 'linear', 'u_shaped', 'w_shaped', 'time_decay'
    )
    using sum(attributed_amount)
    group by date_day, campaign_key

),

spine as (

    select
        date_day,
        campaign_key
    from spend_daily
    union
    select
        date_day,
        campaign_key
    from sessions_daily
    union
    select
        date_day,
        campaign_key
    from funnel_daily
    union
    select
        date_day,
        campaign_key
    from pipeline_daily
    union
    select
        date_day,
        campaign_key
    from won_daily
    union
    select
        date_day,
        campaign_key
    from attributed_daily

),

joined as (

    select
        spine.date_day,
        split_part(spine.campaign_key, ':', 1) as channel,
        substr(spine.campaign_key, strpos(spine.campaign_key, ':') + 1) as campaign,
        spine.campaign_key,
        cast(coalesce(spend_daily.spend, 0) as decimal(18, 2)) as spend,
        cast(coalesce(spend_daily.impressions, 0) as bigint) as impressions,
        cast(coalesce(spend_daily.clicks, 0) as bigint) as clicks,
        cast(coalesce(sessions_daily.sessions, 0) as bigint) as sessions,
        cast(coalesce(funnel_daily.leads, 0) as bigint) as leads,
        cast(coalesce(funnel_daily.mqls, 0) as bigint) as mqls,
        cast(coalesce(funnel_daily.sqls, 0) as bigint) as sqls,
        cast(coalesce(funnel_daily.opportunities, 0) as bigint) as opportunities,
        cast(coalesce(pipeline_daily.pipeline_amount, 0) as decimal(18, 2)) as pipeline_amount,
        cast(coalesce(won_daily.won_deals, 0) as bigint) as won_deals,
        cast(coalesce(won_daily.won_revenue, 0) as decimal(18, 2)) as won_revenue,
        cast(coalesce(attributed_daily.first_touch, 0) as decimal(18, 2)) as revenue_first_touch,
        cast(coalesce(attributed_daily.last_touch, 0) as decimal(18, 2)) as revenue_last_touch,
        cast(coalesce(attributed_daily.linear, 0) as decimal(18, 2)) as revenue_linear,
        cast(coalesce(attributed_daily.u_shaped, 0) as decimal(18, 2)) as revenue_u_shaped,
        cast(coalesce(attributed_daily.w_shaped, 0) as decimal(18, 2)) as revenue_w_shaped,
        cast(coalesce(attributed_daily.time_decay, 0) as decimal(18, 2)) as revenue_time_decay

    from spine
    left join spend_daily using (date_day, campaign_key)
    left join sessions_daily using (date_day, campaign_key)
    left join funnel_daily using (date_day, campaign_key)
    left join pipeline_daily using (date_day, campaign_key)
    left join won_daily using (date_day, campaign_key)
    left join attributed_daily using (date_day, campaign_key)

),

final as (

    select
        joined.*,
        -- no per-day ratios here (a CAC or ROAS of one day × campaign means little): they
        -- live in mart_unit_economics, computed from monthly sums
        campaigns.platform,
        campaigns.channel_group

    from joined
    left join campaigns
        on joined.campaign_key = campaigns.campaign_key

)

select * from final
