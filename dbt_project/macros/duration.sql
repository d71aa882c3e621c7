{#- Elapsed days from `start` to `finish` (timestamps), to two decimals; null when either
    is missing. -#}
{% macro days_between(start, finish) -%}
    cast(round((epoch({{ finish }}) - epoch({{ start }})) / 86400.0, 2) as decimal(10, 2))
{%- endmacro %}

