{#- The service level between marketing and sales, by owner, by lead source and in total,
    with the follow-up SLA of int_crm__lead_dispositions (its one home): the SLA clock starts
    at the lead's current MQL episode (a recycled lead that qualifies again restarts it, and
    only sales touches since then answer it), the window (var sla_hours, default 24) elapses
    on the CRM's clock, and the share worked within the SLA counts only the MQLs whose window
    has elapsed. MQLs are worked, pending (unworked, window open) or never worked (unworked,
    window elapsed), as mart_lead_disposition counts them. Lead quality: MQL -> opportunity
    rate and win rate. Settles "bad leads" (low MQL -> opportunity) versus "leads never
    worked". -#}
{%- set sla_hours = var('sla_hours', 24) -%}

with

leads as (

    select * from {{ ref('fct_lead_funnel') }}

),

dispositions as (

    select * from {{ ref('int_crm__lead_dispositions') }}

),

mqls as (

    select
        leads.lead_id,
        coalesce(leads.owner_id, '(unassigned)') as owner_id,
        leads.first_touch_channel as lead_source,
        dispositions.disposition,
        dispositions.is_within_sla_window,
        dispositions.is_worked_within_sla,
        dispositions.hours_to_first_touch,
        leads.opportunity_at,
        leads.won_at,
        leads.lost_at

    from leads
    inner join dispositions
        on leads.lead_id = dispositions.contact_id
    where leads.mql_at is not null

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
        count(*) filter (where disposition = 'pending') as mqls_pending,
        count(*) filter (where disposition = 'never_worked') as mqls_never_worked,
        count(*) filter (where not is_within_sla_window) as mqls_sla_elapsed,
        count(*) filter (where not is_within_sla_window and is_worked_within_sla)
            as mqls_worked_within_sla,
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
        mqls - mqls_pending - mqls_never_worked as mqls_worked,
        mqls_pending,
        mqls_sla_elapsed,
        mqls_worked_within_sla,
        cast(mqls_worked_within_sla / nullif(mqls_sla_elapsed, 0) as double)
            as share_worked_within_sla,
        mqls_never_worked,
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
