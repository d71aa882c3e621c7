with

source as (

    select * from {{ source('mailchimp', 'email_activity') }}

),

renamed as (

    select
        record_id as activity_id,
        payload ->> '$.campaign_id' as campaign_id,
        payload ->> '$.list_id' as list_id,
        payload ->> '$.email_address' as email_address,
        payload ->> '$.action' as action,
        {{ scrub_pii("nullif(payload ->> '$.url', '')") }} as url,
        {{ utc_timestamp("payload ->> '$.timestamp'") }} as occurred_at,
        record_date as activity_date,
        _loaded_at as loaded_at

    from source

)

select * from renamed
