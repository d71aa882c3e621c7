{#- The service level between marketing and sales, by owner, by lead source and in total:
    how fast sales first touched each MQL (calls, sales e-mails, meetings at or after the
    MQL date), the share worked within the SLA (var sla_hours, default 24), MQLs never
    worked (no sales touch yet), and lead quality: MQL -> opportunity rate and win rate.
    Settles "bad leads" (low MQL -> opportunity) versus "leads never worked". -#}
{%- set sla_hours = var('sla_hours', 24) -%}

with

leads as (

    select * from {{ ref('fct_lead_funnel') }}

),

mqls as (

    select
        lead_id,
        coalesce(owner_id, '(unassigned)') as owner_id,
        first_touch_channel as lead_source,
        mql_at,
        first_sales_touch_at,
        (epoch(first_sales_touch_at) - epoch(mql_at)) / 3600.0 as hours_to_first_touch,
        opportunity_at,
        won_at,
        lost_at

    from leads
    where mql_at is not null

),

by_dimension as (

    select
        'owner' as dimension,
        owner_id as dimension_value,
        *
    from mqls
    union all
    select
        'lead_source',
        lead_source,
        *
    from mqls
    union all
    select
        'total',
        'all',
        *
    from mqls

),

counted as (

    select
        dimension,
        dimension_value,
        count(*) as mqls,
        count(first_sales_touch_at) as mqls_worked,
        count(*) filter (where hours_to_first_touch <= {{ sla_hours }}) as mqls_worked_within_sla,
        cast(median(hours_to_first_touch) as decimal(10, 2)) as median_hours_to_first_touch,
        cast(quantile_cont(hours_to_first_touch, 0.9) as decimal(10, 2))
            as p90_hours_to_first_touch,
        count(opportunity_at) as opportunities,
        count(won_at) as won_deals,
        count(lost_at) as lost_deals

    from by_dimension
    group by dimension, dimension_value

),

final as (

    select
        dimension,
        dimension_value,
        cast({{ sla_hours }} as decimal(10, 2)) as sla_hours,
        mqls,
        mqls_worked,
        mqls_worked_within_sla,
        cast(mqls_worked_within_sla / mqls as double) as share_worked_within_sla,
        mqls - mqls_worked as mqls_never_worked,
        median_hours_to_first_touch,
        p90_hours_to_first_touch,
        opportunities,
        cast(opportunities / mqls as double) as mql_to_opportunity_rate,
        won_deals,
        lost_deals,
        cast(won_deals / nullif(won_deals + lost_deals, 0) as double) as win_rate

    from counted

)

select * from final
