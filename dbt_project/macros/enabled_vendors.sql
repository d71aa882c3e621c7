{#- The enabled vendors of one category (crm, email, ads, web), in registry order: a list of
    dicts with the vendor's `name` and what the vendor-neutral models read of it (an ad
    vendor: `channel`, `spend_model`, `spend_column`, `clicks_model`).

    The var `smarketing_vendors` comes from the vendor registry (smarketing.vendors.dbt_vars):
    smarketing.transform passes it on every dbt call, as Fivetran's dbt_ad_reporting is told
    its enabled packages; dbt_project.yml's default reads the same JSON from the environment
    (a string, parsed here). Without it no vendor would be unioned and every spend, click
    and lead would silently vanish, so a run without the var fails instead. -#}
{% macro enabled_vendors(category) %}
    {%- set registry = var('smarketing_vendors', {}) -%}
    {%- if registry is string -%}
        {%- set registry = fromjson(registry) -%}
    {%- endif -%}
    {%- if execute and not registry -%}
        {{- exceptions.raise_compiler_error(
            "var smarketing_vendors is missing: run dbt through `smarketing` or pass"
            ~ " --vars \"$(smarketing vendors --dbt-vars)\" (or set SMARKETING_DBT_VARS)"
        ) -}}
    {%- endif -%}
    {{- return(registry.get(category, [])) -}}
{% endmacro %}
