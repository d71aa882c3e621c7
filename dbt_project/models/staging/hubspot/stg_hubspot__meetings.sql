with

source as (

    select * from {{ source('hubspot', 'meetings') }}

),

renamed as (

    select
        {{ hubspot_engagement_columns() }},
        payload ->> '$.properties.hs_meeting_title' as title,
        payload ->> '$.properties.hs_meeting_outcome' as outcome,
        {{ crm_timestamp("payload ->> '$.properties.hs_meeting_start_time'") }} as starts_at,
        {{ crm_timestamp("payload ->> '$.properties.hs_meeting_end_time'") }} as ends_at

    from source

)

select * from renamed
