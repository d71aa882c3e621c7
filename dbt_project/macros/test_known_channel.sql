{#- Every value is a channel of the seed `channels` whose origin is one of `origins` (web,
    offline, sales, none): adding a channel is one row in channels.csv. Returns the unknown
    values with their row counts. -#}
{% test known_channel(model, column_name, origins) %}

select {{ column_name }} as unknown_channel, count(*) as rows_affected
from {{ model }}
where {{ column_name }} is not null
    and {{ column_name }} not in (
        select channel from {{ ref('channels') }}
        where origin in ({% for origin in origins %}'{{ origin }}'{{ "," if not loop.last }}{% endfor %})
    )
group by 1

{% endtest %}
