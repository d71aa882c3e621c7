select
    person_id,
    stage
from {{ ref('fct_funnel_events') }}
where is_anonymous and stage <> 'visitor'
