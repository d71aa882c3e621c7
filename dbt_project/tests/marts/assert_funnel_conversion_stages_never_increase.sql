select
    cohort_month,
    channel,
    leads,
    mqls,
    sqls,
    opportunities,
    won_deals,
    lost_deals
from {{ ref('mart_funnel_conversion') }}
where
    mqls > leads or sqls > mqls or opportunities > sqls
    or won_deals + lost_deals > opportunities
