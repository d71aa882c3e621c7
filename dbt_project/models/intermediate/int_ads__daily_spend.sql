with

google as (

    select * from {{ ref('stg_google_ads__campaign_stats') }}

),

meta as (

    select * from {{ ref('stg_meta_ads__insights') }}

),

unioned as (

    select
        date_day,
        'google_ads' as platform,
        'paid_search' as channel,
        campaign_id,
        lower(campaign_name) as campaign_name,
        currency_code,
        impressions,
        clicks,
        cost as spend
    from google

    union all

    select
        date_day,
        'meta_ads' as platform,
        'paid_social' as channel,
        campaign_id,
        lower(campaign_name) as campaign_name,
        currency_code,
        impressions,
        clicks,
        spend
    from meta

),

-- each source row is converted at its day's rate and rounded to the cent, then summed
converted as (

    select
        unioned.*,
        {{ to_reporting_currency('unioned.spend', 'rate', 'reporting_rate') }} as spend_reporting

    from unioned
    {{ join_exchange_rates('unioned.currency_code', 'unioned.date_day', 'rate', 'reporting_rate') }}

),

final as (

    select
        date_day,
        platform,
        channel,
        campaign_id,
        campaign_name,
        currency_code,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as spend,
        sum(spend_reporting) as spend_reporting,
        count(*) - count(spend_reporting) as rows_without_rate

    from converted
    group by all

)

select * from final
