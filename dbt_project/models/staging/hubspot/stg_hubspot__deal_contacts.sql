{#- The deal -> contact associations the connector attached to each deal (v4 batch read),
    one row per pair, in the order HubSpot returned them. -#}
with

source as (

    select * from {{ source('hubspot', 'deals') }}

),

parsed as (

    select
        record_id as deal_id,
        from_json(
            payload -> '$.associations.contacts.results', '[{"id": "VARCHAR"}]'
        ) as contacts

    from source

),

associations as (

    -- two unnests in one select walk the list in step: the contact and its 1-based position
    select
        deal_id,
        unnest(contacts) as association,
        unnest(range(1, len(contacts) + 1)) as association_position

    from parsed

),

renamed as (

    select
        associations.deal_id,
        association.id as contact_id,
        cast(association_position as integer) as association_position

    from associations

)

select * from renamed
