with

source as (

    select * from {{ source('hubspot', 'calls') }}

),

renamed as (

    select
        {{ hubspot_engagement_columns() }},
        payload ->> '$.properties.hs_call_direction' as direction,
        payload ->> '$.properties.hs_call_disposition' as disposition,
        cast(payload ->> '$.properties.hs_call_duration' as bigint) as duration_ms,
        payload ->> '$.properties.hs_call_title' as title

    from source

)

select * from renamed
