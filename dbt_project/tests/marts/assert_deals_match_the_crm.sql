{#- Every CRM deal is in fct_deals once, and a closed deal is always priced. -#}
select
    'deal count' as problem,
    null as deal_id,
    (select count(*) from {{ ref('fct_deals') }}) as observed,
    (select count(*) from {{ ref('stg_hubspot__deals') }}) as expected
where observed <> expected
union all
select
    'closed deal without amount',
    deal_id,
    null,
    null
from {{ ref('fct_deals') }}
where
    (deal_amount is null or amount_reporting is null or pipeline_amount_reporting is null)
    and deal_status <> 'open'
