{#- fct_lead_funnel, one row per broken lead: an MQL date before the lead date, a SAL date
    outside MQL..SQL, an SQL without a SAL before it (every SQL was accepted first), a SAL
    without an MQL, a lead both won and lost, or a lead dated in the future. -#}
select
    lead_id,
    lead_at,
    mql_at,
    sal_at,
    sql_at,
    won_at,
    lost_at,
    case
        when mql_at < lead_at then 'mql_at before lead_at'
        when sal_at < mql_at then 'sal_at before mql_at'
        when sql_at < sal_at then 'sql_at before sal_at'
        when sql_at is not null and sal_at is null then 'sql without sal'
        when sal_at is not null and mql_at is null then 'sal without mql'
        when won_at is not null and lost_at is not null then 'both won and lost'
        else 'lead_at in the future'
    end as problem
from {{ ref('fct_lead_funnel') }}
where
    mql_at < lead_at
    or sal_at < mql_at
    or sql_at < sal_at
    or (sql_at is not null and sal_at is null)
    or (sal_at is not null and mql_at is null)
    or (won_at is not null and lost_at is not null)
    or lead_at > now()::timestamp
