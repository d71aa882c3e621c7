{#- The deal -> contact associations the connector attached to each deal (v4 batch read),
    one row per pair, in the order HubSpot returned them. -#}
with

source as (

    select * from {{ source('hubspot', 'deals') }}

),

associations as (

    select
        record_id as deal_id,
        unnest(list_transform(
            from_json(payload -> '$.associations.contacts.results', '[{"id": "VARCHAR"}]'),
            lambda association, position: {'contact_id': association.id, 'position': position}
        )) as association

    from source

),

renamed as (

    select
        deal_id,
        association.contact_id as contact_id,
        cast(association.position as integer) as association_position

    from associations

)

select * from renamed
