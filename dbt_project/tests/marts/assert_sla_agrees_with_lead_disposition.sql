{#- mart_sales_marketing_sla and mart_lead_disposition report one follow-up SLA (defined in
    int_crm__lead_dispositions): per owner, per lead source and in total, their MQLs,
    pending, never worked, elapsed SLA windows and MQLs worked within the SLA agree. -#}
with

disposition as (

    select * from {{ ref('mart_lead_disposition') }}

),

sla as (

    select * from {{ ref('mart_sales_marketing_sla') }}

),

disposition_by_dimension as (

    select
        'owner' as dimension,
        owner_id as dimension_value,
        *
    from disposition
    union all
    select
        'lead_source',
        lead_source,
        *
    from disposition
    union all
    select
        'total',
        'all',
        *
    from disposition

),

disposition_counts as (

    select
        dimension,
        dimension_value,
        sum(mqls) as mqls,
        sum(pending) as pending,
        sum(never_worked) as never_worked,
        sum(mqls_sla_elapsed) as sla_elapsed,
        sum(worked_within_sla) as worked_within_sla
    from disposition_by_dimension
    group by dimension, dimension_value

),

compared as (

    select
        coalesce(disposition_counts.dimension, sla.dimension) as dimension,
        coalesce(disposition_counts.dimension_value, sla.dimension_value) as dimension_value,
        disposition_counts.mqls as disposition_mqls,
        sla.mqls as sla_mqls,
        disposition_counts.pending as disposition_pending,
        sla.mqls_pending as sla_pending,
        disposition_counts.never_worked as disposition_never_worked,
        sla.mqls_never_worked as sla_never_worked,
        disposition_counts.sla_elapsed as disposition_sla_elapsed,
        sla.mqls_sla_elapsed as sla_sla_elapsed,
        disposition_counts.worked_within_sla as disposition_worked_within_sla,
        sla.mqls_worked_within_sla as sla_worked_within_sla
    from disposition_counts
    full join sla
        on
            disposition_counts.dimension = sla.dimension
            and disposition_counts.dimension_value = sla.dimension_value

)

select * from compared
where
    disposition_mqls is distinct from sla_mqls
    or disposition_pending is distinct from sla_pending
    or disposition_never_worked is distinct from sla_never_worked
    or disposition_sla_elapsed is distinct from sla_sla_elapsed
    or disposition_worked_within_sla is distinct from sla_worked_within_sla
