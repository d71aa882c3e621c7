{#- Per day, the campaign grain adds up to the channel grain (a day missing in one mart is a
    day of zeros there, e.g. a day of CRM activity only). -#}
with

performance as (
    select
        date_day,
        sum(spend) as spend,
        sum(sessions) as sessions,
        sum(leads) as leads,
        sum(won_revenue) as won_revenue
    from {{ ref('mart_channel_performance') }}
    group by date_day
),

daily as (
    select
        date_day,
        sum(spend) as spend,
        sum(sessions) as sessions,
        sum(leads) as leads,
        sum(won_revenue) as won_revenue
    from {{ ref('mart_channel_daily') }}
    group by date_day
)

select
    date_day,
    p.spend,
    d.spend as daily_spend,
    p.sessions,
    d.sessions as daily_sessions,
    p.leads,
    d.leads as daily_leads,
    p.won_revenue,
    d.won_revenue as daily_won_revenue
from performance as p
full join daily as d using (date_day)
where
    coalesce(p.spend, 0) <> coalesce(d.spend, 0)
    or coalesce(p.sessions, 0) <> coalesce(d.sessions, 0)
    or coalesce(p.leads, 0) <> coalesce(d.leads, 0)
    or coalesce(p.won_revenue, 0) <> coalesce(d.won_revenue, 0)
