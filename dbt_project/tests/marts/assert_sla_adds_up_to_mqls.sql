{#- Worked, pending and never worked split every MQL; the share's base (elapsed windows)
    holds the never worked and the worked within the SLA, and leaves the pending out; and
    every dimension of the SLA mart adds up to the lead funnel's MQLs. -#}
with

mqls as (
    select count(mql_at) as n from {{ ref('fct_lead_funnel') }}
)

select
    dimension,
    dimension_value,
    mqls as observed,
    mqls_worked + mqls_pending + mqls_never_worked as expected
from {{ ref('mart_sales_marketing_sla') }}
where
    mqls_worked + mqls_pending + mqls_never_worked <> mqls
    or mqls_worked_within_sla > mqls_sla_elapsed
    or mqls_never_worked > mqls_sla_elapsed
    or mqls_pending + mqls_sla_elapsed > mqls
union all
select
    dimension,
    '(all values)',
    sum(mqls),
    (select mqls.n from mqls)
from {{ ref('mart_sales_marketing_sla') }}
group by dimension
having sum(mqls) <> (select mqls.n from mqls)
