with

spend as (

    select * from {{ ref('int_ads__daily_spend') }}

),

sessions as (

    select * from {{ ref('int_web__sessions') }}

),

funnel as (

    select * from {{ ref('fct_lead_funnel') }}

),

deals as (

    select * from {{ ref('fct_deals') }}

),

spend_daily as (

    select
        date_day,
        channel,
        sum(spend_reporting) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from spend
    group by all

),

sessions_daily as (

    select
        session_date as date_day,
        channel,
        count(*) as sessions
    from sessions
    group by all

),

leads_daily as (

    select
        cast(lead_at as date) as date_day,
        first_touch_channel as channel,
        count(*) as leads
    from funnel
    group by all

),

won_daily as (

    select
        cast(won_at as date) as date_day,
        source_channel as channel,
        count(*) as won_deals,
        sum(amount_reporting) as won_revenue
    from deals
    where won_at is not null
    group by all

),

spine as (

    select
        date_day,
        channel
    from spend_daily
    union
    select
        date_day,
        channel
    from sessions_daily
    union
    select
        date_day,
        channel
    from leads_daily
    union
    select
        date_day,
        channel
    from won_daily

),

final as (

    select
        spine.date_day,
        spine.channel,
        cast(coalesce(spend_daily.spend, 0) as decimal(18, 2)) as spend,
        cast(coalesce(spend_daily.impressions, 0) as bigint) as impressions,
        cast(coalesce(spend_daily.clicks, 0) as bigint) as clicks,
        cast(coalesce(sessions_daily.sessions, 0) as bigint) as sessions,
        cast(coalesce(leads_daily.leads, 0) as bigint) as leads,
        cast(coalesce(won_daily.won_deals, 0) as bigint) as won_deals,
        cast(coalesce(won_daily.won_revenue, 0) as decimal(18, 2)) as won_revenue

    from spine
    left join spend_daily using (date_day, channel)
    left join sessions_daily using (date_day, channel)
    left join leads_daily using (date_day, channel)
    left join won_daily using (date_day, channel)

)

select * from final
