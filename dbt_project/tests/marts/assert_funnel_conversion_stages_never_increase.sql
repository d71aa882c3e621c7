select
    cohort_month,
    channel,
    leads,
    mqls,
    sals,
    sqls,
    opportunities,
    won_deals,
    lost_deals
from {{ ref('mart_funnel_conversion') }}
where
    mqls > leads or sals > mqls or sqls > sals or opportunities > sqls
    or won_deals + lost_deals > opportunities
