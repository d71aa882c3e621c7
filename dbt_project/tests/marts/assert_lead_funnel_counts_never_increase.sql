{#- The funnel narrows: never more MQLs than leads, SQLs than MQLs, and so on. -#}
select *
from (
    select
        count(*) as leads,
        count(mql_at) as mqls,
        count(sql_at) as sqls,
        count(opportunity_at) as opportunities,
        count(won_at) as won
    from {{ ref('fct_lead_funnel') }}
)
where mqls > leads or sqls > mqls or opportunities > sqls or won > opportunities
