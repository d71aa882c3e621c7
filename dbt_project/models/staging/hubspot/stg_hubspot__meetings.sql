with

source as (

    select * from {{ source('hubspot', 'meetings') }}

),

renamed as (

    select
        record_id as engagement_id,
        payload ->> '$.properties.hubspot_owner_id' as owner_id,
        {{ utc_timestamp("payload ->> '$.properties.hs_timestamp'") }} as occurred_at,
        payload ->> '$.properties.hs_meeting_title' as title,
        payload ->> '$.properties.hs_meeting_outcome' as outcome,
        {{ utc_timestamp("payload ->> '$.properties.hs_meeting_start_time'") }} as starts_at,
        {{ utc_timestamp("payload ->> '$.properties.hs_meeting_end_time'") }} as ends_at,
        list_transform(
            from_json(payload -> '$.associations.contacts.results', '[{"id": "VARCHAR"}]'),
            lambda association: association.id
        ) as contact_ids,
        updated_at,
        cast(payload ->> '$.archived' as boolean) as is_archived

    from source

)

select * from renamed
