{#- Ad clicks with their platform click id, from every enabled ad vendor that reports single
    clicks (Google's gclid from the click_view report; its registry entry names the model),
    so a session tagged with only a click id still joins its campaign and the vendor's
    channel. -#}
{%- set click_vendors = enabled_vendors('ads') | selectattr('clicks_model') | list -%}
with

unioned as (
    {% for vendor in click_vendors %}
        select
            gclid,
            click_date,
            campaign_id,
            campaign_name,
            '{{ vendor.name }}' as platform,
            '{{ vendor.channel }}' as channel,
            loaded_at
        from {{ ref(vendor.clicks_model) }}
        {% if not loop.last %}union all{% endif %}
    {% else %}
        {#- no click report enabled: no rows, same columns and types #}
        select
            cast(null as varchar) as gclid,
            cast(null as date) as click_date,
            cast(null as varchar) as campaign_id,
            cast(null as varchar) as campaign_name,
            cast(null as varchar) as platform,
            cast(null as varchar) as channel,
            cast(null as timestamp) as loaded_at
        where false
    {% endfor %}
)

select * from unioned
