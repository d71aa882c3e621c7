with

source as (

    select * from {{ source('hubspot', 'emails') }}

),

renamed as (

    select
        {{ hubspot_engagement_columns() }},
        payload ->> '$.properties.hs_email_direction' as direction,
        payload ->> '$.properties.hs_email_subject' as title

    from source

)

select * from renamed
