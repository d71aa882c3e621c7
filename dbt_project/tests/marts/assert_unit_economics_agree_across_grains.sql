{#- mart_unit_economics agrees with the other marts per month: bookings with
    mart_revenue_summary, MQLs with mart_lead_disposition (and, per campaign, with
    mart_channel_performance through it), spend with mart_channel_daily. -#}
with

economics as (

    select
        month,
        sum(won_revenue) as bookings,
        sum(mqls) as mqls,
        sum(spend) as spend
    from {{ ref('mart_unit_economics') }}
    where grain = 'channel'
    group by month

),

revenue as (

    select
        month,
        bookings
    from {{ ref('mart_revenue_summary') }}

),

disposition as (

    select
        mql_month as month,
        sum(mqls) as mqls
    from {{ ref('mart_lead_disposition') }}
    group by all

),

daily as (

    select
        cast(date_trunc('month', date_day) as date) as month,
        sum(spend) as spend
    from {{ ref('mart_channel_daily') }}
    group by all

),

campaign_mqls as (

    select
        mql_month as month,
        campaign_key,
        sum(mqls) as mqls
    from {{ ref('mart_lead_disposition') }}
    group by all

)

select
    'bookings' as figure,
    month,
    economics.bookings as observed,
    revenue.bookings as expected
from economics
full join revenue using (month)
where coalesce(economics.bookings, 0) <> coalesce(revenue.bookings, 0)
union all
select
    'mqls',
    month,
    economics.mqls,
    disposition.mqls
from economics
full join disposition using (month)
where coalesce(economics.mqls, 0) <> coalesce(disposition.mqls, 0)
union all
select
    'spend',
    month,
    economics.spend,
    daily.spend
from economics
full join daily using (month)
where coalesce(economics.spend, 0) <> coalesce(daily.spend, 0)
union all
select
    'mqls ' || coalesce(u.campaign_key, c.campaign_key),
    coalesce(u.month, c.month),
    u.mqls,
    c.mqls
from (
    select
        month,
        campaign_key,
        mqls
    from {{ ref('mart_unit_economics') }}
    where grain = 'campaign' and mqls > 0
) as u
full join campaign_mqls as c
    on u.month = c.month and u.campaign_key = c.campaign_key
where u.mqls is distinct from c.mqls
