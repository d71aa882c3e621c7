{#- The key every mart's campaign joins dim_campaign on: channel and normalised campaign
    name, `(none)` for traffic without a campaign. One definition, so keys always match. -#}
{% macro campaign_key(channel, campaign) -%}
    {{ channel }} || ':' || coalesce({{ campaign }}, '(none)')
{%- endmacro %}
