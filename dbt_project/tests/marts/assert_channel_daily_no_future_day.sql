select
    date_day,
    channel
from {{ ref('mart_channel_daily') }}
where date_day > current_date
