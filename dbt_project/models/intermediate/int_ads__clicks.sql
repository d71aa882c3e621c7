{#- Ad clicks with their platform click id (Google's gclid from the click_view report), so a
    session tagged with only a click id still joins its campaign: the only reader of
    stg_google_ads__clicks. -#}
with

source_rows as (

    select * from {{ ref('stg_google_ads__clicks') }}

)

select * from source_rows
