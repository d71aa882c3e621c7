{#- The funnel's SALs and mart_lead_disposition's accepted MQLs are one count where their
    grains meet. Per lead source (both are by the lead's first touch; the funnel's months are
    cohorts, the disposition's MQL months, so only the totals per source meet): the funnel's
    SALs = the accepted MQLs + the leads that reached SQL in an earlier MQL episode and are not
    accepted in their current one (the funnel keeps their first acceptance). Per lead: an
    accepted MQL whose SQL (if any) came in its current episode has the disposition's SAL date
    and skipped flag in the funnel, and no lead is a SAL in the funnel without being an MQL
    there. -#}
with

funnel as (

    select
        channel as lead_source,
        sum(sals) as sals
    from {{ ref('mart_funnel_conversion') }}
    group by all
    having sum(sals) > 0

),

leads as (

    select * from {{ ref('fct_lead_funnel') }}

),

dispositions as (

    select * from {{ ref('fct_lead_disposition') }}

),

accepted as (

    select
        lead_source,
        sum(accepted) as accepted
    from {{ ref('mart_lead_disposition') }}
    group by all

),

-- SALs of an earlier MQL episode that the current one has not accepted (again)
earlier_sals as (

    select
        leads.first_touch_channel as lead_source,
        count(*) as sals
    from leads
    inner join dispositions
        on leads.lead_id = dispositions.lead_id
    where
        leads.sql_at < dispositions.mql_started_at
        and dispositions.disposition <> 'accepted'
    group by all

),

by_lead_source as (

    select
        'lead source' as grain,
        coalesce(funnel.lead_source, accepted.lead_source, earlier_sals.lead_source) as item,
        funnel.sals as funnel_sals,
        coalesce(accepted.accepted, 0) + coalesce(earlier_sals.sals, 0) as disposition_sals
    from funnel
    full join accepted
        on funnel.lead_source = accepted.lead_source
    full join earlier_sals
        on coalesce(funnel.lead_source, accepted.lead_source) = earlier_sals.lead_source
    where
        coalesce(funnel.sals, 0)
        <> coalesce(accepted.accepted, 0) + coalesce(earlier_sals.sals, 0)

),

by_lead as (

    select
        'lead' as grain,
        leads.lead_id as item,
        null as funnel_sals,
        null as disposition_sals
    from leads
    left join dispositions
        on leads.lead_id = dispositions.lead_id
    where
        (leads.sal_at is not null and dispositions.lead_id is null)
        or (
            dispositions.disposition = 'accepted'
            and not coalesce(leads.sql_at < dispositions.mql_started_at, false)
            and (
                leads.sal_at is distinct from dispositions.sal_at
                or leads.is_sal_skipped <> dispositions.is_sal_skipped
            )
        )

)

select * from by_lead_source
union all
select * from by_lead
