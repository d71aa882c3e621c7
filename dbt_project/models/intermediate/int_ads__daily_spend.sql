{#- Daily ad spend of every enabled ad vendor, one row per day, platform and campaign, in the
    account currency and the reporting currency.

    The vendors come from the registry (smarketing.vendors) through the dbt var
    `smarketing_enabled_vendors`, as Fivetran's dbt_ad_reporting unions its enabled packages:
    each entry of `ad_vendors` below is one branch of the union; a vendor switched off
    (SMARKETING_DISABLED_VENDORS) drops out of it. -#}
{%- set ad_vendors = {
    'google_ads': {
        'model': 'stg_google_ads__campaign_stats', 'channel': 'paid_search', 'spend': 'cost'
    },
    'meta_ads': {
        'model': 'stg_meta_ads__insights', 'channel': 'paid_social', 'spend': 'spend'
    },
} -%}
{%- set enabled = enabled_vendors(ad_vendors.keys()) -%}
with

unioned as (
{% for vendor in enabled %}
    {%- set spec = ad_vendors[vendor] %}
    select
        date_day,
        '{{ vendor }}' as platform,
        '{{ spec.channel }}' as channel,
        campaign_id,
        lower(campaign_name) as campaign_name,
        currency_code,
        impressions,
        clicks,
        {{ spec.spend }} as spend
    from {{ ref(spec.model) }}
    {% if not loop.last %}union all{% endif %}
{% else %}
    {#- no ad vendor enabled: no rows, same columns and types #}
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
    from {{ ref('stg_google_ads__campaign_stats') }}
    where false
{% endfor %}
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
