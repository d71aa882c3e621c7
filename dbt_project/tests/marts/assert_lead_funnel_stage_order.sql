{#- fct_lead_funnel, one row per broken lead: an MQL date before the lead date, a lead both
    won and lost, or a lead dated in the future. -#}
select
    lead_id,
    lead_at,
    mql_at,
    won_at,
    lost_at,
    case
        when mql_at < lead_at then 'mql_at before lead_at'
        when won_at is not null and lost_at is not null then 'both won and lost'
        else 'lead_at in the future'
    end as problem
from {{ ref('fct_lead_funnel') }}
where
    mql_at < lead_at
    or (won_at is not null and lost_at is not null)
    or lead_at > now()::timestamp
