{#- ISO-8601 text with an offset or Z (as vendor APIs write it) -> naive TIMESTAMP in UTC,
    independent of the session time zone. -#}
{% macro utc_timestamp(expr) -%}
    (cast({{ expr }} as timestamptz) at time zone 'UTC')
{%- endmacro %}
