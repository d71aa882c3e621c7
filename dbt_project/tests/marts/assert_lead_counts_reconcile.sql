{#- Leads, MQLs, SALs and visitors are one count in every mart: the lead funnel is the
    reference (SALs against mart_lead_disposition: assert_funnel_sals_reconcile). -#}
with

funnel as (
    select
        count(*) as leads,
        count(mql_at) as mqls,
        count(sal_at) as sals,
        count(won_at) as won
    from {{ ref('fct_lead_funnel') }}
),

figures as (
    select
        'mart_channel_daily.leads' as figure,
        coalesce(sum(leads), 0) as observed,
        (select funnel.leads from funnel) as expected
    from {{ ref('mart_channel_daily') }}
    union all
    select
        'mart_funnel_conversion.leads',
        coalesce(sum(leads), 0),
        (select funnel.leads from funnel)
    from {{ ref('mart_funnel_conversion') }}
    union all
    select
        'mart_account_journey.contacts',
        coalesce(sum(contacts), 0),
        (select funnel.leads from funnel)
    from {{ ref('mart_account_journey') }}
    union all
    select
        'fct_funnel_events lead events',
        count(*),
        (select funnel.leads from funnel)
    from {{ ref('fct_funnel_events') }}
    where stage = 'lead'
    union all
    select
        'mart_funnel_conversion.sals',
        coalesce(sum(sals), 0),
        (select funnel.sals from funnel)
    from {{ ref('mart_funnel_conversion') }}
    union all
    select
        'fct_funnel_events sal events',
        count(*),
        (select funnel.sals from funnel)
    from {{ ref('fct_funnel_events') }}
    where stage = 'sal'
    union all
    select
        'fct_funnel_events won events',
        count(*),
        (select funnel.won from funnel)
    from {{ ref('fct_funnel_events') }}
    where stage = 'won'
    union all
    select
        'mart_channel_performance.mqls',
        coalesce(sum(mqls), 0),
        (select funnel.mqls from funnel)
    from {{ ref('mart_channel_performance') }}
    union all
    select
        'mart_funnel_conversion.visitors',
        coalesce(sum(visitors), 0),
        (
            select count(*) from {{ ref('fct_funnel_events') }} as visitor_events
            where visitor_events.stage = 'visitor'
        )
    from {{ ref('mart_funnel_conversion') }}
)

select * from figures
where observed is distinct from expected
