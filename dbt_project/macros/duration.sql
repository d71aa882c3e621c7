{#- Elapsed time from `start` to `finish` (timestamps) in days or hours, to two decimals;
    null when either is missing. -#}
{% macro days_between(start, finish) -%}
    cast(round((epoch({{ finish }}) - epoch({{ start }})) / 86400.0, 2) as decimal(10, 2))
{%- endmacro %}

{% macro hours_between(start, finish) -%}
    cast(round((epoch({{ finish }}) - epoch({{ start }})) / 3600.0, 2) as decimal(10, 2))
{%- endmacro %}
