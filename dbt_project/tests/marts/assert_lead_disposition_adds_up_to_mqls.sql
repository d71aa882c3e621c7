{#- Every MQL has exactly one disposition: the five categories add up to the MQLs in each row
    of mart_lead_disposition, and the rejected split by status adds up to the rejected. -#}
select
    mql_month,
    campaign_key,
    owner_id,
    mqls,
    accepted + rejected + worked_undecided + pending + never_worked as categorised,
    rejected,
    rejected_unqualified + rejected_bad_timing as rejected_by_status
from {{ ref('mart_lead_disposition') }}
where
    accepted + rejected + worked_undecided + pending + never_worked <> mqls
    or rejected_unqualified + rejected_bad_timing <> rejected
    or accepted > mqls
