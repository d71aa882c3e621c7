with

source as (

    select * from {{ source('meta_ads', 'insights') }}

),

renamed as (

    select
        record_id as insight_id,
        payload ->> '$.account_id' as account_id,
        payload ->> '$.campaign_id' as campaign_id,
        {{ scrub_pii("payload ->> '$.campaign_name'") }} as campaign_name,
        record_date as date_day,
        cast(payload ->> '$.impressions' as bigint) as impressions,
        cast(payload ->> '$.clicks' as bigint) as clicks,
        cast(payload ->> '$.spend' as decimal(18, 6)) as spend,
        upper(payload ->> '$.account_currency') as currency_code

    from source

)

select * from renamed
