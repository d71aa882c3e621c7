{#- Each plan row names its month by the month's first day: two rows for one month under
    different days would add up twice in mart_targets_pacing. -#}
select
    month,
    channel
from {{ ref('plan_targets') }}
where month <> cast(date_trunc('month', month) as date)
