{#- Worked plus never worked is every MQL, and every dimension of the SLA mart adds up to the
    lead funnel's MQLs. -#}
with

mqls as (
    select count(mql_at) as n from {{ ref('fct_lead_funnel') }}
)

select
    dimension,
    dimension_value,
    mqls as observed,
    mqls_worked + mqls_never_worked as expected
from {{ ref('mart_sales_marketing_sla') }}
where mqls_worked + mqls_never_worked <> mqls or mqls_worked_within_sla > mqls_worked
union all
select
    dimension,
    '(all values)',
    sum(mqls),
    (select mqls.n from mqls)
from {{ ref('mart_sales_marketing_sla') }}
group by dimension
having sum(mqls) <> (select mqls.n from mqls)
