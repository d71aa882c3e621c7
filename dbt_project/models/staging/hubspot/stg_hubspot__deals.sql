with

source as (

    select * from {{ source('hubspot', 'deals') }}

),

renamed as (

    select
        record_id as deal_id,
        payload ->> '$.properties.dealname' as deal_name,
        payload ->> '$.properties.pipeline' as pipeline_id,
        payload ->> '$.properties.dealstage' as deal_stage,
        payload ->> '$.properties.hubspot_owner_id' as owner_id,
        cast(payload ->> '$.properties.amount' as decimal(18, 2)) as amount,
        upper(payload ->> '$.properties.deal_currency_code') as currency_code,
        {{ utc_timestamp("payload ->> '$.properties.createdate'") }} as created_at,
        {{ utc_timestamp("payload ->> '$.properties.closedate'") }} as closed_at,
        updated_at

    from source

)

select * from renamed
