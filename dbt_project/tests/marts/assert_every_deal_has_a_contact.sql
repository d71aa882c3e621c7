{#- No orphan opportunity: a deal without an associated contact has no lead, no source and
    no attribution; its revenue would reach the marts unexplained. -#}
select deals.deal_id
from {{ ref('stg_hubspot__deals') }} as deals
anti join {{ ref('stg_hubspot__deal_contacts') }} as contacts
    on contacts.deal_id = deals.deal_id
