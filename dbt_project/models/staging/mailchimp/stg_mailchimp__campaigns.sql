with

source as (

    select * from {{ source('mailchimp', 'campaigns') }}

),

renamed as (

    select
        record_id as campaign_id,
        {{ scrub_pii("payload ->> '$.settings.title'") }} as campaign_name,
        {{ scrub_pii("payload ->> '$.settings.subject_line'") }} as subject_line,
        payload ->> '$.recipients.list_id' as list_id,
        payload ->> '$.status' as status,
        {{ utc_timestamp("payload ->> '$.send_time'") }} as sent_at,
        _loaded_at as loaded_at

    from source

)

select * from renamed
