with

source as (

    select * from {{ source('linkedin_ads', 'ad_analytics') }}

),

renamed as (

    select
        record_id as stat_id,
        replace(payload ->> '$.account', 'urn:li:sponsoredAccount:', '') as account_id,
        replace(payload ->> '$.campaign', 'urn:li:sponsoredCampaign:', '') as campaign_id,
        {{ scrub_pii("payload ->> '$.campaignName'") }} as campaign_name,
        record_date as date_day,
        cast(payload ->> '$.impressions' as bigint) as impressions,
        cast(payload ->> '$.clicks' as bigint) as clicks,
        -- costInLocalCurrency is a decimal string in the ad account's currency
        cast(payload ->> '$.costInLocalCurrency' as decimal(18, 6)) as cost,
        upper(payload ->> '$.accountCurrency') as currency_code,
        _loaded_at as loaded_at

    from source

)

select * from renamed
