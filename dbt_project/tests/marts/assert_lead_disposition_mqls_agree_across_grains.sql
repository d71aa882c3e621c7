{#- The disposition mart's MQLs agree with the other marts at every grain they share: per
    month × campaign with mart_channel_performance (MQLs on the day of the first MQL date)
    and per lead with fct_lead_funnel (per owner, lead source and in total with
    mart_sales_marketing_sla: assert_sla_agrees_with_lead_disposition). -#}
with

disposition as (

    select
        mql_month,
        campaign_key,
        sum(mqls) as mqls
    from {{ ref('mart_lead_disposition') }}
    group by all

),

performance as (

    select
        cast(date_trunc('month', date_day) as date) as mql_month,
        campaign_key,
        sum(mqls) as mqls
    from {{ ref('mart_channel_performance') }}
    group by all
    having sum(mqls) > 0

),

by_month_campaign as (

    select
        'month x campaign' as grain,
        coalesce(disposition.mql_month, performance.mql_month) as mql_month,
        coalesce(disposition.campaign_key, performance.campaign_key) as campaign_key,
        disposition.mqls as disposition_mqls,
        performance.mqls as other_mqls
    from disposition
    full join performance
        on
            disposition.mql_month = performance.mql_month
            and disposition.campaign_key = performance.campaign_key
    where disposition.mqls is distinct from performance.mqls

),

by_lead as (

    select
        'lead' as grain,
        null as mql_month,
        coalesce(d.lead_id, f.lead_id) as campaign_key,
        count(d.lead_id) as disposition_mqls,
        count(f.lead_id) as other_mqls
    from {{ ref('fct_lead_disposition') }} as d
    full join (  -- noqa: ST05
        select lead_id from {{ ref('fct_lead_funnel') }}
        where mql_at is not null
    ) as f
        on d.lead_id = f.lead_id
    where d.lead_id is null or f.lead_id is null
    group by all

)

select * from by_month_campaign
union all
select * from by_lead
