{#- Web analytics events, vendor-neutral: the only reader of stg_ga4__events (incremental
    models downstream filter on its _loaded_at). -#}
with

source_rows as (

    select * from {{ ref('stg_ga4__events') }}

)

select * from source_rows
