with

source as (

    select * from {{ source('ga4', 'events') }}

),

typed as (

    select
        record_id as event_id,
        record_date as event_date,
        make_timestamp(cast(payload ->> '$.event_timestamp' as bigint)) as event_at,
        payload ->> '$.event_name' as event_name,
        payload ->> '$.user_pseudo_id' as user_pseudo_id,
        payload ->> '$.user_id' as user_id,
        from_json(
            payload -> '$.event_params',
            '[{"key": "VARCHAR", "value": {"string_value": "VARCHAR", "int_value": "BIGINT"}}]'
        ) as event_params,
        {{ scrub_pii("payload ->> '$.collected_traffic_source.manual_source'") }} as utm_source,
        {{ scrub_pii("payload ->> '$.collected_traffic_source.manual_medium'") }} as utm_medium,
        {{ scrub_pii("payload ->> '$.collected_traffic_source.manual_campaign_name'") }}
            as utm_campaign,
        payload ->> '$.collected_traffic_source.gclid' as gclid,
        _loaded_at as loaded_at

    from source

),

renamed as (

    -- sqlfluff reads a lambda's parameter as a table reference
    -- noqa: disable=RF03
    select
        event_id,
        event_date,
        event_at,
        event_name,
        user_pseudo_id,
        user_id,
        list_filter(event_params, lambda p: p.key = 'ga_session_id')[1].value.int_value
            as ga_session_id,
        {{ scrub_pii(
            "list_filter(event_params, lambda p: p.key = 'page_location')[1].value.string_value"
        ) }} as page_location,
        utm_source,
        utm_medium,
        utm_campaign,
        gclid,
        loaded_at

    -- noqa: enable=RF03
    from typed

)

select * from renamed
