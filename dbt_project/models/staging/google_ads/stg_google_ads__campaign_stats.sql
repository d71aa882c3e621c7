with

source as (

    select * from {{ source('google_ads', 'campaign_stats') }}

),

renamed as (

    select
        record_id as stat_id,
        payload ->> '$.customer.id' as customer_id,
        payload ->> '$.campaign.id' as campaign_id,
        {{ scrub_pii("payload ->> '$.campaign.name'") }} as campaign_name,
        payload ->> '$.adGroup.id' as ad_group_id,
        record_date as date_day,
        cast(payload ->> '$.metrics.impressions' as bigint) as impressions,
        cast(payload ->> '$.metrics.clicks' as bigint) as clicks,
        -- cost_micros -> money, exactly (decimal arithmetic, no floats)
        cast(
            cast(payload ->> '$.metrics.costMicros' as decimal(24, 0)) * 0.000001 as decimal(18, 6)
        ) as cost,
        upper(payload ->> '$.customer.currencyCode') as currency_code

    from source

)

select * from renamed
