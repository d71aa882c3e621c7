with

source as (

    select * from {{ source('hubspot', 'calls') }}

),

renamed as (

    select
        record_id as engagement_id,
        payload ->> '$.properties.hubspot_owner_id' as owner_id,
        {{ utc_timestamp("payload ->> '$.properties.hs_timestamp'") }} as occurred_at,
        payload ->> '$.properties.hs_call_direction' as direction,
        payload ->> '$.properties.hs_call_disposition' as disposition,
        cast(payload ->> '$.properties.hs_call_duration' as bigint) as duration_ms,
        payload ->> '$.properties.hs_call_title' as title,
        list_transform(
            from_json(payload -> '$.associations.contacts.results', '[{"id": "VARCHAR"}]'),
            lambda association: association.id
        ) as contact_ids,
        updated_at,
        cast(payload ->> '$.archived' as boolean) as is_archived

    from source

)

select * from renamed
