{#- A HubSpot date or datetime property -> naive TIMESTAMP in UTC, whatever form HubSpot sent:
    ISO-8601 with or without milliseconds (Z or offset), a plain date (midnight UTC) or epoch
    milliseconds. Empty text is null. The extract's type check (smarketing.sources.timestamps)
    accepts exactly these forms, so nothing that reached raw fails here. -#}
{% macro crm_timestamp(expr) -%}
    (case
        when nullif(trim({{ expr }}), '') is null then null
        when regexp_full_match(trim({{ expr }}), '-?[0-9]{1,15}')
            then epoch_ms(cast(trim({{ expr }}) as bigint))
        when regexp_full_match(trim({{ expr }}), '[0-9]{4}-[0-9]{2}-[0-9]{2}')
            then cast(cast(trim({{ expr }}) as date) as timestamp)
        else {{ utc_timestamp('trim(' ~ expr ~ ')') }}
    end)
{%- endmacro %}
