{#- Daily ad spend of every enabled ad vendor, one row per day, platform and campaign, in the
    account currency and the reporting currency.

    The vendors come from the registry (smarketing.vendors) through the dbt var
    `smarketing_vendors`, as Fivetran's dbt_ad_reporting unions its enabled packages: each
    enabled ad vendor is one branch of the union, reading the staging model, spend column and
    channel its registry entry names; a vendor switched off (SMARKETING_DISABLED_VENDORS)
    drops out of it. -#}
{%- set ad_vendors = enabled_vendors('ads') -%}
with

unioned as (
    {% for vendor in ad_vendors %}
        select
            date_day,
            '{{ vendor.name }}' as platform,
            '{{ vendor.channel }}' as channel,
            campaign_id,
            lower(campaign_name) as campaign_name,
            currency_code,
            impressions,
            clicks,
            cast({{ vendor.spend_column }} as decimal(18, 6)) as spend
        from {{ ref(vendor.spend_model) }}
        {% if not loop.last %}union all{% endif %}
    {% else %}
        {#- no ad vendor enabled: no rows, same columns and types #}
        select
            cast(null as date) as date_day,
            cast(null as varchar) as platform,
            cast(null as varchar) as channel,
            cast(null as varchar) as campaign_id,
            cast(null as varchar) as campaign_name,
            cast(null as varchar) as currency_code,
            cast(null as bigint) as impressions,
            cast(null as bigint) as clicks,
            cast(null as decimal(18, 6)) as spend
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
