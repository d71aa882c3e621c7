{#- The funnel narrows: never more MQLs than leads, SALs than MQLs, SQLs than SALs, and so
    on. -#}
select *
from (
    select
        count(*) as leads,
        count(mql_at) as mqls,
        count(sal_at) as sals,
        count(sql_at) as sqls,
        count(opportunity_at) as opportunities,
        count(won_at) as won
    from {{ ref('fct_lead_funnel') }}
)
where
    mqls > leads or sals > mqls or sqls > sals or opportunities > sqls or won > opportunities
