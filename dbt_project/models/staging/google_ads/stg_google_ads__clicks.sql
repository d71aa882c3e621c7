with

source as (

    select * from {{ source('google_ads', 'clicks') }}

),

renamed as (

    select
        payload ->> '$.clickView.gclid' as gclid,
        record_date as click_date,
        payload ->> '$.campaign.id' as campaign_id,
        {{ scrub_pii("payload ->> '$.campaign.name'") }} as campaign_name,
        payload ->> '$.adGroup.id' as ad_group_id,
        payload ->> '$.clickView.adGroupAd' as ad_group_ad,
        _loaded_at as loaded_at

    from source

)

select * from renamed
